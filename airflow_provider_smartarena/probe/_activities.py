"""Small reads of ``/api/usercourses`` by ``updated_at``: the tool of the time zone and filter checks.

Each read is page 1 of ``updated_at=<value>&modules_data=0``. Whether that page holds *every*
matching activity is decided with the hook's own stop rules (paginator metadata, or a page shorter
than the page size seen on the unfiltered read). ``updated_at`` values with an offset (instants)
are put on the connection zone's wall clock first, the clock the filter is sent in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from airflow_provider_smartarena.hooks import paging
from airflow_provider_smartarena.probe import _datetimes
from airflow_provider_smartarena.probe._reads import Reads
from airflow_provider_smartarena.resources import USER_COURSES

#: Fields that identify an activity; ``id`` only when the natural key is absent.
_NATURAL_KEY = ("user_mapping_code", "course_mapping_code")


def identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one activity from another: its user and course, else its id."""
    if all(record.get(k) is not None for k in _NATURAL_KEY):
        return tuple(record[k] for k in _NATURAL_KEY)
    return ("id", record.get("id"))


def updated(record: dict[str, Any]) -> dt.datetime | None:
    """The record's ``updated_at`` parsed (naive), or None."""
    return _datetimes.parse(record.get("updated_at"))


def in_zone(records: list[dict[str, Any]], zone: dt.tzinfo | None) -> list[dict[str, Any]]:
    """``records`` with each ``updated_at`` that carries an offset rewritten on ``zone``'s wall clock."""
    if zone is None:
        return records
    out = []
    for record in records:
        value = record.get("updated_at")
        if _datetimes.offset_in(value) and (parsed := _datetimes.parse(value, zone)) is not None:
            record = {**record, "updated_at": _datetimes.to_text(parsed)}
        out.append(record)
    return out


@dataclass(frozen=True)
class Slice:
    """Page 1 of the activities changed after ``after``.

    :param complete: the page holds every matching activity.
    :param older: records on the page stamped before ``after`` (a filter that is ignored).
    """

    after: dt.datetime
    records: list[dict[str, Any]]
    complete: bool
    date: dt.datetime | None

    @property
    def stamps(self) -> list[dt.datetime]:
        return [s for s in map(updated, self.records) if s is not None]

    @property
    def newest(self) -> dict[str, Any] | None:
        """The record with the latest ``updated_at`` on the page."""
        dated = [(s, i) for i, s in enumerate(map(updated, self.records)) if s is not None]
        return self.records[max(dated)[1]] if dated else None

    @property
    def older(self) -> list[dict[str, Any]]:
        return [r for r in self.records if (s := updated(r)) is not None and s < self.after]


class ActivityReader:
    """Reads :class:`Slice` s through ``access``, counting them.

    :param page_size: records on a full page, when known (for replies without paging metadata).
    :param zone: the connection's zone, for ``updated_at`` values with an offset.
    """

    def __init__(self, access: Reads, page_size: int | None, zone: dt.tzinfo | None = None) -> None:
        self.access = access
        self.page_size = page_size
        self.zone = zone
        self.requests = 0

    def after(self, value: dt.datetime) -> Slice:
        """Page 1 of ``updated_at > value`` (``value`` is sent as written, in the server's zone)."""
        self.requests += 1
        params = {"updated_at": _datetimes.to_text(value), "modules_data": 0, "page": 1}
        reply = self.access.get(USER_COURSES.path, params)
        records, meta = paging.parse_listing(reply.body, method="GET", path=USER_COURSES.path)
        records = in_zone(records, self.zone)
        page = paging.Page(1, records, meta.last_page, meta.total)
        fetched = paging.Fetched(page, meta, paged=True)
        # With no metadata, has_next() compares with the previous page's length: the page size.
        complete = not paging.has_next(fetched, self.page_size, path=USER_COURSES.path)
        return Slice(value.replace(microsecond=0), records, complete, reply.server_date)
