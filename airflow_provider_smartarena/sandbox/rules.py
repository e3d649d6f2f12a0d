"""The documented parameters of every call, as validation rules (also the source of the OpenAPI)."""

from __future__ import annotations

from airflow_provider_smartarena.sandbox.validation import (
    DATE,
    DATETIME,
    EMAIL,
    FLAG,
    INT_ARRAY,
    INTEGER,
    STRING_ARRAY,
    Rule,
)

ROLES = (3, 4, 6, 9, 11, 12, 15)
LANGUAGE_CODES = (1, 3, 8, 39)
DELETE_MODES = (1, 2)
COURSE_TYPES = (1, 2, 3)
FILTER_TYPES = (1, 5, 254, 253)
SORTS = ("date_asc", "date_desc")
ACTIVITY_STATUSES = (0, 1, 2, 3, 4)

MAPPING_CODE = Rule("mapping_code", required=True, description="The client-chosen key of the record.")
MAPPING_CODE_FILTER = Rule("mapping_code", description="Only the record with this mapping_code.")
PAGE = Rule("page", INTEGER, minimum=1, description="Page number, from 1.")
PER_PAGE = Rule("per_page", INTEGER, minimum=1, description="Sandbox extension: records per page (max 1000).")
PAGE_SIZE = Rule("page_size", INTEGER, minimum=1, description="Sandbox extension: alias of per_page.")
LIST_PAGING = (PAGE, PER_PAGE, PAGE_SIZE)
NAME_REQUIRED = Rule("name", required=True)
NAME = Rule("name")

USER_FIELDS = (
    Rule("date_of_birth", DATE, nullable=True, description="yyyy-mm-dd"),
    Rule("branch_mapping_code", nullable=True, description="mapping_code of an existing branch."),
    Rule("location_mapping_code", nullable=True, description="mapping_code of an existing location."),
    Rule("workplace_mapping_code", nullable=True, description="mapping_code of an existing workplace."),
    Rule("username", nullable=True, description="Optional login name (unique)."),
    Rule("password", nullable=True, description="Write-only; never returned."),
    Rule(
        "language_code",
        INTEGER,
        choices=LANGUAGE_CODES,
        description="1 English, 3 Slovenian, 8 Russian, 39 Croatian",
    ),
    Rule("roles", INT_ARRAY, choices=ROLES, description="Array of role ids: 3, 4, 6, 9, 11, 12, 15."),
    Rule("synch_protected", FLAG, description="1 = protected from overwriting via the API."),
)
USERS_GET = (MAPPING_CODE_FILTER, Rule("email", description="Only the user with this email."), *LIST_PAGING)
USERS_POST = (
    MAPPING_CODE,
    Rule("email", EMAIL, required=True),
    Rule("firstname", required=True),
    Rule("lastname", required=True),
    *USER_FIELDS,
    Rule("register_mail", FLAG, description="1 = send the registration email now."),
)
USERS_PUT = (
    MAPPING_CODE,
    Rule("email", EMAIL),
    Rule("firstname"),
    Rule("lastname"),
    *USER_FIELDS,
)
DELETE_MODE = Rule(
    "delete_mode", INTEGER, choices=DELETE_MODES, description="1 partial/soft, 2 full (default)."
)
USERS_DELETE = (MAPPING_CODE, DELETE_MODE)

TREE_GET = (MAPPING_CODE_FILTER, *LIST_PAGING)
TREE_POST = (MAPPING_CODE, Rule("parent_mapping_code", required=True), NAME_REQUIRED)
TREE_PUT = (MAPPING_CODE, Rule("parent_mapping_code"), NAME)
NAMED_GET = (MAPPING_CODE_FILTER, *LIST_PAGING)
NAMED_POST = (MAPPING_CODE, NAME_REQUIRED)
NAMED_PUT = (MAPPING_CODE, NAME)
KEY_DELETE = (MAPPING_CODE,)

CONTENT_GET = (
    Rule("content_type", INTEGER, choices=(0, 1), description="absent: all; 0 internal only; 1 public only."),
    *LIST_PAGING,
)
COURSE_FILTER_TYPE = Rule(
    "type", INTEGER, choices=FILTER_TYPES, description="1 e-courses, 5 in-person, 254 market, 253 curriculum."
)
COURSES_GET = (
    PAGE,
    MAPPING_CODE_FILTER,
    Rule("archived", FLAG, description="0 without archived courses, 1 with them (default)."),
    Rule("sort", choices=SORTS, description="date_asc (default) or date_desc, by start_date."),
    COURSE_FILTER_TYPE,
    PER_PAGE,
    PAGE_SIZE,
)
COURSE_FIELDS = (
    Rule("end_date", DATE, nullable=True, description="yyyy-mm-dd, not before start_date."),
    Rule("type", INTEGER, choices=COURSE_TYPES, description="1 e-course (default), 2 blended, 3 live."),
    Rule("assessment_on_end", FLAG),
    Rule("number_of_attempts", INTEGER, nullable=True, minimum=0),
    Rule("assessment_show_questions_at_end", FLAG),
    Rule("mandatory_time", INTEGER, nullable=True, minimum=0, description="Minutes."),
    Rule("prerequired_content", INTEGER, nullable=True, description="id of a content item."),
    Rule("instructor_mapping_code", nullable=True, description="mapping_code of an existing user."),
    Rule("content_id", INTEGER, nullable=True, description="id of a content item (GET /api/content)."),
    Rule("confirmation_of_completion", FLAG),
    Rule("access_days_from_enrollment", INTEGER, nullable=True, minimum=0),
)
USERS_MAPPING_CODES = Rule("users_mapping_codes", STRING_ARRAY, description="Array of user mapping codes.")
COURSES_POST = (
    MAPPING_CODE,
    Rule("title", required=True),
    Rule("start_date", DATE, required=True, description="yyyy-mm-dd"),
    *COURSE_FIELDS,
    USERS_MAPPING_CODES,
)
COURSES_PUT = (
    MAPPING_CODE,
    Rule("title"),
    Rule("start_date", DATE, description="yyyy-mm-dd"),
    *COURSE_FIELDS,
)
COURSES_DELETE = (
    MAPPING_CODE,
    Rule(
        "delete_mode", INTEGER, choices=DELETE_MODES, description="1 soft (archive), 2 permanent (default)."
    ),
)
COURSE_USERS = (
    MAPPING_CODE,
    Rule("users_mapping_codes", STRING_ARRAY, required=True, description="Array of user mapping codes."),
)
COURSE_RENAME = (Rule("old_mapping_code", required=True), Rule("new_mapping_code", required=True))
USERCOURSES_GET = (
    Rule(
        "updated_at", DATETIME, description="Only activities changed strictly after this (server time zone)."
    ),
    Rule("date_finished", DATETIME, description="Only activities completed strictly after this."),
    PAGE,
    Rule("user_mapping_code", description="Only this user's activities."),
    Rule("modules_data", FLAG, description="1 with course modules (default), 0 without."),
    COURSE_FILTER_TYPE,
    PER_PAGE,
    PAGE_SIZE,
)
