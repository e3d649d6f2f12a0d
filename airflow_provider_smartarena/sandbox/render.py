"""Turn stored records into the JSON records the API returns (datetimes in the server time zone).

With ``iso`` (the ``iso_datetimes`` setting) activities and users are serialised as Laravel 7+ does:
datetimes as UTC instants (``2026-11-05T23:00:00.000000Z``) and date casts as local midnight in UTC,
while the ``updated_at`` filter still reads the application's local time. Nested lists (modules,
sessions) keep the wall-clock form, and the ground truth (``/_sandbox/state``) always has it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from pydantic import BaseModel

from airflow_provider_smartarena.sandbox import schemas
from airflow_provider_smartarena.sandbox.clock import DateTimeFormatter, format_date, format_datetime
from airflow_provider_smartarena.sandbox.store import Activity, Store

LINK_BASE = "https://sandbox.esmartarena.invalid"
DAY = 86400
STAMPS = ("created_at", "updated_at")


def copied_fields(model: type[BaseModel], *derived: str) -> tuple[str, ...]:
    """The fields of the response ``model`` (``schemas``) copied from the record as they are, in
    its order: all but the ``derived`` ones (formatted, looked up or placed elsewhere)."""
    return tuple(name for name in model.model_fields if name not in derived)


USER_FIELDS = copied_fields(schemas.User, "deleted_at", *STAMPS)
CONTENT_FIELDS = copied_fields(schemas.Content, "publish_date")
#: What a course has besides its category fields that :func:`course` adds after its own fields.
COURSE_EXTRAS = ("users", "content", "instructor", "instructor_mapping_code", "live_sessions", *STAMPS)
COURSE_FIELDS = copied_fields(schemas.Course, *schemas.CategoryFields.model_fields, *COURSE_EXTRAS)


def stamps(record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "created_at": format_datetime(record["created_at"], zone),
        "updated_at": format_datetime(record["updated_at"], zone),
    }


def user(record: dict[str, Any], zone: ZoneInfo, iso: bool = False) -> dict[str, Any]:
    """A user as ``/api/users`` returns it; ``iso``: Laravel 7+ serialisation (see the module doc)."""
    out = {name: record[name] for name in USER_FIELDS}
    out["roles"] = list(record["roles"])
    if iso:
        out["date_of_birth"] = iso_date(record["date_of_birth"], zone)
        for name in ("deleted_at", "created_at", "updated_at"):
            out[name] = iso_datetime(record[name])
        return out
    out["deleted_at"] = format_datetime(record["deleted_at"], zone)
    out.update(stamps(record, zone))
    return out


def tree_node(record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A branch or a qualification group."""
    return {
        "mapping_code": record["mapping_code"],
        "name": record["name"],
        "parent_mapping_code": record["parent_mapping_code"],
        **stamps(record, zone),
    }


def named(record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A location or a workplace."""
    return {"mapping_code": record["mapping_code"], "name": record["name"], **stamps(record, zone)}


def content(record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    out = {name: record[name] for name in CONTENT_FIELDS}
    out["publish_date"] = format_datetime(record["publish_date"], zone)
    return out


def category_fields(store: Store, course: dict[str, Any]) -> dict[str, Any]:
    """course_category_* and qualification_* fields shared by courses and activities."""
    category = store.categories.get(course["course_category_id"] or 0)
    parent = store.categories.get(category["parent_id"] or 0) if category else None
    qualification = store.qualifications.get(course["qualification_mapping_code"] or "")
    qual_parent = (
        store.qualifications.get(qualification["parent_mapping_code"] or "") if qualification else None
    )
    return {
        "course_category_id": category["id"] if category else None,
        "course_category_mapping_code": category["mapping_code"] if category else None,
        "course_category_name": category["name"] if category else None,
        "course_category_parent_id": parent["id"] if parent else None,
        "course_category_parent_mapping_code": parent["mapping_code"] if parent else None,
        "course_category_parent_name": parent["name"] if parent else None,
        "qualification_mapping_code": qualification["mapping_code"] if qualification else None,
        "qualification_name": qualification["name"] if qualification else None,
        "qualification_parent_mapping_code": qual_parent["mapping_code"] if qual_parent else None,
        "qualification_parent_name": qual_parent["name"] if qual_parent else None,
    }


def live_session(session: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": session["id"],
        "title": session["title"],
        "start_datetime": format_datetime(session["start_datetime"], zone),
        "end_datetime": format_datetime(session["end_datetime"], zone),
        "location": session["location"],
    }


def instructor(store: Store, code: str | None) -> dict[str, Any] | None:
    person = store.users.get(code or "")
    if person is None:
        return None
    return {
        "mapping_code": person["mapping_code"],
        "firstname": person["firstname"],
        "lastname": person["lastname"],
        "email": person["email"],
    }


def course(store: Store, record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    out = {name: record[name] for name in COURSE_FIELDS}
    out.update(category_fields(store, record))
    item = store.content.get(record["content_id"] or 0)
    out["users"] = store.course_user_codes(record["id"])
    out["content"] = content(item, zone) if item else None
    out["instructor"] = instructor(store, record["instructor_mapping_code"])
    out["instructor_mapping_code"] = record["instructor_mapping_code"]
    out["live_sessions"] = [live_session(s, zone) for s in record["live_sessions"]]
    out.update(stamps(record, zone))
    return out


def filter_types(record: dict[str, Any]) -> list[int]:
    """The list-filter ``type`` values (1, 5, 254, 253) a course matches; see docs/sandbox.md."""
    types = [1] if record["type"] == 1 else [5]
    if record["market"]:
        types.append(254)
    if record["curriculum"]:
        types.append(253)
    return types


class ActivityRenderer:
    """Renders activities; the per-course and per-user parts are kept until the store changes."""

    def __init__(self, store: Store, zone: ZoneInfo, now: int, modules: bool, iso: bool = False) -> None:
        self.store, self.zone, self.now, self.modules = store, zone, now, modules
        self.today = format_date(now, zone) or ""
        self.local = DateTimeFormatter.for_zone(zone)
        self.fmt: Callable[[int | None], str | None] = iso_datetime if iso else self.local
        self.iso = iso
        # Made once per course and user, not once per response: on a page of 100 records from
        # 50 courses, deriving them again was a third of the sandbox's time a response.
        parts = store.render_parts(zone.key)
        self._courses: dict[int, dict[str, Any]] = parts["courses"]
        self._users: dict[str, dict[str, Any]] = parts["users"]
        self._user_inputs: dict[str, tuple[Any, ...]] = parts["user_inputs"]
        self._context = (zone.key, modules, self.today, iso)

    def encoded(self, activity: Activity) -> msgspec.Raw:
        """The record as JSON; reused from the store's cache when nothing it is made of changed.

        The key holds every input of :meth:`__call__` (the activity's fields, its user's and its
        course's parts, the zone, the modules flag and today's date), so an entry can only be
        stale if one of those inputs is missed here; ``/_sandbox/state`` never uses the cache.
        """
        key = (
            activity.user_code,
            activity.course_id,
            activity.status,
            activity.progress,
            activity.score,
            activity.time_on_course,
            activity.created_at,
            activity.updated_at,
            activity.date_start,
            activity.date_completed,
            self._user_input(activity.user_code),
            self._course_part(activity.course_id)["inputs"],
            self._context,
        )
        cache = self.store.rendered
        held = cache.get(activity.id)
        if held is not None and held[0] == key:
            return held[1]
        if len(cache) >= RENDERED_CACHED:
            cache.clear()
        raw = msgspec.Raw(_encode(self(activity)))
        cache[activity.id] = (key, raw)
        return raw

    def __call__(self, activity: Activity) -> dict[str, Any]:
        course_part = self._course_part(activity.course_id)
        user_part = self._user_part(activity.user_code)
        record = course_part["record"]
        fmt = self.fmt
        access_end = self._access_end(activity, record)
        status = activity.status
        out: dict[str, Any] = {
            "id": activity.id,
            "course_mapping_code": record["mapping_code"],
            "course_title": record["title"],
            **user_part,
            "created_at": fmt(activity.created_at),
            "updated_at": fmt(activity.updated_at),
            "date_start": fmt(activity.date_start),
            "date_completed": fmt(activity.date_completed),
            "progress": activity.progress,
            "score": activity.score,
            "time_on_course": activity.time_on_course,
            "certificate_link": f"{LINK_BASE}/certificates/{activity.id}.pdf" if status == 3 else None,
            "statement_link": f"{LINK_BASE}/statements/{activity.id}" if status >= 2 else None,
            **course_part["shared"],
            "status": status,
            "access_end_date": self._iso_date(access_end) if self.iso else access_end,
            "has_access": self._has_access(activity, record, access_end),
            "assessment_url": (
                f"{LINK_BASE}/assessment/{record['id']}/{activity.id}"
                if record["assessment_on_end"]
                else None
            ),
            "live_sessions": self._live_sessions(activity, self._sessions(course_part)),
        }
        if self.modules:
            out["modules"] = self._modules(activity, record)
        return out

    def project(self, activity: Activity, fields: list[str]) -> dict[str, Any]:
        """Only ``fields`` of the record; cheap when they are all in FAST_ACTIVITY_FIELDS."""
        if all(name in FAST_ACTIVITY_FIELDS for name in fields):
            return {name: FAST_ACTIVITY_FIELDS[name](self, activity) for name in fields}
        full = self(activity)
        return {name: full.get(name) for name in fields}

    def _course_part(self, course_id: int) -> dict[str, Any]:
        part = self._courses.get(course_id)
        if part is None:
            record = self.store.courses[course_id]
            parent = self.store.courses.get(record["parent_course_id"] or 0)
            shared = {"parent_course_mapping_code": parent["mapping_code"] if parent else None}
            shared.update(category_fields(self.store, record))
            item = self.store.content.get(record["content_id"] or 0)
            # Everything of the course a record is rendered from, as one comparable value. The
            # sessions go in as stored (the zone is in the context): formatting their times for
            # every response would cost as much as rendering the records the cache saves.
            inputs = _encode(
                [
                    [record.get(name) for name in _COURSE_INPUTS],
                    shared,
                    record["live_sessions"],
                    [item["title"], item["step_count"]] if item else None,
                ]
            )
            part = {"record": record, "shared": shared, "sessions": None, "inputs": inputs}
            self._courses[course_id] = part
        return part

    def _sessions(self, part: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """The course's live sessions as rendered, with their start epochs (made on first use)."""
        sessions = part["sessions"]
        if sessions is None:
            live = part["record"]["live_sessions"]
            sessions = part["sessions"] = [(s["start_datetime"], live_session(s, self.zone)) for s in live]
        return sessions

    def _user_part(self, code: str) -> dict[str, Any]:
        part = self._users.get(code)
        if part is None:
            person = self.store.users[code]
            part = {
                "user_mapping_code": code,
                "user_name": person["firstname"],
                "user_surname": person["lastname"],
                "user_email": person["email"],
                "organizational_unit_mapping_code": person["branch_mapping_code"],
                "location_mapping_code": person["location_mapping_code"],
            }
            self._users[code] = part
        return part

    def _user_input(self, code: str) -> tuple[Any, ...]:
        inputs = self._user_inputs.get(code)
        if inputs is None:
            person = self.store.users[code]
            inputs = self._user_inputs[code] = (*self._user_part(code).values(), person["active"])
        return inputs

    def _access_end(self, activity: Activity, record: dict[str, Any]) -> str | None:
        days = record["access_days_from_enrollment"]
        if days:
            stamp = self.local(activity.created_at + days * DAY)
            return stamp[:10] if stamp else None
        end_date: str | None = record["end_date"]
        return end_date

    def _iso_date(self, day: str | None) -> str | None:
        return iso_date(day, self.zone)

    def _has_access(self, activity: Activity, record: dict[str, Any], access_end: str | None) -> int:
        person = self.store.users[activity.user_code]
        if record["archived"] or not person["active"]:
            return 0
        return 1 if access_end is None or access_end >= self.today else 0

    @staticmethod
    def _live_sessions(activity: Activity, sessions: list[tuple[int, dict[str, Any]]]) -> list[Any]:
        """The course's sessions; attended = the activity was under way when the session started."""
        if not sessions:
            return []
        seen_until = activity.date_completed or (activity.updated_at if activity.status >= 1 else -1)
        return [{**session, "attended": 1 if start <= seen_until else 0} for start, session in sessions]

    def _modules(self, activity: Activity, record: dict[str, Any]) -> list[dict[str, Any]]:
        item = self.store.content.get(record["content_id"] or 0)
        count = item["step_count"] if item else 1
        title = item["title"] if item else record["title"]
        # Everything the list depends on is in the key, so a changed course or content misses.
        key = (record["id"], title, count, activity.progress)
        modules = _MODULES.get(key)
        if modules is None:
            if len(_MODULES) > _MODULES_CACHED:
                _MODULES.clear()
            modules = _MODULES[key] = self._render_modules(activity.progress, record["id"], title, count)
        return modules

    @staticmethod
    def _render_modules(overall: int, course_id: int, title: str, count: int) -> list[dict[str, Any]]:
        modules = []
        for index in range(count):
            progress = max(0, min(100, overall * count - index * 100))
            modules.append(
                {
                    "id": course_id * 1000 + index + 1,
                    "title": f"{title} - modul {index + 1}",
                    "order": index + 1,
                    "status": 2 if progress == 100 else (1 if progress > 0 else 0),
                    "progress": progress,
                }
            )
        return modules


def iso_date(day: str | None, zone: ZoneInfo) -> str | None:
    """A date cast as Laravel 7+ sends it: the local midnight of ``day`` in ``zone`` as a UTC instant."""
    if day is None:
        return None
    midnight = dt.datetime.fromisoformat(day[:10]).replace(tzinfo=zone)
    return iso_datetime(int(midnight.timestamp()))


def iso_datetime(epoch: int | None) -> str | None:
    """Epoch seconds as Laravel 7+ serialises a datetime: ``YYYY-MM-DDTHH:MM:SS.000000Z`` (UTC)."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(epoch))


#: The course fields an activity record is rendered from (beyond its shared and session parts).
_COURSE_INPUTS = (
    "id",
    "mapping_code",
    "title",
    "assessment_on_end",
    "archived",
    "access_days_from_enrollment",
    "end_date",
    "content_id",
)
#: Encoded records kept per store (about 1.6 KB each with modules); cleared when this many.
RENDERED_CACHED = 250_000
_encode = msgspec.json.Encoder().encode

#: Module lists by (course id, title, step count, progress); shared by the records rendered from them.
_MODULES: dict[tuple[int, str, int, int], list[dict[str, Any]]] = {}
_MODULES_CACHED = 20_000


FAST_ACTIVITY_FIELDS: dict[str, Callable[[ActivityRenderer, Activity], Any]] = {
    "id": lambda r, a: a.id,
    "user_mapping_code": lambda r, a: a.user_code,
    "course_mapping_code": lambda r, a: r.store.courses[a.course_id]["mapping_code"],
    "status": lambda r, a: a.status,
    "progress": lambda r, a: a.progress,
    "score": lambda r, a: a.score,
    "time_on_course": lambda r, a: a.time_on_course,
    "created_at": lambda r, a: r.fmt(a.created_at),
    "updated_at": lambda r, a: r.fmt(a.updated_at),
    "date_start": lambda r, a: r.fmt(a.date_start),
    "date_completed": lambda r, a: r.fmt(a.date_completed),
}
