"""/api/usercourses: activities ordered by (updated_at, id), the updated_at filter strictly after.

With only ``updated_at`` and ``page`` the answer is a bisection into the sorted timeline plus a slice
(no scan); the other filters scan the activities after the ``updated_at`` cut.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_smartarena.sandbox import render, rules
from airflow_provider_smartarena.sandbox.endpoint import Call
from airflow_provider_smartarena.sandbox.paging import paginate
from airflow_provider_smartarena.sandbox.render import ActivityRenderer
from airflow_provider_smartarena.sandbox.store import Store


def list_user_courses(call: Call) -> tuple[int, Any]:
    query = call.valid(rules.USERCOURSES_GET)
    store = call.store
    renderer = ActivityRenderer(
        store,
        call.zone,
        call.now(),
        modules=query.get("modules_data", 1) == 1,
        iso=call.state.faults.current.iso_datetimes,
    )
    activities = store.activities
    ids = matching_ids(store, query)
    if ids is None:  # the hot path: a slice of the timeline
        timeline, start = store.timeline, store.timeline_start(query.get("updated_at"))
        total = len(timeline) - start

        def fetch(first: int, stop: int) -> list[Any]:
            return [
                renderer.encoded(activities[entry[1]]) for entry in timeline[start + first : start + stop]
            ]

    else:
        total = len(ids)

        def fetch(first: int, stop: int) -> list[Any]:
            return [renderer.encoded(activities[activity_id]) for activity_id in ids[first:stop]]

    return 200, paginate(total, fetch, call.page_request(query, True))


def matching_ids(store: Store, query: dict[str, Any]) -> list[int] | None:
    """Ids of the matching activities in (updated_at, id) order; None when only updated_at filters."""
    user_code, finished, wanted_type = (
        query.get("user_mapping_code"),
        query.get("date_finished"),
        query.get("type"),
    )
    if user_code is None and finished is None and wanted_type is None:
        return None
    after = query.get("updated_at")
    if user_code is not None:
        entries = sorted((store.activities[i].updated_at, i) for i in store.by_user.get(user_code, ()))
        if after is not None:
            entries = [e for e in entries if e[0] > after]
    else:
        entries = store.timeline[store.timeline_start(after) :]
    types: dict[int, list[int]] = {}
    ids = []
    for _, activity_id in entries:
        activity = store.activities[activity_id]
        if finished is not None and (activity.date_completed is None or activity.date_completed <= finished):
            continue
        if wanted_type is not None:
            course_types = types.get(activity.course_id)
            if course_types is None:
                course_types = types[activity.course_id] = render.filter_types(
                    store.courses[activity.course_id]
                )
            if wanted_type not in course_types:
                continue
        ids.append(activity_id)
    return ids
