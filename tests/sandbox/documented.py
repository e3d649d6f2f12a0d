"""What the Smart ARENA API documents, written down here apart from the sandbox's code so that the
tests compare the sandbox (and the probe) with the documentation, not with themselves."""

from __future__ import annotations

#: The list endpoints ``/api/<name>``, in the documentation's order.
LIST_RESOURCES = (
    "users",
    "branches",
    "locations",
    "workplaces",
    "qualifications",
    "content",
    "courses",
    "usercourses",
)
#: The category and qualification fields of a course and of a user-course record.
CATEGORY_FIELDS = frozenset(
    [
        "course_category_id",
        "course_category_mapping_code",
        "course_category_name",
        "course_category_parent_id",
        "course_category_parent_mapping_code",
        "course_category_parent_name",
        "qualification_mapping_code",
        "qualification_name",
        "qualification_parent_mapping_code",
        "qualification_parent_name",
    ]
)
