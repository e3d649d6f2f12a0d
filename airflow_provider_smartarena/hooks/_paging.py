"""Reading list responses page by page, whatever envelope the server wraps them in.

The API does not document its list envelope, so every shape seen in Laravel-style services is
understood: a bare list, ``{"data": [...]}``, a paginator ``{"current_page", "data", "last_page",
"per_page", "total", "next_page_url", ...}`` (also with the numbers under ``meta`` and the next link
under ``links.next``), and an unknown object holding exactly one list of records.

Stop rules, in order: an empty page; paginator metadata saying there is no next page (the more
cautious of ``next_page_url`` and ``last_page`` wins); ``total`` reached; and, without metadata, a
page shorter than the previous one. A page repeating the previous page's records means the server
ignores the ``page`` parameter; that raises, as does passing the hard page cap, rather than loop.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar

import msgspec

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from airflow_provider_smartarena.hooks._http import disguised_error, looks_like_error

#: Fields that identify a record well enough to tell that a page repeats the previous one.
_KEY_FIELDS = ("id", "mapping_code", "user_mapping_code", "course_mapping_code")


@dataclass(frozen=True)
class Page:
    """One page of a listing.

    :param number: the page number, 1-based (1 for an endpoint read without paging).
    :param records: the page's records, as the server sent them (as dicts, or as instances of the
        ``record_type`` the listing was read with, see ``SmartArenaHook.iter_pages``).
    :param last_page: the page count from paginator metadata, when the server tells it.
    :param total: the record count from paginator metadata, when the server tells it.
    :param server_date: the response's ``Date`` header (aware, UTC), when present.
    """

    number: int
    records: list[Any]
    last_page: int | None = None
    total: int | None = None
    server_date: dt.datetime | None = None


@dataclass(frozen=True)
class PageMeta:
    """What a paginator says about where we are; all None for a bare list."""

    current_page: int | None = None
    last_page: int | None = None
    per_page: int | None = None
    total: int | None = None
    #: True when the body has a next-page link field at all (its value may be null).
    has_next_link: bool = False
    next_link: str | None = None

    @property
    def present(self) -> bool:
        return self.has_next_link or self.last_page is not None or self.total is not None


@dataclass(frozen=True)
class Fetched:
    """A page and its metadata, as one fetch returns them.

    :param paged: whether the request carried a ``page`` parameter.
    """

    page: Page
    meta: PageMeta
    paged: bool


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _meta(body: dict[str, Any]) -> PageMeta:
    # Laravel API resources put the numbers under "meta" and the links under "links".
    fields = dict(body)
    if isinstance(body.get("meta"), dict):
        fields.update(body["meta"])
    has_next = "next_page_url" in fields
    next_link = fields.get("next_page_url")
    links = body.get("links")
    if not has_next and isinstance(links, dict) and "next" in links:
        has_next, next_link = True, links.get("next")
    return PageMeta(
        current_page=_int_or_none(fields.get("current_page")),
        last_page=_int_or_none(fields.get("last_page")),
        per_page=_int_or_none(fields.get("per_page")),
        total=_int_or_none(fields.get("total")),
        has_next_link=has_next,
        next_link=next_link if isinstance(next_link, str) and next_link else None,
    )


def _records_list(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def parse_listing(body: Any, *, method: str, path: str) -> tuple[list[dict[str, Any]], PageMeta]:
    """Split a list response into its records and paging metadata.

    :raises SmartArenaResponseError: the body holds no recognisable list of records, or is an error.
    """
    if _records_list(body):
        return body, PageMeta()
    if isinstance(body, dict) and not looks_like_error(body):
        data = body.get("data")
        if _records_list(data):
            return data, _meta(body)
        if isinstance(data, dict) and _records_list(data.get("data")):
            return parse_listing(data, method=method, path=path)  # {"data": <paginator>}
        lists = [v for v in body.values() if isinstance(v, list)]
        if len(lists) == 1 and _records_list(lists[0]):
            return lists[0], _meta(body)
    if looks_like_error(body):
        raise disguised_error(body, method, path)
    raise SmartArenaResponseError(
        f"expected a list of records (a list, {{'data': [...]}} or a paginator), got {_shape(body)}",
        method=method,
        path=path,
        status=200,
    )


def _shape(body: Any) -> str:
    if isinstance(body, dict):
        keys = ", ".join(sorted(map(str, body))[:8])
        return f"an object with keys [{keys}]"
    if isinstance(body, list):
        return "a list of non-objects"
    return type(body).__name__


def _key(record: Any) -> tuple[Any, ...]:
    if isinstance(record, dict):
        return tuple(record.get(k) for k in _KEY_FIELDS)
    return tuple(getattr(record, k, None) for k in _KEY_FIELDS)  # a typed record


# ---------------------------------------------------------------------- typed pages

RecordT = TypeVar("RecordT")


class _Paginator(msgspec.Struct, Generic[RecordT]):
    """``{"data": [...]}`` or a Laravel paginator, its records decoded as ``RecordT``."""

    data: list[RecordT]
    current_page: Any = None
    last_page: Any = None
    per_page: Any = None
    total: Any = None
    next_page_url: Any = msgspec.UNSET
    links: Any = None
    meta: Any = None
    error: Any = None
    success: Any = None


@dataclass(frozen=True)
class TypedListing:
    """A list body decoded straight into typed records, with its paging metadata."""

    records: list[Any]
    meta: PageMeta


def typed_decoder(record_type: type[msgspec.Struct]) -> Callable[[bytes], TypedListing | None]:
    """A decoder of list bodies whose records are ``record_type`` (a msgspec struct).

    One C pass parses and type-checks a page, where decoding to dicts and typing them afterwards
    would take three times as long. A body it does not fit (another envelope, a value of another
    type, an error in disguise) gives None, and the caller decodes it the general way.
    """
    decoder = msgspec.json.Decoder(list[record_type] | _Paginator[record_type], strict=True)  # type: ignore[valid-type]

    def decode(content: bytes) -> TypedListing | None:
        try:
            body = decoder.decode(content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if isinstance(body, list):
            return TypedListing(body, PageMeta())
        if body.error or body.success is False:
            return None
        fields = {name: getattr(body, name) for name in _PAGINATOR_FIELDS}
        if body.next_page_url is not msgspec.UNSET:
            fields["next_page_url"] = body.next_page_url
        return TypedListing(body.data, _meta(fields))

    return decode


_PAGINATOR_FIELDS = ("current_page", "last_page", "per_page", "total", "links", "meta")


def repeats(records: list[Any], previous: list[Any]) -> bool:
    """Whether ``records`` are the same records as ``previous``, by identity keys.

    Keys rather than whole records, so a server that ignores ``page`` is caught even while the
    data changes under it; records without any key field are compared whole. The first and last
    records are checked first, which settles the usual case (different pages) in microseconds.
    """
    if not records or len(records) != len(previous):
        return False
    if _key(records[0]) != _key(previous[0]) or _key(records[-1]) != _key(previous[-1]):
        return False
    keys = [_key(r) for r in records]
    if all(v is None for key in keys for v in key):
        return records == previous
    return keys == [_key(r) for r in previous]


def has_next(fetched: Fetched, previous_length: int | None) -> bool:
    """Whether another page should be requested after ``fetched`` (see the module's stop rules)."""
    page, meta = fetched.page, fetched.meta
    if not page.records:
        return False
    if meta.has_next_link and meta.next_link is None:
        return False
    if meta.last_page is not None:
        return page.number < meta.last_page
    if meta.has_next_link:
        return True
    if meta.total is not None and meta.per_page:
        return page.number * meta.per_page < meta.total
    if not fetched.paged:
        return False  # one unpaged request returned everything
    return previous_length is None or len(page.records) >= previous_length


class _Guard:
    """Checks each page against the previous one, and page numbers against the cap."""

    def __init__(self, max_pages: int, method: str, path: str) -> None:
        self.max_pages = max_pages
        self.method, self.path = method, path
        self.previous: Fetched | None = None

    def admit(self, fetched: Fetched) -> None:
        """Record a page, raising if it repeats the previous page."""
        previous = self.previous
        if previous is not None and repeats(fetched.page.records, previous.page.records):
            raise SmartArenaResponseError(
                f"page {fetched.page.number} repeats the records of page {previous.page.number}; "
                "the server seems to ignore the page parameter",
                method=self.method,
                path=self.path,
            )
        self.previous = fetched

    def reserve(self, last_number: int, start: int) -> None:
        """Raise before fetching up to page ``last_number`` would pass the cap."""
        if last_number - start + 1 > self.max_pages:
            raise SmartArenaResponseError(
                f"the listing has more than {self.max_pages} pages (the max_pages cap); "
                "the server may be paginating without end",
                method=self.method,
                path=self.path,
            )


def walk_pages(
    fetch: Callable[[int | None], Fetched],
    *,
    paged: bool,
    start_page: int,
    max_concurrency: int,
    max_pages: int,
    method: str,
    path: str,
) -> Iterator[Page]:
    """Yield the pages of a listing in order.

    :param fetch: fetches one page; ``None`` means "without a page parameter".
    :param paged: the endpoint is documented as paged, so the first request carries ``page``.
    :param max_concurrency: pages fetched at once when the page count is known.
    """
    guard = _Guard(max_pages, method, path)
    current = fetch(start_page if paged else None)
    guard.admit(current)
    yield current.page
    previous_length: int | None = None
    while has_next(current, previous_length):
        number = current.page.number + 1
        last = current.meta.last_page
        known_range = last is not None and max_concurrency > 1 and last > number
        numbers = range(number, (last if known_range and last else number) + 1)
        guard.reserve(numbers[-1], start_page)
        batch = _fetch_in_order(fetch, numbers, max_concurrency)
        try:
            for fetched in batch:
                if not fetched.page.records:
                    return
                guard.admit(fetched)
                yield fetched.page
                previous_length, current = len(current.page.records), fetched
                if fetched.page.number != numbers[-1] and not has_next(fetched, previous_length):
                    return
        finally:
            batch.close()


def _fetch_in_order(fetch: Callable[[int | None], Fetched], numbers: range, width: int) -> Generator[Fetched]:
    """Fetch ``numbers`` with ``width`` requests in flight, yielding in order."""
    if width <= 1 or len(numbers) == 1:
        for number in numbers:
            yield fetch(number)
        return
    window = _Window(fetch, numbers, width)
    try:
        for number in numbers:
            yield window.take(number)
    finally:
        window.stop()


class _Window:
    """``width`` threads fetching pages in turn, for :func:`_fetch_in_order`.

    Each thread asks for the next page as soon as its own is answered, so one slow page does not
    leave the other connections idle (waiting for the caller to take pages strictly in order kept
    fewer requests in flight: 1.41x the floor against 1.53x, in alternating runs at 100k records).
    Pages answered early wait for their turn; at most ``2 * width`` pages are held or in flight
    ahead of the caller, which bounds memory.
    """

    def __init__(self, fetch: Callable[[int | None], Fetched], numbers: range, width: int) -> None:
        self._fetch = fetch
        self._todo = iter(numbers)
        self._done: dict[int, Fetched | BaseException] = {}
        self._ready = threading.Condition()
        self._room = threading.Semaphore(2 * width)
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._work, name=f"smartarena-page-{i}", daemon=True)
            for i in range(min(width, len(numbers)))
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            self._room.acquire()
            with self._ready:
                number = None if self._stopped else next(self._todo, None)
            if number is None:
                return
            try:
                result: Fetched | BaseException = self._fetch(number)
            except BaseException as exc:  # raised to the caller when it is this page's turn
                result = exc
            with self._ready:
                if not self._stopped:
                    self._done[number] = result
                    self._ready.notify_all()

    def take(self, number: int) -> Fetched:
        """Wait for page ``number`` and return it (or raise what fetching it raised)."""
        with self._ready:
            while number not in self._done:
                self._ready.wait()
            result = self._done.pop(number)
        self._room.release()
        if isinstance(result, BaseException):
            raise result
        return result

    def stop(self) -> None:
        """Ask for no more pages; requests in flight finish on their own and are dropped."""
        with self._ready:
            self._stopped = True
            self._done.clear()
        self._room.release(len(self._threads))  # each thread waiting for room wakes up and exits
