"""The hook's private building blocks on their own: retry policy, token manager, envelopes, stop rules."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_smartarena.exceptions import SmartArenaResponseError
from airflow_provider_smartarena.hooks._paging import (
    Fetched,
    Page,
    PageMeta,
    has_next,
    parse_listing,
    repeats,
    walk_pages,
)
from airflow_provider_smartarena.hooks._retry import RetryPolicy, is_retryable_status, parse_retry_after
from airflow_provider_smartarena.hooks._token import TokenManager, renewal_delay
from airflow_provider_smartarena.hooks.smartarena import Outcome

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------- retry


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("Wed, 01 Jan 2025 12:00:07 GMT", 7.0),
        ("0", None),
        ("-1", None),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 01 Jan 2025 11:59:00 GMT", None),  # in the past
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


@given(st.integers(min_value=0, max_value=100))
def test_backoff_is_full_jitter_under_the_cap(retry: int) -> None:
    policy = RetryPolicy(max_retries=5, backoff=0.5, max_wait=4.0)
    wait = policy.backoff_wait(retry)
    assert 0 <= wait <= min(4.0, 0.5 * 2**retry)


def test_retry_after_wins_over_backoff() -> None:
    assert RetryPolicy().wait(0, 2.5) == 2.5


@pytest.mark.parametrize(
    ("status", "retry"),
    [(429, True), (500, True), (503, True), (522, True), (404, False), (422, False), (401, False)],
)
def test_retryable_statuses(status: int, retry: bool) -> None:
    assert is_retryable_status(status) is retry


# ---------------------------------------------------------------- token


@pytest.mark.parametrize(
    ("life", "renew"), [(3600, 2880), (120, 60), (100, 50), (1, 0.5), (300, 240), (None, None)]
)
def test_renewal_delay(life: float | None, renew: float | None) -> None:
    assert renewal_delay(life) == renew


def test_one_renewal_at_a_time() -> None:
    fetches: list[int] = []
    lock = threading.Lock()

    def fetch() -> tuple[str, float | None]:
        with lock:
            fetches.append(1)
            number = len(fetches)
        time.sleep(0.05)  # slow, so other threads pile up on the lock
        return f"token-{number}", 3600

    tokens = TokenManager(fetch)
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(tokens.get())) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetches) == 1
    assert set(seen) == {"token-1"}

    # Many threads seeing a 401 on the same token renew it once.
    def refused() -> None:
        tokens.invalidate("token-1")
        seen.append(tokens.get())

    threads = [threading.Thread(target=refused) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fetches) == 2
    assert seen[-1] == "token-2"


def test_token_renewed_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    numbers = iter(range(1, 10))
    tokens = TokenManager(lambda: (f"t{next(numbers)}", 100))
    assert tokens.get() == "t1"
    clock[0] += 49
    assert tokens.get() == "t1"
    clock[0] += 2  # past 50 s: half the life of a 100 s token
    assert tokens.get() == "t2"


# ---------------------------------------------------------------- envelopes and stop rules


def _rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(start, start + n)]


def test_parse_listing_shapes() -> None:
    assert parse_listing(_rows(2), method="GET", path="/p") == (_rows(2), PageMeta())
    assert parse_listing([], method="GET", path="/p") == ([], PageMeta())
    records, meta = parse_listing(
        {"data": _rows(1), "current_page": 2, "last_page": "3"}, method="GET", path="/p"
    )
    assert records == _rows(1)
    assert (meta.current_page, meta.last_page) == (2, 3)
    records, meta = parse_listing(
        {"data": {"data": _rows(1), "next_page_url": None}}, method="GET", path="/p"
    )
    assert records == _rows(1)
    assert meta.has_next_link
    assert meta.next_link is None
    records, meta = parse_listing({"results": _rows(3), "more": 1}, method="GET", path="/p")
    assert records == _rows(3)
    assert not meta.present
    for bad in ({"roles": [4, 6]}, [1, 2], "text", {"a": _rows(1), "b": _rows(1)}, {"message": "no"}):
        with pytest.raises(SmartArenaResponseError):
            parse_listing(bad, method="GET", path="/p")


def _fetched(number: int, records: list[dict[str, Any]], paged: bool = True, **meta: Any) -> Fetched:
    return Fetched(Page(number, records), PageMeta(**meta), paged)


def test_stop_rules() -> None:
    assert not has_next(_fetched(1, []), None)
    assert has_next(_fetched(1, _rows(5)), None)  # no metadata: ask for page 2
    assert has_next(_fetched(2, _rows(5)), 5)
    assert not has_next(_fetched(2, _rows(4)), 5)  # shorter than the previous full page
    assert not has_next(_fetched(1, _rows(5), paged=False), None)  # one unpaged request said it all
    assert not has_next(_fetched(3, _rows(4), last_page=3), 5)
    assert not has_next(_fetched(3, _rows(5), last_page=3, total=15, per_page=5), 5)
    # A full last page that only last_page vouches for: one more page is read to make sure.
    assert has_next(_fetched(3, _rows(5), last_page=3), 5)
    assert has_next(_fetched(2, _rows(5), last_page=3), 5)
    assert not has_next(_fetched(2, _rows(5), has_next_link=True, next_link=None), 5)
    assert has_next(_fetched(2, _rows(5), has_next_link=True, next_link="x"), 5)
    assert not has_next(_fetched(2, _rows(5), total=10, per_page=5), 5)
    assert has_next(_fetched(1, _rows(5), total=11, per_page=5), None)
    # Metadata that disagree are not trusted: reading goes on while pages are full or linked.
    assert has_next(_fetched(2, _rows(5), has_next_link=True, next_link=None, last_page=9), 5)
    assert has_next(_fetched(2, _rows(5), has_next_link=True, next_link="x", last_page=2), 5)
    assert has_next(_fetched(1, _rows(5), last_page=1, total=300, per_page=5), None)
    assert not has_next(_fetched(60, _rows(5), last_page=1, total=300, per_page=5), 5)


def test_repeats() -> None:
    page = [{"id": 1, "progress": 10}, {"id": 2}, {"id": 3}]
    assert repeats([dict(r) for r in page], page)
    assert repeats([{"id": 1, "progress": 55}, {"id": 2}, {"id": 3}], page)  # same records, data moved
    assert not repeats([{"id": 1}, {"id": 9}, {"id": 3}], page)
    assert not repeats(page[:2], page)
    assert not repeats([], [])
    keyless = [{"a": 1}, {"a": 2}]
    assert repeats([{"a": 1}, {"a": 2}], keyless)
    assert not repeats([{"a": 1}, {"a": 3}], keyless)


class _Pages:
    """A fake paginator of ``total`` records, ``size`` a page, with a page count."""

    def __init__(self, total: int, size: int, delay: float = 0.0) -> None:
        self.total, self.size, self.delay = total, size, delay
        self.requested: list[int | None] = []
        self.lock = threading.Lock()

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    def __call__(self, number: int | None) -> Fetched:
        with self.lock:
            self.requested.append(number)
        time.sleep(self.delay)
        page = number or 1
        first = (page - 1) * self.size
        rows = _rows(max(0, min(self.size, self.total - first)), first)
        return _fetched(page, rows, number is not None, last_page=self.last, current_page=page)


def _walk(fetch: Any, concurrency: int = 1, max_pages: int = 1000, start: int = 1) -> Any:
    return walk_pages(
        fetch,
        paged=True,
        start_page=start,
        max_concurrency=concurrency,
        max_pages=max_pages,
        method="GET",
        path="/p",
    )


@given(total=st.integers(0, 120), size=st.integers(1, 25), concurrency=st.integers(1, 6))
def test_concurrent_walk_equals_sequential(total: int, size: int, concurrency: int) -> None:
    sequential = [(p.number, p.records) for p in _walk(_Pages(total, size))]
    concurrent = [(p.number, p.records) for p in _walk(_Pages(total, size), concurrency)]
    assert concurrent == sequential
    assert [r["id"] for _, records in sequential for r in records] == list(range(total))


def test_walk_from_a_start_page() -> None:
    pages = _Pages(50, 10)
    assert [p.number for p in _walk(pages, start=3)] == [3, 4, 5]


def test_closing_a_concurrent_walk_stops_fetching() -> None:
    pages = _Pages(10_000, 10, delay=0.01)
    walk = _walk(pages, concurrency=4)
    assert [next(walk).number for _ in range(3)] == [1, 2, 3]
    walk.close()
    time.sleep(0.1)
    requested = len(pages.requested)
    time.sleep(0.1)
    assert len(pages.requested) == requested <= 3 + 2 * 4 + 1  # taken, held or in flight, page 1's


class _SlowPage(_Pages):
    """Page ``slow`` answers after ``pause`` s (or raises ``error``); the others at once."""

    def __init__(self, slow: int, pause: float = 0.0, error: Exception | None = None) -> None:
        super().__init__(1000, 10)
        self.slow, self.pause, self.error = slow, pause, error
        self.answered: list[int | None] = []

    def __call__(self, number: int | None) -> Fetched:
        if number == self.slow:
            time.sleep(self.pause)
            if self.error is not None:
                raise self.error
        fetched = super().__call__(number)
        with self.lock:
            self.answered.append(number)
        return fetched


def test_a_slow_page_does_not_keep_the_other_connections_idle() -> None:
    pages = _SlowPage(slow=3, pause=0.5)
    walk = _walk(pages, concurrency=2)
    assert [next(walk).number for _ in range(4)] == [1, 2, 3, 4]  # in order all the same
    # While page 3 took its time, the other connection went on: up to 2 x 2 pages ahead.
    assert pages.answered.index(3) >= 5
    assert set(pages.answered[: pages.answered.index(3)]) >= {1, 2, 4, 5, 6}
    walk.close()


def test_a_failed_page_raises_in_its_turn() -> None:
    pages = _SlowPage(slow=4, pause=0.05, error=SmartArenaResponseError("page 4 failed"))
    walk = _walk(pages, concurrency=3)
    assert [next(walk).number for _ in range(3)] == [1, 2, 3]
    with pytest.raises(SmartArenaResponseError, match="page 4 failed"):
        next(walk)


def test_outcome() -> None:
    assert Outcome(1, 2).ok
    assert not Outcome(1, error=ValueError()).ok
