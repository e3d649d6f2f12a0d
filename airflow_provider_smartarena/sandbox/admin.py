"""The admin API under /_sandbox/ (no token, never faulted): ground truth, tick, stats, faults, reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.sandbox import render
from airflow_provider_smartarena.sandbox.clock import format_datetime, parse_datetime
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.errors import ApiError, invalid, invalid_field
from airflow_provider_smartarena.sandbox.faults import FaultError
from airflow_provider_smartarena.sandbox.render import ActivityRenderer
from airflow_provider_smartarena.sandbox.seed import epoch_seconds
from airflow_provider_smartarena.sandbox.simulate import tick
from airflow_provider_smartarena.sandbox.store import ORG_KINDS
from airflow_provider_smartarena.sandbox.validation import as_flag, as_int

Handler = Callable[[Call], tuple[int, Any]]
RESOURCES = (*ORG_KINDS, "content", "course_categories", "courses", "usercourses")
MAX_TICK_CHANGES = 100_000


def health(call: Call) -> tuple[int, Any]:
    return 200, {"status": "ok"}


def info(call: Call) -> tuple[int, Any]:
    config, state = call.state.config, call.state
    return 200, {
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "sizes": vars(state.sizes),
        "db": config.db,
        "loaded_from_db": state.loaded_from_db,
        "now": format_datetime(call.now(), call.zone),
        "timezone": state.faults.current.timezone,
    }


def state(call: Call) -> tuple[int, Any]:
    """Every record of every resource, with internal fields, for test oracles.

    ``?resource=a,b`` limits the resources, ``?fields=x,y`` the fields of each record and
    ``?modules_data=0`` leaves the activities' modules out (all three make big exports faster).
    """
    wanted = call.params.get("resource")
    names = RESOURCES if wanted is None else tuple(str(wanted).split(","))
    unknown = [n for n in names if n not in RESOURCES]
    if unknown:
        raise invalid_field("resource", f"Unknown resource(s) {unknown}; known: {', '.join(RESOURCES)}.")
    modules = as_flag(call.params.get("modules_data", 1)) != 0
    body: dict[str, Any] = {
        "now": format_datetime(call.now(), call.zone),
        "timezone": call.state.faults.current.timezone,
    }
    fields = [f for f in str(call.params.get("fields") or "").split(",") if f]
    for name in names:
        if name == "usercourses" and fields:
            to_json = ActivityRenderer(call.store, call.zone, call.now(), modules=modules)
            activities = call.store.activities
            body[name] = [to_json.project(activities[i], fields) for _, i in call.store.timeline]
            continue
        rows = _dump(call, name, modules)
        body[name] = [{f: row.get(f) for f in fields} for row in rows] if fields else rows
    return 200, body


def _dump(call: Call, name: str, modules: bool) -> list[dict[str, Any]]:
    store, zone = call.store, call.zone
    if name == "users":
        return [_user_truth(u, zone) for u in store.users.values()]
    if name in ("branches", "qualifications"):
        return [render.tree_node(r, zone) for r in store.org(name).values()]
    if name in ("locations", "workplaces"):
        return [render.named(r, zone) for r in store.org(name).values()]
    if name == "content":
        return [{**render.content(c, zone), "public": c["public"]} for c in store.content.values()]
    if name == "course_categories":
        return list(store.categories.values())
    if name == "courses":
        return [_course_truth(call, c) for c in sorted(store.courses.values(), key=lambda c: c["id"])]
    to_json = ActivityRenderer(store, zone, call.now(), modules=modules)
    return [to_json(store.activities[activity_id]) for _, activity_id in store.timeline]


def _user_truth(record: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    extra = {"register_mail": record["register_mail"], "has_password": record["has_password"]}
    return {**render.user(record, zone), **extra}


def _course_truth(call: Call, course: dict[str, Any]) -> dict[str, Any]:
    parent = call.store.courses.get(course["parent_course_id"] or 0)
    return {
        **render.course(call.store, course, call.zone),
        "market": course["market"],
        "curriculum": course["curriculum"],
        "filter_types": render.filter_types(course),
        "parent_course_mapping_code": parent["mapping_code"] if parent else None,
    }


def do_tick(call: Call) -> tuple[int, Any]:
    """Simulate ``changes`` learning events after advancing the clock by ``advance_seconds``."""
    params = call.params
    changes = _int_param(params, "changes", 1, 0, MAX_TICK_CHANGES)
    advance = _int_param(params, "advance_seconds", 0, 0, None)
    future = _int_param(params, "future_seconds", 0, 0, None)
    call.state.clock.advance(advance)
    now = call.now()
    changed = tick(call.store, changes, now + future)
    zone = call.zone
    for item in changed:
        item["updated_at"] = format_datetime(item["updated_at"], zone)
    return 200, {"now": format_datetime(now, zone), "count": len(changed), "changes": changed}


def _int_param(params: dict[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = params.get(name, default)
    number = as_int(value if value is not None else default)
    if number is None or number < low or (high is not None and number > high):
        bound = f" and at most {high}" if high is not None else ""
        raise invalid_field(name, f"The {name} field must be an integer of at least {low}{bound}.")
    return number


def get_stats(call: Call) -> tuple[int, Any]:
    return 200, call.state.stats.snapshot()


def reset_stats(call: Call) -> tuple[int, Any]:
    call.state.stats.reset()
    return 200, call.state.stats.snapshot()


def get_faults(call: Call) -> tuple[int, Any]:
    return 200, call.state.faults.public()


def put_faults(call: Call) -> tuple[int, Any]:
    try:
        call.state.faults.update(call.params)
    except FaultError as exc:
        raise invalid({name: [message] for name, message in exc.errors.items()}) from exc
    return 200, call.state.faults.public()


def reset(call: Call) -> tuple[int, Any]:
    """Re-seed (sizes default to the process's start values) and reset faults, stats and clock."""
    changes: dict[str, Any] = {}
    for name, value in call.params.items():
        if name == "epoch":
            try:
                epoch_seconds(value)
            except (TypeError, ValueError) as exc:
                raise invalid_field("epoch", "The epoch field must be 'YYYY-MM-DD HH:MM:SS' (UTC).") from exc
            changes[name] = value
            continue
        number = as_int(value)
        if number is None or number < 0:
            raise invalid_field(name, f"The {name} field must be a non-negative integer.")
        changes[name] = number
    try:
        sizes = call.state.config.sizes.replace(**changes)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    call.state.reset(sizes)
    return 200, {"message": "Sandbox reset.", "sizes": vars(sizes), "activities": len(call.store.activities)}


def get_clock(call: Call) -> tuple[int, Any]:
    clock = call.state.clock
    return 200, {"now": format_datetime(call.now(), call.zone), "epoch": clock.now(), "frozen": clock.frozen}


def put_clock(call: Call) -> tuple[int, Any]:
    """``advance_seconds``, or ``now`` ("YYYY-MM-DD HH:MM:SS", server time zone) with ``frozen``."""
    params, clock = call.params, call.state.clock
    frozen = as_flag(params.get("frozen", clock.frozen))
    if frozen is None:
        raise invalid_field("frozen", "The frozen field must be true or false.")
    if params.get("now") is not None:
        epoch = parse_datetime(str(params["now"]), call.zone)
        if epoch is None:
            raise invalid_field("now", "The now field must be 'YYYY-MM-DD HH:MM:SS'.")
        clock.set_now(float(epoch), bool(frozen))
    elif bool(frozen) != clock.frozen:
        clock.set_now(clock.now(), bool(frozen))
    clock.advance(_int_param(params, "advance_seconds", 0, 0, None))
    return get_clock(call)


def revoke_tokens(call: Call) -> tuple[int, Any]:
    return 200, {"revoked": call.state.tokens.revoke_all()}


ADMIN_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/_sandbox/health", health),
    ("GET", "/_sandbox/info", info),
    ("GET", "/_sandbox/state", state),
    ("POST", "/_sandbox/tick", do_tick),
    ("GET", "/_sandbox/stats", get_stats),
    ("POST", "/_sandbox/stats/reset", reset_stats),
    ("GET", "/_sandbox/faults", get_faults),
    ("PUT", "/_sandbox/faults", put_faults),
    ("POST", "/_sandbox/reset", reset),
    ("GET", "/_sandbox/clock", get_clock),
    ("PUT", "/_sandbox/clock", put_clock),
    ("POST", "/_sandbox/tokens/revoke", revoke_tokens),
)
