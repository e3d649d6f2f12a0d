"""List envelopes: a Laravel paginator, ``{"data": [...]}``, a bare list, a cursor paginator.

Which envelope (see docs/sandbox.md): ``mixed`` (default) gives the paged endpoints (courses,
usercourses) a Laravel paginator and the others ``{"data": [...]}`` with everything on page 1;
``laravel``, ``data`` and ``list`` give every list endpoint that shape, honouring ``page`` (pages
past the end are empty, so no page ever repeats another). Two shapes of real tenants ignore
``page``: ``cursor`` (Laravel's ``cursorPaginate()``: ``data``, ``next_cursor``, ``next_page_url``,
read on with ``?cursor=``) and ``unpaged`` (a bare list of everything on every call).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from airflow_provider_smartarena.sandbox.errors import invalid_field

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PageRequest:
    page: int
    size: int
    paged_endpoint: bool
    envelope: str
    base_url: str  # scheme://host/path of the request
    query: list[tuple[str, str]]  # the request's query string without page (and cursor)
    cursor: str | None = None  # the cursor parameter, for the cursor envelope


def page_size_for(params: dict[str, Any], configured: int, paged_endpoint: bool, envelope: str) -> int:
    """Records per page: per_page/page_size when given, else the configured size on paged responses."""
    explicit = params.get("per_page") or params.get("page_size")
    if envelope == "unpaged":
        return 0
    if explicit:
        return min(int(explicit), MAX_PAGE_SIZE)
    if paged_endpoint or envelope in ("laravel", "cursor"):
        return configured
    return 0  # everything on page 1


def paginate(
    total: int,
    fetch: Callable[[int, int], Sequence[Any]],
    request: PageRequest,
) -> Any:
    """Build the body for page ``request.page`` of ``total`` records; ``fetch(start, stop)`` renders them."""
    size = request.size or max(total, 1)
    if request.envelope == "unpaged":
        return list(fetch(0, total))
    if request.envelope == "cursor":
        return cursor_page(total, fetch, request, size)
    start = (request.page - 1) * size
    items = list(fetch(start, min(start + size, total))) if start < total else []
    shape = request.envelope
    if shape == "mixed":
        shape = "laravel" if request.paged_endpoint else "data"
    if shape == "list":
        return items
    if shape == "data":
        return {"data": items}
    return laravel_page(items, total, start, size, request)


def encode_cursor(offset: int) -> str:
    """An opaque cursor, as Laravel's: base64 of a small JSON object (here the next offset)."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The offset a cursor stands for; None for a cursor this sandbox did not make."""
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None
    return offset if isinstance(offset, int) and offset >= 0 else None


def cursor_page(
    total: int, fetch: Callable[[int, int], Sequence[Any]], request: PageRequest, size: int
) -> dict[str, Any]:
    """A ``cursorPaginate()`` page: ``page`` is ignored, ``cursor`` says where to go on.

    Like Laravel's, the links keep the request's other query parameters only because the sandbox
    copies them (Laravel drops them unless the app calls ``withQueryString()``); clients must not
    rely on either.
    """
    start = decode_cursor(request.cursor)
    if start is None:
        raise invalid_field("cursor", "The cursor is invalid.")
    items = list(fetch(start, min(start + size, total))) if start < total else []
    after = start + len(items)
    next_cursor = encode_cursor(after) if items and after < total else None
    prev_cursor = encode_cursor(max(0, start - size)) if start > 0 else None
    return {
        "data": items,
        "path": request.base_url,
        "per_page": size,
        "next_cursor": next_cursor,
        "next_page_url": _cursor_url(request, next_cursor),
        "prev_cursor": prev_cursor,
        "prev_page_url": _cursor_url(request, prev_cursor),
    }


def _cursor_url(request: PageRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return f"{request.base_url}?{urlencode([*request.query, ('cursor', cursor)])}"


def _url(request: PageRequest, page: int) -> str:
    return f"{request.base_url}?{urlencode([*request.query, ('page', str(page))])}"


def laravel_page(items: list[Any], total: int, start: int, size: int, request: PageRequest) -> dict[str, Any]:
    last_page = max(1, math.ceil(total / size))
    page = request.page
    return {
        "current_page": page,
        "data": items,
        "first_page_url": _url(request, 1),
        "from": start + 1 if items else None,
        "last_page": last_page,
        "last_page_url": _url(request, last_page),
        "links": _links(request, page, last_page),
        "next_page_url": _url(request, page + 1) if page < last_page else None,
        "path": request.base_url,
        "per_page": size,
        "prev_page_url": _url(request, page - 1) if page > 1 else None,
        "to": start + len(items) if items else None,
        "total": total,
    }


def _links(request: PageRequest, page: int, last_page: int) -> list[dict[str, Any]]:
    """Laravel's window of page links: first two, three either side of the current page, last two."""
    wanted = {1, 2, last_page - 1, last_page, *range(page - 3, page + 4)}
    numbers = sorted(n for n in wanted if 1 <= n <= last_page)
    links: list[dict[str, Any]] = [
        {"url": _url(request, page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}
    ]
    previous = 0
    for number in numbers:
        if number > previous + 1:
            links.append({"url": None, "label": "...", "active": False})
        links.append({"url": _url(request, number), "label": str(number), "active": number == page})
        previous = number
    links.append(
        {
            "url": _url(request, page + 1) if page < last_page else None,
            "label": "Next &raquo;",
            "active": False,
        }
    )
    return links
