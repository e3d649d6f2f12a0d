"""``smartarena-sandbox --live RATE``: learners progress on their own, deterministically per seed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_smartarena.sandbox.cli import config_from_args
from airflow_provider_smartarena.sandbox.config import SeedSizes
from airflow_provider_smartarena.sandbox.courses import enrol
from airflow_provider_smartarena.sandbox.seed import seed_store
from airflow_provider_smartarena.sandbox.simulate import LiveActivity
from airflow_provider_smartarena.sandbox.testing import run_sandbox

from .conftest import Api

SIZES = SeedSizes(seed=5, users=40, courses=6, activities=150)


def _walk(steps: int) -> tuple[list[list[dict[str, Any]]], int]:
    store = seed_store(SIZES)
    live = LiveActivity(rate=3, seed=SIZES.seed)
    live.step(store, 1_000, seconds=0)  # start-up: what exists now is the seeded history
    user = next(iter(store.users))
    course = next(cid for cid in store.courses if store.activity_for(user, cid) is None)
    fresh = enrol(store, user, course, 1_000)
    history: list[list[dict[str, Any]]] = []
    finished_at = -1
    for n in range(1, steps + 1):
        history.append(live.step(store, 1_000 + n, seconds=1))
        if finished_at < 0 and fresh.status >= 2:
            finished_at = n
    return history, finished_at


def test_a_learner_enrolled_after_start_up_finishes_within_a_minute_at_three_changes_a_second() -> None:
    history, finished_at = _walk(60)
    assert 0 < finished_at <= 60, "the fresh enrolment never finished"
    assert all(len(changes) == 3 for changes in history)


def test_the_same_seed_makes_the_same_changes() -> None:
    assert _walk(20)[0] == _walk(20)[0]


def test_fractional_rates_carry_over() -> None:
    store = seed_store(SIZES)
    live = LiveActivity(rate=0.5, seed=1)
    counts = [len(live.step(store, 2_000 + n, seconds=1)) for n in range(6)]
    assert counts == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("rate", ["-1", "nan", "5000"])
def test_bad_rates_are_refused_naming_the_flag(rate: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config_from_args(["--live", rate])
    assert "--live must be between 0 and 1000" in capsys.readouterr().err


def test_a_live_sandbox_moves_updated_at_and_finishes_a_new_enrolment_by_itself() -> None:
    with run_sandbox(seed=3, users=10, courses=3, activities=10, live=20) as sandbox:
        api = Api(sandbox)
        user = sandbox.state("users")[0]["mapping_code"]
        course = sandbox.state("courses")[-1]["mapping_code"]
        api.ok(api.post("/api/courses/addusers", {"mapping_code": course, "users_mapping_codes": [user]}))
        deadline = time.monotonic() + 30
        mine: dict[str, object] = {}
        while time.monotonic() < deadline:
            activities = sandbox.state("usercourses", modules_data=False)
            mine = next(
                a for a in activities if (a["user_mapping_code"], a["course_mapping_code"]) == (user, course)
            )
            if int(str(mine["status"])) >= 2:
                break
            time.sleep(0.5)
        assert int(str(mine["status"])) >= 2, mine
        assert mine["updated_at"] != mine["created_at"]
