"""Reading pages while the database writes: a bounded prefetch, and drift detection for one pass.

Offset pagination over data that changes while it is read can skip records: when a record on an
already-read page changes (moves) or disappears, everything after it shifts one place towards the
start, and one record slides onto a page that has already been read. :class:`DriftMonitor` watches
for the signs of that — a record seen on two pages, a total or page count that changed, fewer
distinct records than the total — so the caller can read the window again.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections import deque
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_smartarena.exceptions import SmartArenaResponseError

T = TypeVar("T")

_DONE = object()


class ReadGauge:
    """How often the consumer of :func:`prefetch` found no item ready: whether reading the API is
    the slower side of a transfer (then the database's work can be hidden behind it)."""

    def __init__(self) -> None:
        self._share = 0.0  # of recent takes that waited, smoothed over about the last eight

    def note(self, waited: bool) -> None:
        """Count one take; ``waited`` if the consumer had to wait for it."""
        self._share += (float(waited) - self._share) / 8

    def reading_is_slower(self) -> bool:
        """True while most recent takes waited for the API."""
        return self._share >= 0.5


def prefetch(
    iterator: Iterator[T],
    depth: int = 2,
    *,
    budget: int = 0,
    weight: Callable[[T], int] | None = None,
    name: str = "smartarena-prefetch",
    gauge: ReadGauge | None = None,
) -> Generator[T, None, None]:
    """Yield ``iterator``'s items, produced on a background thread ahead of the caller.

    The thread runs ahead by ``depth`` items, or further while the items held weigh less than
    ``budget`` (by ``weight``): HTTP (on the thread) then overlaps with database writes (on the
    caller's thread), and memory stays bounded by ``depth`` items or ``budget`` plus one item. An
    exception on the thread is re-raised here; if the caller stops early, the thread stops and the
    iterator is closed. ``gauge`` notes whether each item had to be waited for.
    """
    depth = max(1, depth)
    held: deque[Any] = deque()
    load = 0  # the weight of the items in ``held``
    ready = threading.Condition()
    stop = False

    def put(item: Any, heavy: int) -> bool:
        nonlocal load
        with ready:
            while not stop and len(held) >= depth and load >= budget:
                ready.wait()  # take() and the consumer's stop both notify
            if stop:
                return False
            held.append((item, heavy))
            load += heavy
            ready.notify_all()
            return True

    def produce() -> None:
        try:
            for item in iterator:
                if not put(item, weight(item) if weight is not None else 1):
                    break
            else:
                put(_DONE, 0)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc, 0)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def take() -> Any:
        nonlocal load
        with ready:
            if gauge is not None:
                gauge.note(not held)
            while not held:
                ready.wait()
            item, heavy = held.popleft()
            load -= heavy
            ready.notify_all()
            return item

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = take()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        with ready:
            stop = True
            ready.notify_all()
        thread.join(timeout=60)


class DriftMonitor:
    """Signs, within one pass over a paged listing, that the data moved under the pages.

    Every key is remembered as its 8-byte hash in one of 256 arrays (a Python set would take some
    60 bytes a key, and memory must not grow with the result); repeats across pages are counted
    bucket by bucket when the pass ends. A hash collision can only cause a needless re-read.
    """

    _BUCKETS = 256

    def __init__(self) -> None:
        self._buckets = [array("q") for _ in range(self._BUCKETS)]
        self._page_keys: set[int] = set()
        self._last_total: int | None = None
        self._last_page: int | None = None
        self._unkeyed = 0
        self._within_pages = 0
        self._across_pages = 0
        self.reasons: list[str] = []

    def page(self, number: int, total: int | None, last_page: int | None) -> None:
        """Start page ``number`` with the envelope's ``total`` and ``last_page`` (None if absent)."""
        self._file_page()
        if total is not None:
            if self._last_total is not None and total != self._last_total:
                self.reasons.append(f"total changed from {self._last_total} to {total} at page {number}")
            self._last_total = total
        if last_page is not None:
            if self._last_page is not None and last_page != self._last_page:
                self.reasons.append(
                    f"page count changed from {self._last_page} to {last_page} at page {number}"
                )
            self._last_page = last_page

    def record(self, key: Hashable | None) -> bool:
        """Note a record's key; return True if the same page already had it."""
        within = self._within_pages
        self.records([key])
        return self._within_pages > within

    def records(self, keys: Iterable[Hashable | None]) -> None:
        """:meth:`record` each of ``keys`` (a page's): one C loop, where a call a key cost half a
        microsecond a record."""
        keys = keys if isinstance(keys, list) else list(keys)
        keyed = [k for k in keys if k is not None] if None in keys else keys
        page_keys = self._page_keys
        before = len(page_keys)
        page_keys.update(map(hash, keyed))
        self._within_pages += len(keyed) - (len(page_keys) - before)
        self._unkeyed += len(keys) - len(keyed)

    def _file_page(self) -> None:
        buckets, mask = self._buckets, self._BUCKETS - 1
        for h in self._page_keys:
            buckets[h & mask].append(h)
        self._page_keys = set()

    def finish(self) -> list[str]:
        """End the pass; return every reason to believe records were skipped (empty if none)."""
        self._file_page()
        distinct = self._unkeyed
        for bucket in self._buckets:
            unique = len(set(bucket))
            self._across_pages += len(bucket) - unique
            distinct += unique
        if self._across_pages:
            self.reasons.append(f"{self._across_pages} record(s) seen on two pages")
        if self._last_total is not None and not self.reasons and distinct < self._last_total:
            self.reasons.append(f"read {distinct} distinct records of a total of {self._last_total}")
        return self.reasons

    @property
    def duplicates(self) -> int:
        """Records read more than once in this pass (complete after :meth:`finish`)."""
        return self._within_pages + self._across_pages


@dataclass
class PassResult:
    """One read of a listing: what was read, and any reasons to think records were skipped."""

    pages: int = 0
    records: int = 0
    duplicates: int = 0
    drift: list[str] = field(default_factory=list)


#: Called once per page with its records (dicts, or structs the hook decoded them into); returns
#: their keys in order (None for a record without one).
PageHandler = Callable[[Sequence[Any]], Iterable[Hashable | None]]


def read_pass(
    pages: Iterator[Any], handle: PageHandler, *, read_ahead: int = 0, gauge: ReadGauge | None = None
) -> PassResult:
    """Feed every record of ``pages`` (hook ``Page`` objects) to ``handle``, watching for drift.

    :param read_ahead: records fetched ahead of ``handle`` (two pages at least). A batch's write
        holds ``handle`` up for a while; pages fetched meanwhile wait here rather than stall the
        fetching (see ``SqlLoader.read_ahead``).
    :param gauge: notes whether each page had to be waited for (see :class:`ReadGauge`).
    """
    monitor = DriftMonitor()
    result = PassResult()
    # closing(): if handle() raises, the fetching thread stops now, not when the generator is collected.
    with closing(prefetch(pages, 2, budget=read_ahead, weight=_page_length, gauge=gauge)) as stream:
        for page in stream:
            result.pages += 1
            monitor.page(page.number, page.total, page.last_page)
            monitor.records(handle(page.records))
            result.records += len(page.records)
    result.drift = monitor.finish()
    result.duplicates = monitor.duplicates
    return result


def _page_length(page: Any) -> int:
    return len(page.records)


def read_with_one_retry(
    open_pages: Callable[[], Iterator[Any]],
    handle: PageHandler,
    *,
    between: Callable[[], None],
    log: logging.Logger | Any,
    read_ahead: int = 0,
    gauge: ReadGauge | None = None,
) -> tuple[bool, list[PassResult]]:
    """Read a listing; if it drifted, call ``between()`` and read it once more.

    Returns ``(complete, passes)``: ``complete`` is True when a pass saw no drift, i.e. every
    record that existed throughout the read was seen. ``read_ahead`` and ``gauge`` are
    :func:`read_pass`'s.
    """
    passes: list[PassResult] = []
    for attempt in (1, 2):
        result = read_pass(open_pages(), handle, read_ahead=read_ahead, gauge=gauge)
        passes.append(result)
        if not result.drift:
            return True, passes
        if attempt == 1:
            log.warning("The data moved while it was paged (%s); reading it again", "; ".join(result.drift))
            between()
    log.warning("The data moved again during the second read (%s)", "; ".join(passes[-1].drift))
    return False, passes


def fields_present(record: Any) -> list[str]:
    """The names of the fields ``record`` (a dict or a typed record) has a value for, never the values.

    What an error may show of a record that cannot be identified: its values may be personal data.

    :param record: a record as a page handler receives it.
    """
    if isinstance(record, Mapping):
        return sorted(str(name) for name, value in record.items() if value is not None)
    names: Sequence[str] = getattr(record, "__struct_fields__", ())
    return sorted(name for name in names if getattr(record, name, None) is not None)


@dataclass
class KeylessRecords:
    """The records of the last read pass that had no complete key, which the loader cannot store.

    A transfer notes each one in its page handler, calls :meth:`reset` when the listing is read
    again, and fails with :meth:`error` after committing the other rows: no partial load ends green.
    """

    count: int = 0
    #: The fields the first such record had values for (never the values: they may be personal).
    example: list[str] | None = None

    def note(self, record: Any) -> None:
        """Count ``record`` (a dict or a typed record) as one without its key.

        :param record: the record as the page handler received it.
        """
        self.count += 1
        if self.example is None:
            self.example = fields_present(record)

    def reset(self) -> None:
        """Start counting again: the listing is read once more, whole."""
        self.count = 0

    def error(self, path: str, what: str, key: Sequence[str], kept: str) -> SmartArenaResponseError:
        """The error that fails the task.

        :param path: the API path read.
        :param what: the stream or table the read was for, for the message.
        :param key: the key's field names.
        :param kept: what the run left as it was (e.g. "the watermark was not moved").
        """
        return SmartArenaResponseError(
            f"{self.count} record(s) of {what} lacked a key field ({', '.join(key)}) and could not be "
            f"stored; e.g. one with values only for: {', '.join(self.example or ()) or 'nothing'}. The "
            f"other rows were committed (upserts, harmless to re-read) but {kept}. Ask the platform why "
            "these records lack their key",
            method="GET",
            path=path,
        )


@contextmanager
def failing_as_incomplete(path: str, what: str, kept: str) -> Iterator[None]:
    """Turn the hook's own "this listing cannot be read" (a bare :class:`SmartArenaResponseError`, e.g.
    a paginator that contradicts itself) into the transfer's incomplete-read error, which names the
    stream or table and what the run left as it was. Other errors pass through unchanged."""
    try:
        yield
    except SmartArenaResponseError as err:
        if type(err) is not SmartArenaResponseError:
            raise
        raise incomplete_read_error(path, what, [str(err)], kept) from err


def incomplete_read_error(path: str, what: str, reasons: Sequence[str], kept: str) -> SmartArenaResponseError:
    """The error that fails a task whose listing could not be read whole (in every mode).

    A partial read must never end green: the rows it wrote are upserts and may stay, but nothing
    that only a complete read justifies (a watermark, deletion marks) has been written.

    :param path: the API path read.
    :param what: the stream or table the read was for, for the message.
    :param reasons: why the read is incomplete (the passes' drift, as ``pass N: reason``).
    :param kept: what the run left as it was (e.g. "the watermark was not moved").
    """
    return SmartArenaResponseError(
        f"the listing for {what} could not be read whole ({'; '.join(reasons)}); the rows read were "
        f"committed (upserts, harmless to re-read) but {kept}. The server's paging contradicted itself or "
        "records moved during both reads: retry the task; if it keeps failing, check the server's paging",
        method="GET",
        path=path,
    )
