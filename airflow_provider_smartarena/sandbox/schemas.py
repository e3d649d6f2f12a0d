"""Pydantic models of every response body: the OpenAPI document (``openapi.py``) is built from them,
and ``render.py`` takes from them which fields it copies from a record. Nothing is validated with them."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DateTime = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", description="Server time zone")
]
Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Flag = Literal[0, 1]
T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class User(Strict):
    mapping_code: str
    username: str | None
    email: str
    firstname: str
    lastname: str
    date_of_birth: Date | None
    branch_mapping_code: str | None
    location_mapping_code: str | None
    workplace_mapping_code: str | None
    language_code: Literal[1, 3, 8, 39]
    roles: list[Literal[3, 4, 6, 9, 11, 12, 15]]
    synch_protected: Flag
    active: Flag = Field(description="Sandbox extension: 0 after a partial deletion (delete_mode=1).")
    deleted_at: DateTime | None
    created_at: DateTime
    updated_at: DateTime


class TreeNode(Strict):
    """An organizational unit (branch) or a qualification group."""

    mapping_code: str
    name: str
    parent_mapping_code: str | None = Field(description="null only for the root ('root').")
    created_at: DateTime
    updated_at: DateTime


class NamedRecord(Strict):
    """A location or a workplace."""

    mapping_code: str
    name: str
    created_at: DateTime
    updated_at: DateTime


class Content(Strict):
    id: int
    title: str
    description: str | None
    short_description: str | None
    is_published: Flag
    duration_hour: int
    duration_minute: int
    publish_date: DateTime | None
    content_requirements: str | None
    content_goals: str | None
    target_audience: str | None
    step_count: int


class Instructor(Strict):
    mapping_code: str
    firstname: str
    lastname: str
    email: str


class LiveSession(Strict):
    id: int
    title: str
    start_datetime: DateTime
    end_datetime: DateTime
    location: str | None


class CategoryFields(Strict):
    course_category_id: int | None
    course_category_mapping_code: str | None
    course_category_name: str | None
    course_category_parent_id: int | None
    course_category_parent_mapping_code: str | None
    course_category_parent_name: str | None
    qualification_mapping_code: str | None
    qualification_name: str | None
    qualification_parent_mapping_code: str | None
    qualification_parent_name: str | None


class Course(CategoryFields):
    id: int
    mapping_code: str
    title: str
    start_date: Date
    end_date: Date | None
    type: Literal[1, 2, 3] = Field(description="1 e-course, 2 blended, 3 live")
    assessment_on_end: Flag
    number_of_attempts: int | None
    assessment_show_questions_at_end: Flag
    mandatory_time: int | None
    prerequired_content: int | None
    content_id: int | None
    confirmation_of_completion: Flag
    access_days_from_enrollment: int | None
    archived: Flag = Field(description="Sandbox extension: 1 after a soft delete (delete_mode=1).")
    users: list[str] = Field(description="Mapping codes of the enrolled users.")
    content: Content | None
    instructor: Instructor | None
    instructor_mapping_code: str | None
    live_sessions: list[LiveSession]
    created_at: DateTime
    updated_at: DateTime


class ActivityLiveSession(LiveSession):
    attended: Flag


class Module(Strict):
    id: int
    title: str
    order: int
    status: Literal[0, 1, 2]
    progress: int


class UserCourse(CategoryFields):
    id: int = Field(description="Sandbox extension: the activity id (the order's tie-breaker).")
    course_mapping_code: str
    course_title: str
    user_mapping_code: str
    user_name: str
    user_surname: str
    user_email: str
    organizational_unit_mapping_code: str | None
    location_mapping_code: str | None
    created_at: DateTime
    updated_at: DateTime
    date_start: DateTime | None
    date_completed: DateTime | None
    progress: int = Field(ge=0, le=100)
    score: int | None
    time_on_course: int = Field(description="Seconds.")
    certificate_link: str | None
    statement_link: str | None
    parent_course_mapping_code: str | None
    status: Literal[0, 1, 2, 3, 4] = Field(
        description="0 not started, 1 started, 2 finished, 3 certified, 4 conditions met"
    )
    access_end_date: Date | None
    has_access: Flag
    assessment_url: str | None
    live_sessions: list[ActivityLiveSession]
    modules: list[Module] | None = Field(default=None, description="Only with modules_data=1 (default).")


class PageLink(Strict):
    url: str | None
    label: str
    active: bool


class Page(Strict, Generic[T]):
    """A Laravel length-aware paginator."""

    current_page: int
    data: list[T]
    first_page_url: str
    from_: int | None = Field(alias="from")
    last_page: int
    last_page_url: str
    links: list[PageLink]
    next_page_url: str | None
    path: str
    per_page: int
    prev_page_url: str | None
    to: int | None
    total: int


class DataList(Strict, Generic[T]):
    data: list[T]


class Written(Strict, Generic[T]):
    message: str
    data: T


class Message(Strict):
    message: str


class UsersAdded(Strict):
    message: str
    added: list[str]
    already_enrolled: list[str]


class UsersRemoved(Strict):
    message: str
    removed: list[str]
    not_enrolled: list[str]


class Token(Strict):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class Error(Strict):
    message: str
    errors: dict[str, list[str]] | None = None


class OAuthError(Strict):
    error: str
    error_description: str
    message: str
