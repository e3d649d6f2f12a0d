"""Reading list responses page by page, whatever envelope the server wraps them in.

The API does not document its list envelope, so every shape seen in Laravel-style services is
understood: a bare list, ``{"data": [...]}``, a paginator ``{"current_page", "data", "last_page",
"per_page", "total", "next_page_url", ...}`` (also with the numbers under ``meta`` and the next link
under ``links.next``), a cursor paginator (``next_cursor``, ``next_page_url``, no page numbers), and
an unknown object holding exactly one list of records.

How the next page is asked for: by page number when the paginator numbers its pages (or says
nothing); by the server's own next link, or else its ``next_cursor``, when it gives one without page
numbers (a cursor paginator ignores ``page``). A link is followed only to the connection's own
scheme, host, port and path; the request keeps its filters, the link's query overriding them.

Stop rules: an empty page; metadata that agree there is no next page (a full page is trusted as the
last only when a null next link or ``total`` confirms it, else one more page is read); and, without
metadata, a page shorter than the previous one. Metadata that contradict each other (``last_page``
against ``total`` or the next link, a ``total`` below the records already read) are not trusted:
reading goes on while pages are full or a next link exists, and a read that then still disagrees
with ``total`` raises. A page repeating the previous page's records means the server ignores the
``page`` parameter: a bare list whose page 2 is *exactly* page 1 is an unpaged endpoint (page 1 is
the whole answer), any other repeat raises, as does passing the hard page cap.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeGuard, TypeVar
from urllib.parse import parse_qsl, urljoin, urlsplit

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
    #: True when the body has a ``next_cursor`` field at all (a cursor paginator; may be null).
    has_cursor: bool = False
    next_cursor: str | None = None

    @property
    def present(self) -> bool:
        return self.has_next_link or self.has_cursor or self.last_page is not None or self.total is not None

    @property
    def follows_links(self) -> bool:
        """Pages are reached by the server's link or cursor, not by number (no page numbers given)."""
        if self.has_cursor:
            return True
        return self.has_next_link and self.current_page is None and self.last_page is None


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
    cursor = fields.get("next_cursor")
    return PageMeta(
        current_page=_int_or_none(fields.get("current_page")),
        last_page=_int_or_none(fields.get("last_page")),
        per_page=_int_or_none(fields.get("per_page")),
        total=_int_or_none(fields.get("total")),
        has_next_link=has_next,
        next_link=next_link if isinstance(next_link, str) and next_link else None,
        has_cursor="next_cursor" in fields,
        next_cursor=str(cursor) if isinstance(cursor, str | int) and cursor != "" else None,
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
    next_cursor: Any = msgspec.UNSET
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
        for name in ("next_page_url", "next_cursor"):  # present-but-null differs from absent
            if getattr(body, name) is not msgspec.UNSET:
                fields[name] = getattr(body, name)
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


Step = Literal["stop", "number", "follow"]


def next_step(fetched: Fetched, previous_length: int | None, read: int) -> Step:
    """How to ask for the page after ``fetched``, or "stop" (see the module's stop rules).

    :param previous_length: records on the page before ``fetched`` (None on the first page).
    :param read: records read so far, ``fetched`` included, counted from page 1 (the pages before
        the start page as if full).
    :raises _ContradictionError: the metadata contradict each other (or the page) and reading
        on cannot reconcile them; callers raise it as a :class:`SmartArenaResponseError` naming
        the call (:func:`walk_pages`, :func:`has_next`).
    """
    page, meta = fetched.page, fetched.meta
    count = len(page.records)
    if not count:
        if meta.next_link is not None or meta.next_cursor is not None:
            raise _ContradictionError(
                f"the paginator contradicts itself: page {page.number} is empty but gives a next page"
            )
        # The total comes with this very answer, so records changing under the read cannot
        # explain an empty page before it is reached.
        before = (page.number - 1) * meta.per_page if meta.per_page else read
        if meta.total is not None and before < meta.total:
            raise _ContradictionError(
                f"the paginator contradicts itself: page {page.number} is empty but its total is "
                f"{meta.total} ({before} records before it)"
            )
        return "stop"
    link = meta.next_link is not None or meta.next_cursor is not None
    if meta.follows_links:
        # The server's link or cursor is its own statement of what comes next; null means the end.
        return "follow" if link else "stop"
    votes = _votes(meta, page.number, read)
    full = _full(meta, count, previous_length)
    if not votes:
        if not fetched.paged:
            return "stop"  # one unpaged request returned everything
        return "number" if full else "stop"
    agreed = len(set(votes.values())) == 1 and (meta.total is None or meta.total >= read)
    if agreed and all(votes.values()):
        return "number"
    if agreed:
        # Everything says "last page". A short page settles it; so does a null next link or a
        # total that this page reaches. A full page backed by last_page alone gets one more read.
        confirmed = meta.has_next_link or meta.has_cursor or meta.total is not None
        return "number" if full and not confirmed else "stop"
    # The metadata contradict each other: read on while the server shows there may be more.
    if link or full:
        return "number"
    if meta.total is not None and read < meta.total:
        said = ", ".join(f"{name}={_said(meta, name)}" for name in votes)
        raise _ContradictionError(
            f"the paginator contradicts itself ({said} on page {page.number}) and reading on "
            f"until a short page gave {read} records, not the total {meta.total}"
        )
    return "stop"


def has_next(
    fetched: Fetched, previous_length: int | None, read: int | None = None, *, path: str | None = None
) -> bool:
    """Whether another page should be requested after ``fetched`` (see :func:`next_step`).

    :raises SmartArenaResponseError: the metadata contradict each other beyond reconciling.
    """
    if read is None:
        size = fetched.meta.per_page or previous_length or len(fetched.page.records)
        read = (fetched.page.number - 1) * size + len(fetched.page.records)
    return _next_step(fetched, previous_length, read, "GET", path) != "stop"


def _votes(meta: PageMeta, number: int, read: int) -> dict[str, bool]:
    """What each piece of metadata says about a next page (True: there is one)."""
    votes: dict[str, bool] = {}
    if meta.has_next_link:
        votes["next_page_url"] = meta.next_link is not None
    if meta.last_page is not None:
        votes["last_page"] = number < meta.last_page
    if meta.total is not None:
        # Records read, not page x per_page: a short page must not pass for the total reached.
        votes["total"] = read < meta.total
    return votes


def _said(meta: PageMeta, name: str) -> Any:
    if name == "next_page_url":
        return "a link" if meta.next_link else "null"
    return getattr(meta, name)


def _full(meta: PageMeta, count: int, previous_length: int | None) -> bool:
    """Whether a page is as long as a page gets (so more may follow)."""
    if meta.per_page:
        return count >= meta.per_page
    return previous_length is None or count >= previous_length


class _ContradictionError(Exception):
    """Paging metadata that cannot be reconciled; the walker raises it as a response error."""


def follow_query(meta: PageMeta, base_url: str, path: str, method: str) -> dict[str, str]:
    """The query of the next request of a link/cursor paginator, from its next link or cursor.

    The link must point at the connection's own scheme, host, port and endpoint path: the token
    goes with the request, so it is never sent where the configuration did not say. Only the
    link's query is taken (Laravel's links drop the filters unless the server appends them, so
    the caller keeps its own parameters under the link's).

    :raises SmartArenaResponseError: the link leads elsewhere.
    """
    if meta.next_link is None:
        return {"cursor": str(meta.next_cursor)}
    # A relative link is relative to the request it came in (Laravel's are absolute).
    link, own = urlsplit(urljoin(base_url + path, meta.next_link)), urlsplit(base_url)
    try:
        same = (
            (link.scheme.lower(), link.hostname, _port(link))
            == (own.scheme.lower(), own.hostname, _port(own))
            and link.path.rstrip("/") == (own.path.rstrip("/") + path).rstrip("/")
            and not link.username
            and not link.password
        )
    except ValueError:  # a port that is not a number
        same = False
    if not same:
        seen = (
            f"{link.scheme}://{link.hostname or ''}{f':{link.port}' if _safe_port(link) else ''}{link.path}"
        )
        raise SmartArenaResponseError(
            f"the next-page link leads to {seen}, not to this endpoint on {own.scheme}://{own.netloc}; "
            "it is not followed (the token would go with it)",
            method=method,
            path=path,
        )
    return dict(parse_qsl(link.query, keep_blank_values=True))


def _port(parts: Any) -> int | None:
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())


def _safe_port(parts: Any) -> int | None:
    try:
        return int(parts.port) if parts.port else None
    except ValueError:
        return None


class _Guard:
    """Checks each page against the previous one, and page numbers against the cap."""

    def __init__(self, max_pages: int, method: str, path: str, log: Any = None) -> None:
        self.max_pages = max_pages
        self.method, self.path = method, path
        self.previous: Fetched | None = None
        self.log = log or logging.getLogger(__name__)

    def admit(self, fetched: Fetched) -> bool:
        """Record a page; False when it shows the endpoint is unpaged (page 1 said everything).

        :raises SmartArenaResponseError: the page repeats the previous one otherwise.
        """
        previous = self.previous
        if previous is not None and repeats(fetched.page.records, previous.page.records):
            if _unpaged(fetched, previous):
                self.log.info(
                    "%s %s ignores the page parameter (page 2 is exactly page 1): read as unpaged, "
                    "page 1 holds all %d records",
                    self.method,
                    self.path,
                    len(previous.page.records),
                )
                return False
            if _read_past_the_end(fetched, previous):
                # The extra read that a full last page gets (last_page alone vouched for it)
                # came back as that page again: the server answers any page past the end
                # with its last one, and its last_page was right.
                return False
            raise SmartArenaResponseError(
                f"page {fetched.page.number} repeats the records of page {previous.page.number}; "
                "the server seems to ignore the page parameter",
                method=self.method,
                path=self.path,
            )
        self.previous = fetched
        return True

    def reserve(self, last_number: int, start: int) -> None:
        """Raise before fetching up to page ``last_number`` would pass the cap."""
        if last_number - start + 1 > self.max_pages:
            raise SmartArenaResponseError(
                f"the listing has more than {self.max_pages} pages (the max_pages cap); "
                "the server may be paginating without end",
                method=self.method,
                path=self.path,
            )


def _unpaged(fetched: Fetched, previous: Fetched) -> bool:
    """A bare list whose page 2 is page 1 record for record, field for field."""
    return (
        fetched.page.number == 2
        and previous.page.number == 1
        and not fetched.meta.present
        and not previous.meta.present
        and fetched.page.records == previous.page.records
    )


def _read_past_the_end(fetched: Fetched, previous: Fetched) -> bool:
    """A page asked for past the paginator's ``last_page`` that is that last page, field for field.

    Only when nothing else was said: a ``total`` the pages fall short of is a contradiction that
    a repeat must not settle (the read would end partial).
    """
    last = previous.meta.last_page
    return (
        last is not None
        and previous.meta.total is None
        and previous.meta.next_link is None
        and previous.meta.next_cursor is None
        and previous.page.number >= last
        and fetched.page.number == previous.page.number + 1
        and fetched.page.records == previous.page.records
    )


Fetch = Callable[..., Fetched]


def walk_pages(
    fetch: Fetch,
    *,
    paged: bool,
    start_page: int,
    max_concurrency: int,
    max_pages: int,
    method: str,
    path: str,
    base_url: str = "",
    log: Any = None,
) -> Iterator[Page]:
    """Yield the pages of a listing in order.

    :param fetch: ``fetch(number)`` fetches one page (``None``: without a page parameter);
        ``fetch(number, query)`` fetches the page a next link or cursor points at, ``query`` being
        the paging parameters to send instead of ``page``; ``number`` then only names the page.
    :param paged: the endpoint is documented as paged, so the first request carries ``page``.
    :param max_concurrency: pages fetched at once when the page count is known (page numbers
        only: a link or cursor is known only once the page before it has come).
    :param base_url: the connection's base URL, which a next link must stay on.
    :param log: a logger (stdlib or Airflow's) for the one line about an unpaged endpoint.
    """
    guard = _Guard(max_pages, method, path, log)
    current = fetch(start_page if paged else None)
    guard.admit(current)
    yield current.page
    previous_length: int | None = None
    size = current.meta.per_page or len(current.page.records)
    read = (start_page - 1) * size + len(current.page.records) if paged else len(current.page.records)
    while True:
        step = _next_step(current, previous_length, read, method, path)
        if step == "stop":
            return
        number = current.page.number + 1
        if step == "follow":
            # A next link or cursor is known only once its page has come: a batch of one.
            guard.reserve(number, start_page)
            numbers = range(number, number + 1)
            batch = _fetch_linked(fetch, number, follow_query(current.meta, base_url, path, method))
        else:
            last = current.meta.last_page
            known_range = last is not None and max_concurrency > 1 and last > number
            numbers = range(number, (last if known_range and last else number) + 1)
            guard.reserve(numbers[-1], start_page)
            batch = _fetch_in_order(fetch, numbers, max_concurrency)
        try:
            for fetched in batch:
                if not guard.admit(fetched):
                    return
                if fetched.page.records:
                    yield fetched.page
                previous_length, current = len(current.page.records), fetched
                read += len(fetched.page.records)
                last_of_batch = fetched.page.number == numbers[-1]
                if not last_of_batch and _next_step(fetched, previous_length, read, method, path) == "stop":
                    return
        finally:
            batch.close()


def _next_step(
    fetched: Fetched, previous_length: int | None, read: int, method: str, path: str | None
) -> Step:
    """:func:`next_step`, a contradiction raised as a :class:`SmartArenaResponseError` naming the call."""
    try:
        return next_step(fetched, previous_length, read)
    except _ContradictionError as err:
        raise SmartArenaResponseError(str(err), method=method, path=path) from None


def _fetch_linked(fetch: Fetch, number: int, query: dict[str, str]) -> Generator[Fetched]:
    """Fetch the page a next link or cursor points at (``query``), numbered ``number``."""
    yield fetch(number, query)


def _fetch_in_order(fetch: Fetch, numbers: range, width: int) -> Generator[Fetched]:
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
    leave the other connections idle; handing pages out only as the caller takes them in order
    would keep fewer requests in flight and make a listing slower (``make bench`` measures it).
    Pages answered early wait for their turn; at most ``2 * width`` pages are held or in flight
    ahead of the caller, which bounds memory.
    """

    def __init__(self, fetch: Fetch, numbers: range, width: int) -> None:
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
