"""Laravel's throttle (issue 18 #3): wait what Retry-After asks within max_retry_wait, pace by the
X-RateLimit-* headers, and complete a load larger than one window."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaRateLimitError
from airflow_provider_smartarena.hooks._pacer import Pacer
from airflow_provider_smartarena.resources import USER_COURSES

from .scripted import Reply, Request, connection_json

PAGES = 12
PER_PAGE = 5


class Throttle:
    """A fixed window opened by its first request, as Laravel's ``throttle:limit,decay`` counts."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.opened = 0.0
        self.hits = 0
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self.lock:
            now = time.monotonic()
            if now >= self.opened + self.window:
                self.opened, self.hits = now, 0
            self.hits += 1
            left = self.opened + self.window - now
            headers = {"X-RateLimit-Limit": str(self.limit)}
            if self.hits > self.limit:
                self.refused += 1
                headers |= {
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": str(math.ceil(left)),
                    "X-RateLimit-Reset": str(math.ceil(time.time() + left)),
                }
                return Reply(429, {"message": "Too Many Attempts."}, headers=headers)
            headers["X-RateLimit-Remaining"] = str(self.limit - self.hits)
        page = int(request.query.get("page", 1))
        records = [{"id": page * 100 + i, "user_mapping_code": f"u{i}", "course_mapping_code": f"c{page}"}
                   for i in range(PER_PAGE)]  # fmt: skip
        body = {
            "data": records,
            "current_page": page,
            "last_page": PAGES,
            "per_page": PER_PAGE,
            "total": PAGES * PER_PAGE,
        }
        return Reply(200, body, headers=headers)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_load_larger_than_the_window_completes_with_few_429s(serve: Any, concurrency: int) -> None:
    throttle = Throttle(limit=6, window=2.0)
    # max_retries=1: the load completes by pacing, not by spending retries.
    _, hook = serve(throttle, {"rate_limit_window": 2.0, "max_retry_wait": 5.0}, max_retries=1)
    started = time.monotonic()
    pages = list(hook.iter_pages(USER_COURSES, max_concurrency=concurrency))
    elapsed = time.monotonic() - started
    assert sum(len(p.records) for p in pages) == PAGES * PER_PAGE
    assert throttle.refused <= 2, f"{throttle.refused} requests refused"
    # 12 requests at 6 per 2 s cannot take less than one window, and pacing should not take many more.
    assert 1.5 < elapsed < 8, elapsed


def test_max_requests_per_minute_spaces_requests(serve: Any) -> None:
    server, hook = serve(lambda r: Reply(200, []), max_requests_per_minute=300)  # one per 0.2 s
    started = time.monotonic()
    for _ in range(4):
        hook.get_locations()
    assert time.monotonic() - started >= 0.55
    assert len(server.api_requests()) == 4


def test_a_retry_after_within_max_retry_wait_is_waited_for(serve: Any) -> None:
    answers = iter([Reply(429, {"message": "slow down"}, headers={"Retry-After": "1"}), Reply(200, [])])
    # retry_max_wait (the backoff cap) is below the asked second: only max_retry_wait caps Retry-After.
    _, hook = serve(lambda r: next(answers), {"retry_max_wait": 0.1, "max_retry_wait": 120})
    started = time.monotonic()
    assert hook.get_users() == []
    assert time.monotonic() - started >= 0.9


def test_a_retry_after_above_the_cap_names_the_wait_and_the_setting(serve: Any) -> None:
    reply = Reply(429, {"message": "Too Many Attempts."}, headers={"Retry-After": "60"})
    server, hook = serve(lambda r: reply, {"max_retry_wait": 30})
    with pytest.raises(SmartArenaRateLimitError) as info:
        hook.get_users()
    text = str(info.value)
    assert "asked to wait 60 s" in text
    assert "max_retry_wait=30 s" in text
    assert info.value.retry_after == 60
    assert len(server.api_requests()) == 1, "no retry is made for a wait above the cap"


def test_the_default_cap_waits_for_laravels_sixty_seconds() -> None:
    from airflow_provider_smartarena.hooks._config import DEFAULT_MAX_RETRY_WAIT

    assert DEFAULT_MAX_RETRY_WAIT >= 120


def test_the_hook_argument_overrides_the_extra(make_hook: Any) -> None:
    hook = make_hook(connection_json("https://x.example", max_retry_wait=10), max_retry_wait=75)
    assert hook.settings.max_retry_wait == 75


def test_the_pacer_spends_the_quota_then_paces_and_holds_every_thread_after_a_429() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(window=2.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0
    pacer.observe({"X-RateLimit-Limit": "6", "X-RateLimit-Remaining": "2"})
    # Two requests remain in the window: they go at once.
    assert pacer.wait() == 0
    assert pacer.wait() == 0
    assert not slept
    # The quota is spent: the next ones are spaced at the learned rate.
    assert pacer.interval == pytest.approx(2.0 / 6 * 1.1)
    pacer.wait()
    assert slept[-1] == pytest.approx(pacer.interval)
    pacer.observe({"X-RateLimit-Limit": "6", "X-RateLimit-Remaining": "0"}, retry_after=1.5)
    waited = pacer.wait()
    assert waited >= 1.5 - 1e-9
    # A new window: its quota is unknown until answered, so nothing is spaced meanwhile.
    assert pacer.interval == 0


def test_a_load_within_the_quota_is_not_slowed(serve: Any) -> None:
    # 12 requests against 100 a minute: the throttle allows them at once. Spreading every request
    # at the learned rate (60 s / 100 x 1.1) took 7 s here and 55 s for a 50-page first load.
    throttle = Throttle(limit=100, window=60.0)
    _, hook = serve(throttle, max_retries=0)
    started = time.monotonic()
    pages = list(hook.iter_pages(USER_COURSES))
    elapsed = time.monotonic() - started
    assert sum(len(p.records) for p in pages) == PAGES * PER_PAGE
    assert throttle.refused == 0
    assert elapsed < 3, elapsed


def test_a_request_that_got_no_answer_stops_counting_against_the_quota(serve: Any) -> None:
    # Two dropped connections, then answers saying 2 of 60 remain: both remain for the hook. Had
    # the dropped ones stayed counted as on their way, the budget would read 0 and space the next
    # request by the learned 1.1 s.
    limit = {"X-RateLimit-Limit": "60"}
    answers = iter(
        [
            Reply(200, [], headers=limit | {"X-RateLimit-Remaining": "10"}),
            Reply(200, [], drop=True),
            Reply(200, [], drop=True),
        ]
    )

    def route(request: Request) -> Reply:
        return next(answers, Reply(200, [], headers=limit | {"X-RateLimit-Remaining": "2"}))

    _, hook = serve(route, {"retry_backoff": 0.01, "retry_max_wait": 0.01}, max_retries=3)
    hook.get_locations()  # learns the limit
    hook.get_locations()  # two drops, then "2 remain"
    assert hook._transport.pacer.interval == 0
    started = time.monotonic()
    hook.get_locations()
    assert time.monotonic() - started < 0.5
