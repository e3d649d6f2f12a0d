"""Learning events for /_sandbox/tick: starts, progress, completions, certificates, new enrolments.

Each tick uses its own RNG seeded from the data seed and the tick number, so the same sequence of
ticks on the same seeded data makes the same changes. Changed activities get ``updated_at`` = the
sandbox now (or now + ``future_seconds``, to model rows dated in the future).
"""

from __future__ import annotations

import random
from typing import Any

from airflow_provider_smartarena.sandbox.courses import enrol
from airflow_provider_smartarena.sandbox.store import Activity, Store

EVENTS = (
    ("start", 25),
    ("progress", 30),
    ("complete", 20),
    ("certify", 5),
    ("conditions_met", 5),
    ("enrol", 15),
)
WANTED_STATUS = {"start": 0, "progress": 1, "complete": 1, "certify": 2, "conditions_met": 1}
ATTEMPTS = 30


def tick(store: Store, changes: int, stamp: int) -> list[dict[str, Any]]:
    """Apply ``changes`` events stamped ``stamp``; returns one description per change."""
    ticks = int(store.meta.get("ticks", 0)) + 1
    store.meta["ticks"] = ticks
    store.mark("meta", "meta")
    rng = random.Random(f"{store.meta.get('seed', 0)}:{ticks}")
    ids = list(store.activities)
    users = [code for code, user in store.users.items() if user["active"]]
    courses = [cid for cid, course in store.courses.items() if not course["archived"]]
    events, weights = zip(*EVENTS, strict=True)
    changed: list[dict[str, Any]] = []
    for _ in range(changes):
        event = rng.choices(events, weights)[0]
        if event == "enrol":
            result = _enrol(store, rng, users, courses, stamp)
        else:
            result = _advance(store, rng, ids, event, stamp)
        if result is None:  # nothing fitted that event: fall back to a new enrolment, then any touch
            result = _enrol(store, rng, users, courses, stamp) or _touch(store, rng, ids, stamp)
        if result is None:
            break
        activity, name = result
        if name == "enrol":
            ids.append(activity.id)
        changed.append(_describe(store, activity, name))
    return changed


def _eligible(store: Store, activity: Activity) -> bool:
    return (
        bool(store.users[activity.user_code]["active"]) and not store.courses[activity.course_id]["archived"]
    )


def _advance(
    store: Store, rng: random.Random, ids: list[int], event: str, stamp: int
) -> tuple[Activity, str] | None:
    if not ids:
        return None
    for _ in range(ATTEMPTS):
        activity = store.activities[rng.choice(ids)]
        if activity.status == WANTED_STATUS[event] and _eligible(store, activity):
            _apply(activity, event, rng, stamp)
            store.touch_activity(activity, stamp)
            return activity, event
    return None


def _apply(activity: Activity, event: str, rng: random.Random, stamp: int) -> None:
    if event == "start":
        activity.status, activity.date_start = 1, stamp
        activity.progress = rng.randint(1, 30)
    elif event == "progress":
        activity.progress = min(99, activity.progress + rng.randint(1, 40))
    elif event in ("complete", "conditions_met"):
        activity.status = 2 if event == "complete" else 4
        activity.progress, activity.date_completed = 100, stamp
        activity.score = rng.randint(50, 100)
        activity.date_start = activity.date_start or stamp
    elif event == "certify":
        activity.status = 3
    activity.time_on_course += rng.randint(60, 1800)


def _enrol(
    store: Store, rng: random.Random, users: list[str], courses: list[int], stamp: int
) -> tuple[Activity, str] | None:
    if not users or not courses:
        return None
    for _ in range(ATTEMPTS):
        user_code, course_id = rng.choice(users), rng.choice(courses)
        if store.activity_for(user_code, course_id) is None:
            return enrol(store, user_code, course_id, stamp), "enrol"
    return None


def _touch(store: Store, rng: random.Random, ids: list[int], stamp: int) -> tuple[Activity, str] | None:
    if not ids:
        return None
    activity = store.activities[rng.choice(ids)]
    activity.time_on_course += rng.randint(60, 600)
    store.touch_activity(activity, stamp)
    return activity, "time"


def _describe(store: Store, activity: Activity, event: str) -> dict[str, Any]:
    return {
        "id": activity.id,
        "event": event,
        "user_mapping_code": activity.user_code,
        "course_mapping_code": store.courses[activity.course_id]["mapping_code"],
        "status": activity.status,
        "progress": activity.progress,
        "updated_at": activity.updated_at,
    }


# ---- live mode (``smartarena-sandbox --live RATE``) ---------------------------------------------
# Activities enrolled while the sandbox runs (by a DAG, say) get half of the live events, so a
# learner someone is waiting for finishes within minutes instead of competing with every seeded row.
LIVE_FOCUS = 0.5
FINISH_AT = 60  # a started fresh activity at this progress or more is completed on its next step


class LiveActivity:
    """Learners starting, progressing and finishing courses on their own, ``rate`` changes a second.

    One RNG seeded from the data seed drives every step, so the same requests at the same moments
    give the same changes. Activities created after start-up (``fresh``) walk not started ->
    started -> progressing -> finished; the other half of the events are the ordinary tick events.

    :param rate: changes a second (a fraction is carried over to the next second).
    :param seed: the data seed, which seeds the live RNG.
    """

    def __init__(self, rate: float, seed: int) -> None:
        if rate < 0:
            raise ValueError(f"live rate must not be negative, got {rate!r}")
        self.rate = rate
        self.rng = random.Random(f"{seed}:live")
        self._carry = 0.0
        self._fresh_after: dict[int, int] = {}  # id(store) -> last activity id seeded before live

    def step(self, store: Store, stamp: int, seconds: float = 1.0) -> list[dict[str, Any]]:
        """Apply the changes due after ``seconds`` at time ``stamp``; one description per change."""
        # The first step on a store (``seconds=0`` at start-up, or after a reset replaced the store)
        # fixes what counts as fresh: every activity created after it.
        base = self._fresh_after.setdefault(id(store), max(store.activities, default=0))
        self._carry += self.rate * seconds
        changes = int(self._carry)
        self._carry -= changes
        if not changes:
            return []
        changed: list[dict[str, Any]] = []
        for _ in range(changes):
            result = None
            if self.rng.random() < LIVE_FOCUS:
                result = self._advance_fresh(store, base, stamp)
            if result is None:
                result = self._background(store, stamp)
            if result is None:
                break
            changed.append(_describe(store, result[0], result[1]))
        return changed

    def _advance_fresh(self, store: Store, base: int, stamp: int) -> tuple[Activity, str] | None:
        fresh = []
        for activity_id in reversed(store.activities):  # newest first; ids only grow
            if activity_id <= base:
                break
            activity = store.activities[activity_id]
            if activity.status in (0, 1) and _eligible(store, activity):
                fresh.append(activity)
        if not fresh:
            return None
        activity = self.rng.choice(fresh)
        if activity.status == 0:
            event = "start"
        elif activity.progress >= FINISH_AT:
            event = "complete"
        else:
            event = "progress"
        _apply(activity, event, self.rng, stamp)
        store.touch_activity(activity, stamp)
        return activity, event

    def _background(self, store: Store, stamp: int) -> tuple[Activity, str] | None:
        ids = list(store.activities)
        users = [code for code, user in store.users.items() if user["active"]]
        courses = [cid for cid, course in store.courses.items() if not course["archived"]]
        events, weights = zip(*EVENTS, strict=True)
        event = self.rng.choices(events, weights)[0]
        if event == "enrol":
            return _enrol(store, self.rng, users, courses, stamp)
        return _advance(store, self.rng, ids, event, stamp) or _touch(store, self.rng, ids, stamp)
