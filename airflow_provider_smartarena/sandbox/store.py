"""In-memory state of the sandbox with the indexes the hot paths need.

Entities (users, branches, ...) are plain dicts keyed by mapping code; courses and content by id.
User-course activities are slotted objects kept in three indexes: by id, by natural key
(user mapping code, course id), and a list sorted by ``(updated_at, id)`` so that the ``updated_at``
filter is a bisection and a page is a slice. Every change marks a ``(kind, key)`` dirty so that the
optional SQLite persistence can write just what changed.
"""

from __future__ import annotations

import bisect
from dataclasses import KW_ONLY, asdict, dataclass
from typing import Any

ORG_KINDS = ("users", "branches", "locations", "workplaces", "qualifications")
ID_KINDS = ("content", "categories", "courses")
ALL_KINDS = (*ORG_KINDS, *ID_KINDS, "activities")


@dataclass(slots=True)
class Activity:
    """One user's activity on one course. Times are epoch seconds.

    The defaults are those of a new enrolment, not started (status 0).
    """

    id: int
    user_code: str
    course_id: int
    _: KW_ONLY
    status: int = 0
    progress: int = 0
    score: int | None = None
    time_on_course: int = 0
    created_at: int
    updated_at: int
    date_start: int | None = None
    date_completed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Store:
    """All sandbox data. Not thread-safe: it is only touched from the server's event loop."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.branches: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        self.workplaces: dict[str, dict[str, Any]] = {}
        self.qualifications: dict[str, dict[str, Any]] = {}
        self.content: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.courses: dict[int, dict[str, Any]] = {}
        self.course_ids: dict[str, int] = {}
        self.user_emails: dict[str, str] = {}  # lower-cased email -> user mapping code
        self.usernames: dict[str, str] = {}  # lower-cased username -> user mapping code
        self.activities: dict[int, Activity] = {}
        self.activity_ids: dict[tuple[str, int], int] = {}
        self.by_user: dict[str, dict[int, None]] = {}
        self.by_course: dict[int, dict[int, None]] = {}
        self.timeline: list[tuple[int, int]] = []
        self.counters: dict[str, int] = {"content": 0, "categories": 0, "courses": 0, "activities": 0}
        self.meta: dict[str, Any] = {}
        self.dirty: set[tuple[str, str]] = set()
        self.track_changes = True
        #: Activity id -> (what it was rendered from, its JSON): see ActivityRenderer.encoded.
        self.rendered: dict[int, tuple[tuple[Any, ...], Any]] = {}
        #: Bumped by every change (see mark), so that what is derived from the store can be kept
        #: until the store changes.
        self.generation = 0
        self._parts: tuple[tuple[int, str], dict[str, dict[Any, Any]]] | None = None

    # ---- generic helpers -------------------------------------------------------------------
    def org(self, kind: str) -> dict[str, dict[str, Any]]:
        """The dict of an org resource (users, branches, locations, workplaces, qualifications)."""
        if kind not in ORG_KINDS:
            raise KeyError(kind)
        table: dict[str, dict[str, Any]] = getattr(self, kind)
        return table

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        self.mark("meta", "counters")
        return self.counters[kind]

    def mark(self, kind: str, key: object) -> None:
        self.generation += 1
        if self.track_changes:
            self.dirty.add((kind, str(key)))

    def render_parts(self, zone: str) -> dict[str, dict[Any, Any]]:
        """Per-course and per-user parts of rendered activities (see render.ActivityRenderer),
        shared by responses in ``zone`` until the store changes."""
        stamp = (self.generation, zone)
        if self._parts is None or self._parts[0] != stamp:
            self._parts = (stamp, {"courses": {}, "users": {}, "user_inputs": {}})
        return self._parts[1]

    def put(self, kind: str, key: str | int, record: dict[str, Any]) -> None:
        """Insert or replace an entity (not an activity, not a course: see put_course)."""
        table: dict[Any, dict[str, Any]] = getattr(self, kind)
        table[key] = record
        self.mark(kind, key)

    def remove(self, kind: str, key: str | int) -> None:
        table: dict[Any, dict[str, Any]] = getattr(self, kind)
        table.pop(key, None)
        self.mark(kind, key)

    # ---- users -----------------------------------------------------------------------------
    def put_user(self, record: dict[str, Any]) -> None:
        code = record["mapping_code"]
        old = self.users.get(code)
        if old is not None:
            self._unindex_user(old)
        self.users[code] = record
        self.user_emails[record["email"].lower()] = code
        if record.get("username"):
            self.usernames[record["username"].lower()] = code
        self.mark("users", code)

    def _unindex_user(self, record: dict[str, Any]) -> None:
        code = record["mapping_code"]
        if self.user_emails.get(record["email"].lower()) == code:
            del self.user_emails[record["email"].lower()]
        username = (record.get("username") or "").lower()
        if username and self.usernames.get(username) == code:
            del self.usernames[username]

    # ---- courses ---------------------------------------------------------------------------
    def course_by_code(self, code: str) -> dict[str, Any] | None:
        course_id = self.course_ids.get(code)
        return None if course_id is None else self.courses[course_id]

    def put_course(self, course: dict[str, Any]) -> None:
        old = self.courses.get(course["id"])
        if old is not None and old["mapping_code"] != course["mapping_code"]:
            self.course_ids.pop(old["mapping_code"], None)
        self.courses[course["id"]] = course
        self.course_ids[course["mapping_code"]] = course["id"]
        self.by_course.setdefault(course["id"], {})
        self.mark("courses", course["id"])

    def remove_course(self, course_id: int) -> None:
        for activity_id in list(self.by_course.get(course_id, ())):
            self.remove_activity(activity_id)
        course = self.courses.pop(course_id)
        self.course_ids.pop(course["mapping_code"], None)
        self.by_course.pop(course_id, None)
        self.mark("courses", course_id)

    # ---- activities ------------------------------------------------------------------------
    def add_activity(self, activity: Activity) -> Activity:
        key = (activity.user_code, activity.course_id)
        if key in self.activity_ids:
            raise ValueError(f"activity {key} exists")
        self.activities[activity.id] = activity
        self.activity_ids[key] = activity.id
        self.by_user.setdefault(activity.user_code, {})[activity.id] = None
        self.by_course.setdefault(activity.course_id, {})[activity.id] = None
        bisect.insort(self.timeline, (activity.updated_at, activity.id))
        self.mark("activities", activity.id)
        return activity

    def activity_for(self, user_code: str, course_id: int) -> Activity | None:
        activity_id = self.activity_ids.get((user_code, course_id))
        return None if activity_id is None else self.activities[activity_id]

    def touch_activity(self, activity: Activity, updated_at: int) -> None:
        """Re-file an activity under a new updated_at (call after changing its fields)."""
        self._unindex_time(activity)
        activity.updated_at = updated_at
        bisect.insort(self.timeline, (updated_at, activity.id))
        self.mark("activities", activity.id)

    def remove_activity(self, activity_id: int) -> None:
        activity = self.activities.pop(activity_id)
        self.activity_ids.pop((activity.user_code, activity.course_id), None)
        self.by_user.get(activity.user_code, {}).pop(activity_id, None)
        self.by_course.get(activity.course_id, {}).pop(activity_id, None)
        self._unindex_time(activity)
        self.mark("activities", activity_id)

    def remove_user(self, code: str) -> None:
        for activity_id in list(self.by_user.get(code, ())):
            self.remove_activity(activity_id)
        self.by_user.pop(code, None)
        record = self.users.get(code)
        if record is not None:
            self._unindex_user(record)
        self.remove("users", code)

    def timeline_start(self, after: int | None) -> int:
        """Index of the first timeline entry with updated_at strictly after ``after``."""
        if after is None:
            return 0
        return bisect.bisect_right(self.timeline, (after, float("inf")))

    def _unindex_time(self, activity: Activity) -> None:
        entry = (activity.updated_at, activity.id)
        index = bisect.bisect_left(self.timeline, entry)
        if index < len(self.timeline) and self.timeline[index] == entry:
            del self.timeline[index]

    def course_user_codes(self, course_id: int) -> list[str]:
        return [self.activities[a].user_code for a in self.by_course.get(course_id, ())]

    # ---- whole-store operations --------------------------------------------------------------
    def rebuild_indexes(self) -> None:
        """Rebuild every derived index from the primary tables (after loading)."""
        self.course_ids = {c["mapping_code"]: cid for cid, c in self.courses.items()}
        self.user_emails = {u["email"].lower(): code for code, u in self.users.items()}
        self.usernames = {u["username"].lower(): code for code, u in self.users.items() if u.get("username")}
        self.activity_ids, self.by_user, self.by_course = {}, {}, {cid: {} for cid in self.courses}
        for activity in sorted(self.activities.values(), key=lambda a: a.id):
            self.activity_ids[(activity.user_code, activity.course_id)] = activity.id
            self.by_user.setdefault(activity.user_code, {})[activity.id] = None
            self.by_course.setdefault(activity.course_id, {})[activity.id] = None
        self.timeline = sorted((a.updated_at, a.id) for a in self.activities.values())

    def record(self, kind: str, key: str) -> dict[str, Any] | None:
        """The current stored form of ``(kind, key)`` for persistence; None when it is gone."""
        if kind == "meta":
            return {"counters": self.counters, "meta": self.meta}.get(key)
        if kind == "activities":
            activity = self.activities.get(int(key))
            return None if activity is None else activity.to_dict()
        table: dict[Any, dict[str, Any]] = getattr(self, kind)
        return table.get(int(key) if kind in ID_KINDS else key)

    def all_records(self) -> list[tuple[str, str, dict[str, Any]]]:
        rows: list[tuple[str, str, dict[str, Any]]] = []
        for kind in (*ORG_KINDS, *ID_KINDS):
            table: dict[Any, dict[str, Any]] = getattr(self, kind)
            rows.extend((kind, str(key), value) for key, value in table.items())
        rows.extend(("activities", str(a.id), a.to_dict()) for a in self.activities.values())
        rows.append(("meta", "counters", self.counters))
        rows.append(("meta", "meta", self.meta))
        return rows

    def load_record(self, kind: str, key: str, value: dict[str, Any]) -> None:
        """Put back one persisted record (indexes are rebuilt afterwards by rebuild_indexes)."""
        if kind == "meta":
            if key == "counters":
                self.counters.update(value)
            else:
                self.meta = value
        elif kind == "activities":
            self.activities[int(key)] = Activity(**value)
        elif kind in ID_KINDS:
            getattr(self, kind)[int(key)] = value
        else:
            getattr(self, kind)[key] = value
