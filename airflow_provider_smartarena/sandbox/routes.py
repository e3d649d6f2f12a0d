"""The table of API routes: method, path, handler, parameters and response shape.

``app.py`` mounts them and ``openapi.py`` documents them from this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_smartarena.sandbox import courses, org, rules, usercourses, users
from airflow_provider_smartarena.sandbox import schemas as s
from airflow_provider_smartarena.sandbox.auth import check_client
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.validation import Rule

Handler = Callable[[Call], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    rules: tuple[Rule, ...]
    summary: str
    response: Any  # the record type of a list, or the whole body type
    status: int = 200
    listing: str | None = None  # "paged" or "flat" for list endpoints
    auth: bool = True
    tag: str = "api"


OAUTH_RULES = (
    Rule("client_id", required=True),
    Rule("client_secret", required=True),
    Rule("grant_type", required=True, choices=("client_credentials",)),
)


def issue_token(call: Call) -> tuple[int, Any]:
    """client_credentials grant: a bearer token valid for token_ttl seconds."""
    config = call.state.config
    check_client(
        call.params, call.request.headers.get("authorization"), config.client_id, config.client_secret
    )
    ttl = call.state.faults.current.token_ttl
    return 200, {"access_token": call.state.tokens.issue(ttl), "token_type": "Bearer", "expires_in": ttl}


def _org_routes(kind: str, record: Any, label: str) -> list[Route]:
    tree = kind in org.TREES
    path = f"/api/{kind}"
    return [
        Route("GET", path, org.list_handler(kind), rules.TREE_GET if tree else rules.NAMED_GET,
              f"List {label}s", record, listing="flat", tag=kind),
        Route("POST", path, org.create_handler(kind), rules.TREE_POST if tree else rules.NAMED_POST,
              f"Create a {label}", s.Written[record], status=201, tag=kind),
        Route("PUT", path, org.update_handler(kind), rules.TREE_PUT if tree else rules.NAMED_PUT,
              f"Update a {label} by mapping_code", s.Written[record], tag=kind),
        Route("DELETE", path, org.delete_handler(kind), rules.KEY_DELETE,
              f"Delete a {label} by mapping_code", s.Message, tag=kind),
    ]  # fmt: skip


ROUTES: tuple[Route, ...] = (
    Route("POST", "/oauth/access_token", issue_token, OAUTH_RULES, "Get an access token (client_credentials)",
          s.Token, auth=False, tag="oauth"),
    Route("GET", "/api/users", users.list_users, rules.USERS_GET, "List users", s.User,
          listing="flat", tag="users"),
    Route("POST", "/api/users", users.create_user, rules.USERS_POST, "Create a user", s.Written[s.User],
          status=201, tag="users"),
    Route("PUT", "/api/users", users.update_user, rules.USERS_PUT, "Update a user by mapping_code",
          s.Written[s.User], tag="users"),
    Route("DELETE", "/api/users", users.delete_user, rules.USERS_DELETE,
          "Delete a user by mapping_code (delete_mode 1 deactivates, 2 removes)", s.Message, tag="users"),
    *_org_routes("branches", s.TreeNode, "organizational unit"),
    *_org_routes("locations", s.NamedRecord, "location"),
    *_org_routes("workplaces", s.NamedRecord, "workplace"),
    *_org_routes("qualifications", s.TreeNode, "qualification group"),
    Route("GET", "/api/content", courses.list_content, rules.CONTENT_GET, "List content", s.Content,
          listing="flat", tag="courses"),
    Route("GET", "/api/courses", courses.list_courses, rules.COURSES_GET, "List courses (paginated)",
          s.Course, listing="paged", tag="courses"),
    Route("POST", "/api/courses", courses.create_course, rules.COURSES_POST, "Create a course",
          s.Written[s.Course], status=201, tag="courses"),
    Route("PUT", "/api/courses", courses.update_course, rules.COURSES_PUT, "Update a course by mapping_code",
          s.Written[s.Course], tag="courses"),
    Route("DELETE", "/api/courses", courses.delete_course, rules.COURSES_DELETE,
          "Delete a course (delete_mode 1 archives, 2 removes)", s.Message, tag="courses"),
    Route("POST", "/api/courses/addusers", courses.add_users, rules.COURSE_USERS, "Enrol users in a course",
          s.UsersAdded, tag="courses"),
    Route("POST", "/api/courses/removeusers", courses.remove_users, rules.COURSE_USERS,
          "Remove users from a course", s.UsersRemoved, tag="courses"),
    Route("POST", "/api/coursemappingcode", courses.rename_course, rules.COURSE_RENAME,
          "Change a course's mapping code", s.Written[s.Course], tag="courses"),
    Route("GET", "/api/usercourses", usercourses.list_user_courses, rules.USERCOURSES_GET,
          "List user course activities (paginated, ordered by updated_at, id)", s.UserCourse,
          listing="paged", tag="usercourses"),
)  # fmt: skip
