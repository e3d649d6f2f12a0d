"""Streaming /api/usercourses: filters, envelopes, concurrency, token expiry and injected faults.

The oracle is the sandbox's ground truth (``state('usercourses')``): every record exactly once.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from typing import Any

import pendulum
import pytest
import urllib3

from airflow_provider_smartarena.enums import CourseFilterType
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.resources import USERS


def _ids(records: Any) -> list[int]:
    return [r["id"] for r in records]


def _exactly_once(records: list[dict[str, Any]], truth: list[dict[str, Any]]) -> None:
    ids = _ids(records)
    duplicates = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert not duplicates, f"records seen twice: {duplicates[:10]}"
    assert sorted(ids) == sorted(_ids(truth))


def test_stream_every_record_in_order(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    truth = fresh_sandbox.state("usercourses")
    records = list(hook.iter_user_courses())
    assert _ids(records) == _ids(truth)  # the API orders by (updated_at, id)
    stats = fresh_sandbox.stats()
    assert stats["by_route"]["GET /api/usercourses"] == 5  # 500 records, 100 a page
    assert stats["token_requests"] == 1


def test_page_size_is_sent_as_per_page(fresh_sandbox: Any, make_hook: Any) -> None:
    hook = make_hook(fresh_sandbox.connection_json(page_size="40"))
    truth = fresh_sandbox.state("usercourses")
    pages = list(hook.iter_user_course_pages())
    assert [len(p.records) for p in pages] == [40] * 12 + [20]
    assert pages[0].last_page == 13
    assert pages[0].total == 500
    _exactly_once([r for p in pages for r in p.records], truth)


def test_every_filter(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    truth = fresh_sandbox.state("usercourses")
    courses = {c["mapping_code"]: c for c in fresh_sandbox.state("courses")}
    cut = truth[len(truth) // 2]["updated_at"]
    after = [r for r in truth if r["updated_at"] > cut]
    assert _ids(hook.iter_user_courses(updated_after=cut)) == _ids(after)
    # An aware pendulum datetime is converted to the server's zone (UTC here).
    aware = pendulum.from_format(cut, "YYYY-MM-DD HH:mm:ss", tz="UTC").in_timezone("Europe/Ljubljana")
    assert _ids(hook.iter_user_courses(updated_after=aware)) == _ids(after)

    finished_cut = "2024-06-01"
    finished = [r for r in truth if r["date_completed"] and r["date_completed"] > "2024-06-01 00:00:00"]
    assert sorted(_ids(hook.iter_user_courses(date_finished=dt.date(2024, 6, 1)))) == sorted(_ids(finished))
    assert sorted(_ids(hook.iter_user_courses(date_finished=finished_cut))) == sorted(_ids(finished))

    user = truth[0]["user_mapping_code"]
    mine = [r for r in truth if r["user_mapping_code"] == user]
    assert sorted(_ids(hook.iter_user_courses(user_mapping_code=user))) == sorted(_ids(mine))

    for kind in CourseFilterType:
        wanted = [r for r in truth if kind in courses[r["course_mapping_code"]]["filter_types"]]
        assert sorted(_ids(hook.iter_user_courses(type=kind))) == sorted(_ids(wanted)), kind

    combined = [r for r in mine if r["updated_at"] > cut]
    assert sorted(_ids(hook.iter_user_courses(updated_after=cut, user_mapping_code=user))) == sorted(
        _ids(combined)
    )
    without = next(iter(hook.iter_user_courses(modules_data=False)))
    assert "modules" not in without or not without["modules"]
    assert "modules" in next(iter(hook.iter_user_courses()))


def test_updated_after_is_sent_as_updated_at(hook: SmartArenaHook, scripted: Any, make_hook: Any) -> None:
    from .scripted import Reply, connection_json

    server = scripted(lambda request: Reply(200, []))
    other = make_hook(connection_json(server.url, timezone="Europe/Ljubljana"))
    list(other.iter_user_courses(updated_after=dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC), type="market"))
    (request,) = server.api_requests()
    assert request.query == {
        "updated_at": "2025-01-01 13:00:00",
        "type": "254",
        "modules_data": "1",
        "page": "1",
    }


@pytest.mark.parametrize("envelope", ["laravel", "data", "list"])
def test_each_envelope(hook: SmartArenaHook, fresh_sandbox: Any, envelope: str) -> None:
    fresh_sandbox.set_faults(envelope=envelope)
    truth = fresh_sandbox.state("usercourses")
    assert _ids(hook.iter_user_courses()) == _ids(truth)
    assert sorted(_ids(hook.get_courses())) == sorted(c["id"] for c in fresh_sandbox.state("courses"))
    # Non-paged listings too, even where the server starts paginating them (laravel: 100 a page).
    fresh_sandbox.set_faults(page_size=7)
    users = hook.get_users()
    assert sorted(u["mapping_code"] for u in users) == sorted(
        u["mapping_code"] for u in fresh_sandbox.state("users")
    )


def test_no_metadata_stops_on_a_short_page(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    fresh_sandbox.set_faults(envelope="list")
    fresh_sandbox.reset_stats()
    assert len(list(hook.iter_user_courses())) == 500
    # 100, 100, 100, 100, 100 then an empty page 6: the only way to learn the end without metadata.
    assert fresh_sandbox.stats()["by_route"]["GET /api/usercourses"] == 6
    fresh_sandbox.set_faults(page_size=30)
    fresh_sandbox.reset_stats()
    assert len(list(hook.iter_user_courses())) == 500
    assert fresh_sandbox.stats()["by_route"]["GET /api/usercourses"] == 17  # 16 full, 1 short of 20


def test_concurrent_paging_equals_sequential(fresh_sandbox: Any, make_hook: Any) -> None:
    fresh_sandbox.set_faults(page_size=17)
    hook = make_hook(fresh_sandbox.connection_json())
    sequential = [(p.number, _ids(p.records)) for p in hook.iter_user_course_pages()]
    concurrent = [(p.number, _ids(p.records)) for p in hook.iter_user_course_pages(max_concurrency=6)]
    assert concurrent == sequential
    assert [n for n, _ in concurrent] == list(range(1, 31))


def test_concurrent_paging_overlaps_requests_on_a_slow_server(
    fresh_sandbox: Any, make_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Overlap is measured by requests in flight, not by wall time: timings flake on a loaded machine.
    fresh_sandbox.set_faults(page_size=50, latency_ms=60)
    hook = make_hook(fresh_sandbox.connection_json())
    hook.get_locations()  # token first, so only page requests are counted below
    # Counted where every request goes out, whichever layer above it sends.
    send = urllib3.connectionpool.HTTPConnectionPool.urlopen
    lock = threading.Lock()
    in_flight = peak = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return send(*args, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", counting)

    def peak_in_flight(concurrency: int) -> int:
        nonlocal peak
        peak = 0
        assert len(list(hook.iter_user_course_pages(max_concurrency=concurrency))) == 10
        return peak

    assert peak_in_flight(1) == 1
    assert peak_in_flight(8) > 1


def test_concurrent_paging_holds_a_bounded_number_of_pages(fresh_sandbox: Any, make_hook: Any) -> None:
    fresh_sandbox.set_faults(page_size=10)
    hook = make_hook(fresh_sandbox.connection_json())
    fresh_sandbox.reset_stats()
    pages = hook.iter_user_course_pages(max_concurrency=4)
    first = next(pages)
    second = next(pages)
    time.sleep(0.3)  # let the pool run ahead if it would
    fetched = fresh_sandbox.stats()["by_route"]["GET /api/usercourses"]
    assert (first.number, second.number) == (1, 2)
    assert fetched <= 1 + 1 + 2 * 4  # page 1, the yielded page 2, and at most twice 4 ahead
    pages.close()


def test_token_expiry_mid_stream(fresh_sandbox: Any, make_hook: Any) -> None:
    fresh_sandbox.set_faults(token_ttl=1, page_size=20, latency_ms=20)
    hook = make_hook(fresh_sandbox.connection_json())
    truth = fresh_sandbox.state("usercourses")
    records = []
    for page in hook.iter_user_course_pages():
        records.extend(page.records)
        time.sleep(0.1)  # a slow consumer: the stream outlives several tokens
    _exactly_once(records, truth)
    stats = fresh_sandbox.stats()
    assert stats["token_requests"] >= 3
    # Renewed ahead of expiry, so hardly any request is refused.
    assert stats["by_status"].get("401", 0) <= 1


def test_token_revoked_mid_stream_is_renewed_once_and_resent(fresh_sandbox: Any, make_hook: Any) -> None:
    fresh_sandbox.set_faults(page_size=50)
    hook = make_hook(fresh_sandbox.connection_json())
    truth = fresh_sandbox.state("usercourses")
    records: list[dict[str, Any]] = []
    for page in hook.iter_user_course_pages():
        records.extend(page.records)
        if page.number == 3:
            fresh_sandbox.revoke_tokens()
    _exactly_once(records, truth)
    stats = fresh_sandbox.stats()
    assert stats["token_requests"] == 2
    assert stats["by_status"]["401"] == 1


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 0.3},
        {"rate_limit_rate": 0.3, "retry_after": "0"},
        {"drop_rate": 0.3},
        {"error_rate": 0.15, "rate_limit_rate": 0.1, "drop_rate": 0.1, "retry_after": "garbage"},
    ],
    ids=["5xx", "429", "drops", "mixed"],
)
def test_faults_mid_stream_lose_and_duplicate_nothing(
    fresh_sandbox: Any, make_hook: Any, faults: dict[str, Any]
) -> None:
    truth = fresh_sandbox.state("usercourses")
    fresh_sandbox.set_faults(page_size=25, seed=11, **faults)
    hook = make_hook(fresh_sandbox.connection_json(max_retries=12))
    records = list(hook.iter_user_courses())
    _exactly_once(records, truth)
    assert _ids(records) == _ids(truth)
    assert sum(fresh_sandbox.stats()["faults"].values()) > 0


def test_faults_with_concurrent_paging(fresh_sandbox: Any, make_hook: Any) -> None:
    truth = fresh_sandbox.state("usercourses")
    fresh_sandbox.set_faults(page_size=20, seed=5, error_rate=0.2, drop_rate=0.1)
    hook = make_hook(fresh_sandbox.connection_json(max_retries=12))
    records = [r for p in hook.iter_user_course_pages(max_concurrency=5) for r in p.records]
    assert _ids(records) == _ids(truth)


def test_one_token_for_sixteen_threads(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    fresh_sandbox.reset_stats()
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def work(index: int) -> None:
        try:
            barrier.wait()
            for n in range(15):
                hook.get_user(f"u-{(index * 15 + n) % 50 + 1:05d}")
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = fresh_sandbox.stats()
    assert stats["token_requests"] == 1
    assert stats["by_route"]["GET /api/users"] == 16 * 15


def test_paged_listing_of_a_non_paged_endpoint(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    fresh_sandbox.set_faults(envelope="laravel", page_size=9)
    fresh_sandbox.reset_stats()
    pages = list(hook.iter_pages(USERS.list))
    assert [len(p.records) for p in pages] == [9] * 5 + [5]
    # The first request has no page parameter, the server paginated anyway: followed with page=2..
    assert fresh_sandbox.stats()["by_route"]["GET /api/users"] == 6
