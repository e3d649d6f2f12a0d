"""Deterministic seeded data: the same seed and sizes always give the same store, timestamps included.

The seeded history is anchored on a fixed epoch (``SeedSizes.epoch``, read as UTC), not on the wall
clock: every seeded ``created_at``/``updated_at`` lies before it, so ground truth is reproducible.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_smartarena.sandbox import seed_names as words
from airflow_provider_smartarena.sandbox.config import SeedSizes
from airflow_provider_smartarena.sandbox.store import Activity, Store

ROOT_BRANCH = "root"
ROOT_QUALIFICATION = "root"
DAY = 86400
ROLE_SETS = ((6,),) * 14 + ((4, 6), (11, 6), (3,), (9, 12), (15, 6), (6, 9))
LANGUAGE_WEIGHTS = ((3, 60), (1, 30), (39, 7), (8, 3))
STATUS_WEIGHTS = ((0, 20), (1, 30), (2, 30), (3, 12), (4, 8))
COURSE_TYPES = (1, 1, 1, 2, 3)  # e-courses are the most common


def epoch_seconds(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def day_string(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-")).lower()


def weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def seed_store(sizes: SeedSizes) -> Store:
    """Build a fresh store from ``sizes`` (changes are not tracked: persistence writes it whole)."""
    store = Store()
    store.track_changes = False
    rng = random.Random(sizes.seed)
    end = epoch_seconds(sizes.epoch)
    _seed_branches(store, rng, sizes.branches, end)
    _seed_named(store, "locations", "loc", words.CITIES, rng, sizes.locations, end)
    _seed_named(store, "workplaces", "wp", words.JOBS, rng, sizes.workplaces, end)
    _seed_qualifications(store, rng, sizes.qualifications, end)
    _seed_content(store, rng, sizes.content, end)
    _seed_categories(store)
    _seed_users(store, rng, sizes.users, end)
    _seed_courses(store, rng, sizes.courses, end)
    _seed_activities(store, rng, sizes.activities, end)
    store.meta = {"seed": sizes.seed, "epoch": sizes.epoch, "ticks": 0}
    store.track_changes = True
    return store


def _times(rng: random.Random, start: int, end: int) -> tuple[int, int]:
    created = rng.randint(start, max(start, end))
    return created, rng.randint(created, max(created, end))


def _tree_parent(rng: random.Random, existing: list[tuple[str, int]], root: str) -> tuple[str, int]:
    """Pick a parent (code, depth): top-level units first, then deeper units up to depth 4."""
    top = [item for item in existing if item[1] == 1]
    if len(top) < max(2, len(existing) // 4):
        return root, 0
    candidates = [item for item in existing if item[1] < 4]
    return rng.choice(candidates)


def _seed_branches(store: Store, rng: random.Random, count: int, end: int) -> None:
    start = end - 6 * 365 * DAY
    store.put("branches", ROOT_BRANCH, _org_row(ROOT_BRANCH, "Organizacija d.o.o.", None, start, start))
    existing: list[tuple[str, int]] = []
    for number in range(1, count + 1):
        code = f"br-{number:03d}"
        parent, depth = _tree_parent(rng, existing, ROOT_BRANCH)
        name = rng.choice(words.DIVISIONS) if depth == 0 else f"{rng.choice(words.UNITS)} {number}"
        store.put("branches", code, _org_row(code, name, parent, *_times(rng, start, end - 365 * DAY)))
        existing.append((code, depth + 1))


def _seed_qualifications(store: Store, rng: random.Random, count: int, end: int) -> None:
    start = end - 6 * 365 * DAY
    root = _org_row(ROOT_QUALIFICATION, "Vse kvalifikacije", None, start, start)
    store.put("qualifications", ROOT_QUALIFICATION, root)
    existing: list[tuple[str, int]] = []
    for number in range(1, count + 1):
        code = f"qg-{number:03d}"
        parent, _depth = _tree_parent(rng, existing, ROOT_QUALIFICATION)
        name = words.QUALIFICATION_GROUPS[(number - 1) % len(words.QUALIFICATION_GROUPS)]
        row = _org_row(code, name, parent, *_times(rng, start, end - 365 * DAY))
        store.put("qualifications", code, row)
        existing.append((code, _depth + 1))


def _org_row(code: str, name: str, parent: str | None, created: int, updated: int) -> dict[str, Any]:
    return {
        "mapping_code": code,
        "name": name,
        "parent_mapping_code": parent,
        "created_at": created,
        "updated_at": updated,
    }


def _seed_named(
    store: Store, kind: str, prefix: str, names: tuple[str, ...], rng: random.Random, count: int, end: int
) -> None:
    start = end - 5 * 365 * DAY
    for number in range(1, count + 1):
        base = names[(number - 1) % len(names)]
        name = base if number <= len(names) else f"{base} {number // len(names) + 1}"
        created, updated = _times(rng, start, end - 365 * DAY)
        code = f"{prefix}-{number:03d}"
        row = {
            "mapping_code": code,
            "name": name,
            "created_at": created,
            "updated_at": updated,
        }
        store.put(kind, code, row)


def _seed_content(store: Store, rng: random.Random, count: int, end: int) -> None:
    for _ in range(count):
        content_id = store.next_id("content")
        topic = words.TOPICS[(content_id - 1) % len(words.TOPICS)]
        minutes = rng.randint(10, 600)
        store.put(
            "content",
            content_id,
            {
                "id": content_id,
                "title": topic if content_id <= len(words.TOPICS) else f"{topic} ({content_id})",
                "description": f"{topic}: celovit tečaj z vajami in preverjanjem znanja.",
                "short_description": f"Kratek pregled: {topic}.",
                "is_published": 1 if rng.random() < 0.85 else 0,
                "duration_hour": minutes // 60,
                "duration_minute": minutes % 60,
                "publish_date": rng.randint(end - 4 * 365 * DAY, end - 30 * DAY),
                "content_requirements": rng.choice((None, "Brez predznanja.", "Basic computer skills.")),
                "content_goals": f"Udeleženec pozna osnove: {topic}.",
                "target_audience": rng.choice(("Vsi zaposleni", "Managers", "New employees", "IT")),
                "step_count": rng.randint(1, 12),
                "public": 1 if rng.random() < 0.4 else 0,
            },
        )


def _seed_categories(store: Store) -> None:
    for parent_name, children in words.CATEGORIES:
        parent_id = store.next_id("categories")
        parent_code = "cat-" + ascii_fold(parent_name.replace(" ", "-"))
        store.put("categories", parent_id, _category(parent_id, parent_code, parent_name, None))
        for child_name in children:
            child_id = store.next_id("categories")
            child_code = f"{parent_code}-{ascii_fold(child_name.replace(' ', '-'))}"
            store.put("categories", child_id, _category(child_id, child_code, child_name, parent_id))


def _category(category_id: int, code: str, name: str, parent_id: int | None) -> dict[str, Any]:
    return {"id": category_id, "mapping_code": code, "name": name, "parent_id": parent_id}


def _seed_users(store: Store, rng: random.Random, count: int, end: int) -> None:
    branches = [code for code in store.branches if code != ROOT_BRANCH] or [ROOT_BRANCH]
    locations, workplaces = list(store.locations), list(store.workplaces)
    taken: set[str] = set()
    start = end - 3 * 365 * DAY
    for number in range(1, count + 1):
        slovenian = rng.random() < 0.7
        first = rng.choice(words.SLOVENIAN_FIRST if slovenian else words.ENGLISH_FIRST)
        last = rng.choice(words.SLOVENIAN_LAST if slovenian else words.ENGLISH_LAST)
        local = _unique_local(f"{ascii_fold(first)}.{ascii_fold(last)}", taken)
        created, updated = _times(rng, start, end - 2 * 365 * DAY)
        updated = rng.randint(created, end - DAY)
        inactive = rng.random() < 0.02
        store.put_user(
            {
                "mapping_code": f"u-{number:05d}",
                "username": local,
                "email": f"{local}@{'podjetje.si' if slovenian else 'example.com'}",
                "firstname": first,
                "lastname": last,
                "date_of_birth": None if rng.random() < 0.05 else _birth_date(rng),
                "branch_mapping_code": rng.choice(branches),
                "location_mapping_code": rng.choice(locations) if locations and rng.random() < 0.9 else None,
                "workplace_mapping_code": rng.choice(workplaces)
                if workplaces and rng.random() < 0.85
                else None,
                "language_code": weighted(rng, LANGUAGE_WEIGHTS),
                "roles": list(rng.choice(ROLE_SETS)),
                "synch_protected": 1 if rng.random() < 0.03 else 0,
                "register_mail": 0,
                "has_password": 1,
                "active": 0 if inactive else 1,
                "deleted_at": updated if inactive else None,
                "created_at": created,
                "updated_at": updated,
            },
        )


def _unique_local(base: str, taken: set[str]) -> str:
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}{suffix}"
    taken.add(candidate)
    return candidate


def _birth_date(rng: random.Random) -> str:
    day = datetime(1960, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 44 * 365))
    return day.strftime("%Y-%m-%d")


def _seed_courses(store: Store, rng: random.Random, count: int, end: int) -> None:
    child_categories = [c["id"] for c in store.categories.values() if c["parent_id"] is not None]
    qualifications = [code for code in store.qualifications if code != ROOT_QUALIFICATION]
    instructors = [u["mapping_code"] for u in store.users.values() if u["active"]]
    content_ids = list(store.content)
    curricula: list[int] = []
    for number in range(1, count + 1):
        course_id = store.next_id("courses")
        # The first courses cover every type and category so that each filter has something to find.
        course_type = (1, 2, 3, 1, 1)[number - 1] if number <= 5 else rng.choice(COURSE_TYPES)
        market = number == 4 or (number > 5 and rng.random() < 0.15)
        curriculum = number == 5 or (number > 5 and rng.random() < 0.12)
        start_day = rng.randint(end - 700 * DAY, end - 10 * DAY)
        created = start_day - rng.randint(1, 30) * DAY
        live = course_type in (2, 3)
        course = {
            "id": course_id,
            "mapping_code": f"c-{number:04d}",
            "title": rng.choice(words.TOPICS) + rng.choice(words.COURSE_VARIANTS),
            "start_date": day_string(start_day),
            "end_date": day_string(start_day + rng.randint(30, 365) * DAY) if rng.random() < 0.6 else None,
            "type": course_type,
            "assessment_on_end": 1 if rng.random() < 0.5 else 0,
            "number_of_attempts": rng.choice((None, 1, 2, 3, 5)),
            "assessment_show_questions_at_end": 1 if rng.random() < 0.3 else 0,
            "mandatory_time": rng.choice((None, 0, 30, 60, 120)),
            "prerequired_content": None,
            "content_id": rng.choice(content_ids)
            if content_ids and (not live or rng.random() < 0.5)
            else None,
            "confirmation_of_completion": 1 if rng.random() < 0.4 else 0,
            "access_days_from_enrollment": rng.choice((None, None, 30, 90, 365)),
            "course_category_id": rng.choice(child_categories),
            "qualification_mapping_code": rng.choice(qualifications)
            if qualifications and rng.random() < 0.7
            else None,
            "instructor_mapping_code": rng.choice(instructors) if live and instructors else None,
            "market": 1 if market else 0,
            "curriculum": 1 if curriculum else 0,
            "parent_course_id": rng.choice(curricula)
            if curricula and not curriculum and rng.random() < 0.3
            else None,
            "archived": 1 if number > 5 and rng.random() < 0.1 else 0,
            "live_sessions": _live_sessions(rng, course_id, start_day) if live else [],
            "created_at": created,
            "updated_at": rng.randint(created, end - DAY),
        }
        if curriculum:
            curricula.append(course_id)
        store.put_course(course)


def _live_sessions(rng: random.Random, course_id: int, start_day: int) -> list[dict[str, Any]]:
    sessions = []
    midnight = start_day - start_day % DAY
    for index in range(rng.randint(1, 4)):
        begin = midnight + index * 7 * DAY + rng.choice((7, 8, 12)) * 3600  # 08:00, 09:00, 13:00 CET
        sessions.append(
            {
                "id": course_id * 100 + index + 1,
                "title": f"Termin {index + 1}",
                "start_datetime": begin,
                "end_datetime": begin + rng.choice((2, 4, 8)) * 3600,
                "location": rng.choice(words.CITIES),
            }
        )
    return sessions


def _seed_activities(store: Store, rng: random.Random, count: int, end: int) -> None:
    users, courses = list(store.users.values()), list(store.courses.values())
    count = min(count, len(users) * len(courses))
    drafts = []
    for pair in rng.sample(range(len(users) * len(courses)), count):
        user, course = users[pair // len(courses)], courses[pair % len(courses)]
        earliest = max(user["created_at"], course["created_at"])
        drafts.append(_activity_draft(rng, user["mapping_code"], course["id"], earliest, end))
    drafts.sort(key=lambda d: (d["created_at"], d["user_code"], d["course_id"]))
    for draft in drafts:
        activity = Activity(id=store.next_id("activities"), **draft)
        store.activities[activity.id] = activity
    store.rebuild_indexes()


def _activity_draft(
    rng: random.Random, user_code: str, course_id: int, earliest: int, end: int
) -> dict[str, Any]:
    created = rng.randint(earliest, end - 3600)
    status = weighted(rng, STATUS_WEIGHTS)
    date_start = date_completed = None
    progress, score = 0, None
    if status >= 1:
        date_start = rng.randint(created, min(end, created + 30 * DAY))
        progress = rng.randint(1, 99)
    if status >= 2:
        date_completed = rng.randint(date_start or created, min(end, (date_start or created) + 60 * DAY))
        progress, score = 100, rng.randint(50, 100)
    last = date_completed or date_start or created
    return {
        "user_code": user_code,
        "course_id": course_id,
        "status": status,
        "progress": progress,
        "score": score,
        "time_on_course": progress * rng.randint(20, 90),
        "created_at": created,
        "updated_at": last,
        "date_start": date_start,
        "date_completed": date_completed,
    }
