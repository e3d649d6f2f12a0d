"""A loopback Smart ARENA whose listings are Laravel paginators a test can make contradict themselves.

Built on ``tests/hook/scripted.py``'s server: ``/api/usercourses`` and any dimension listing
(``/api/locations`` ...) are served from :attr:`ScriptedApi.listings`, filtered by ``updated_at``
like the real API, ``per_page`` records a page. ``total_bonus`` inflates the ``total`` the envelope
announces, ``last_page`` overrides the page count, ``drop_pages`` serves those pages empty, and
``delay`` slows every page down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.hook.scripted import Reply, Request


def activity(number: int, updated_at: str = "2024-05-01 10:00:00", **fields: Any) -> dict[str, Any]:
    return {
        "id": number,
        "user_mapping_code": f"u-{number:05d}",
        "course_mapping_code": f"c-{number % 3}",
        "course_title": f"Course {number % 3}",
        "updated_at": updated_at,
        "progress": float(number % 100),
        "status": number % 5,
        **fields,
    }


@dataclass
class ScriptedApi:
    listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    per_page: int = 4
    total_bonus: int = 0
    last_page: int | None = None
    drop_pages: set[int] = field(default_factory=set)
    #: Seconds each page takes to answer (to make concurrent runs overlap).
    delay: float = 0.0

    def route(self, request: Request) -> Reply:
        records = self.listings.get(request.path)
        if records is None:
            return Reply(200, {"data": []})  # the server_now() probe
        since = request.query.get("updated_at")
        if since and request.path == "/api/usercourses":
            records = [r for r in records if r["updated_at"] > since]
        number = int(request.query.get("page", 1))
        last = self.last_page if self.last_page is not None else max(1, -(-len(records) // self.per_page))
        data = records[(number - 1) * self.per_page : number * self.per_page]
        body = {
            "current_page": number,
            "data": [] if number in self.drop_pages else data,
            "last_page": last,
            "per_page": self.per_page,
            "total": len(records) + self.total_bonus,
            "next_page_url": f"{request.path}?page={number + 1}" if number < last else None,
        }
        return Reply(200, body, delay=self.delay)
