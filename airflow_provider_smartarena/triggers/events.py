"""An event trigger for Airflow 3 ``AssetWatcher``: start DAG runs on new Smart ARENA learning activity.

:class:`SmartArenaActivityEventTrigger` runs for ever in the triggerer and yields one
``TriggerEvent`` per burst of activity; an ``Asset`` watched by it gets an asset event each time,
and every DAG scheduled on that asset runs.

How it decides (all on the server's clock and the API's ``updated_at`` filter, "strictly after"):

* One poll is one ``GET /api/usercourses?updated_at=<since - overlap>&modules_data=0``; a second
  page is read only when the window holds more than a page. ``since`` is the server's clock
  (``Date`` header of the previous answer, so taken *before* the query), never the newest record:
  records dated in the future do not move it, and the ``overlap`` re-reads changes that were
  committed late with an older stamp.
* A change is identified by ``(user_mapping_code, course_mapping_code, status, updated_at)``. The
  changes already reported inside the overlap are remembered, so the overlap never reports a
  change twice.
* A burst: new changes are held while they keep coming and fired once a poll brings nothing new
  (or once they have waited ``max_delay`` seconds, so continuous activity still fires), and only
  when there are at least ``min_changes``.
* Restart: Airflow 3 re-creates a watcher's trigger from its serialised arguments, the same every
  time (the trigger row is keyed by their hash), when the triggerer restarts or hands the trigger
  to another triggerer. The position (``since`` and the changes reported inside the overlap) is
  therefore kept in the watched asset's state store (Airflow 3.3+): written when the trigger first
  starts and a few seconds after each event (once the triggerer has handed the event to the
  metadata database: it syncs every second), and read back when the trigger is created. A
  re-created trigger so neither replays the last event nor skips what changed while it was down.
  A triggerer killed in those few seconds may replay that one event (at least once, never lost).
  Without a state store (Airflow 3.0-3.2, or ``run()`` outside a watcher) the position lives in
  memory and a new trigger starts from the server's clock.
* Errors: the hook renews tokens and retries as everywhere; a poll that still fails is logged (at
  most once a minute) and retried at the next interval, so an unreachable API never ends the
  watcher.

The payload holds no personal data: counts, datetimes and mapping codes with the status.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import importlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.enums import CourseFilterType
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.resources import DATETIME_FORMAT, USER_COURSES, to_server_datetime
from airflow_provider_smartarena.triggers.activity import classpath, connected_hook, trigger_arguments

try:
    from airflow.triggers.base import BaseEventTrigger, TriggerEvent

    EVENT_TRIGGERS_SUPPORTED = True
except ImportError:  # Airflow 2: importable (a DAG folder must not break), not usable as a watcher
    from airflow.triggers.base import BaseTrigger as BaseEventTrigger  # type: ignore[assignment]
    from airflow.triggers.base import TriggerEvent

    EVENT_TRIGGERS_SUPPORTED = False

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

#: At most this many ``(user, course, status)`` keys travel in an event (the count is always whole).
MAX_PAYLOAD_CHANGES = 200
#: Failures are logged at most this often (seconds), however short the poll interval.
ERROR_LOG_INTERVAL = 60.0
#: Seconds between an event and writing the position: the triggerer hands events to the metadata
#: database within a second or two, so the stored position never runs ahead of a stored event.
PERSIST_DELAY = 3.0
_STATE_KEY_PREFIX = "smartarena_activity_events"
#: The filters sent to the API besides ``updated_at``, and all the arguments, in ``__init__``'s order.
_FILTERS = ("type", "user_mapping_code", "date_finished")
_ARGUMENTS = ("smartarena_conn_id", "poll_interval", *_FILTERS, "min_changes", "max_delay", "overlap")


def _positive(name: str, value: Any, allowed: str, *, whole: bool = False, zero: bool = False) -> Any:
    ok_type = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or value < 0 or (value == 0 and not zero):
        raise SmartArenaInputError(name, f"got {value!r}", allowed)
    return value


class _Change:
    """One change of an activity, as the trigger tells changes apart."""

    __slots__ = ("course", "digest", "stamp", "status", "user")

    def __init__(self, record: Mapping[str, Any], tz: dt.tzinfo) -> None:
        self.user = str(record.get("user_mapping_code") or "")
        self.course = str(record.get("course_mapping_code") or "")
        self.status = record.get("status")
        raw = record.get("updated_at")
        try:
            # Offsets ("...Z") are instants: compare on the connection's wall clock like the filter.
            self.stamp = to_server_datetime(raw, tz).strftime(DATETIME_FORMAT)
        except (TypeError, ValueError):
            self.stamp = str(raw or "")
        # A digest keeps the remembered set small and free of anything readable.
        text = json.dumps([self.user, self.course, self.status, self.stamp])
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:20]

    def key(self) -> dict[str, Any]:
        return {"user_mapping_code": self.user, "course_mapping_code": self.course, "status": self.status}


class SmartArenaActivityEventTrigger(BaseEventTrigger):
    """
    Fire once per burst of new learning activity (``/api/usercourses``); for an Airflow 3 ``AssetWatcher``.

    Event payload: ``{"count", "oldest_updated_at", "newest_updated_at", "changes": [{"user_mapping_code",
    "course_mapping_code", "status"}, ...] (at most 200), "changes_truncated", "filters"}``; datetimes
    are the server's ``YYYY-MM-DD HH:MM:SS``. See the module doc for the exact semantics.

    :param smartarena_conn_id: the Smart ARENA connection.
    :param poll_interval: seconds between polls (one request each; default 60, i.e. 60 an hour).
    :param type: only courses of this :class:`~airflow_provider_smartarena.enums.CourseFilterType`.
    :param user_mapping_code: only this user's activities.
    :param date_finished: only activities completed after this date (``YYYY-MM-DD``) or datetime:
        "course completions only".
    :param min_changes: fire only once at least this many new changes are waiting (default 1).
    :param max_delay: seconds a burst may keep growing before it fires anyway (0: fire at the first
        poll that sees a change).
    :param overlap: seconds before the position to re-read, for changes committed late (default 300,
        as the extraction).
    """

    def __init__(
        self,
        *,
        smartarena_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        type: int | str | None = None,
        user_mapping_code: str | None = None,
        date_finished: str | None = None,
        min_changes: int = 1,
        max_delay: float = 600.0,
        overlap: float = 300.0,
    ) -> None:
        super().__init__()
        if not isinstance(smartarena_conn_id, str) or not smartarena_conn_id:
            raise SmartArenaInputError("smartarena_conn_id", f"got {smartarena_conn_id!r}", "a connection id")
        self.smartarena_conn_id = smartarena_conn_id
        self.poll_interval = float(_positive("poll_interval", poll_interval, "seconds > 0"))
        self.min_changes = int(_positive("min_changes", min_changes, "a whole number >= 1", whole=True))
        self.max_delay = float(_positive("max_delay", max_delay, "seconds >= 0", zero=True))
        self.overlap = float(_positive("overlap", overlap, "seconds >= 0", zero=True))
        # The API's own validation of the filters, before any request; the values kept are the
        # arguments as given (the type as its number), so that the trigger serialises (and hashes)
        # the same every time it is re-created from its arguments.
        USER_COURSES.prepare(
            {"type": type, "user_mapping_code": user_mapping_code, "date_finished": date_finished}
        )
        self.type = None if type is None else int(CourseFilterType.coerce(type))
        self.user_mapping_code = user_mapping_code
        self.date_finished = date_finished
        # Position: the server-clock datetime polls read after (minus the overlap), and the changes
        # reported inside the overlap (digest -> updated_at).
        self._since: str | None = None
        self._seen: dict[str, str] = {}
        self._last_error_log = -ERROR_LOG_INTERVAL
        self._failures = 0

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath(self), trigger_arguments(self, _ARGUMENTS)

    @property
    def position(self) -> str | None:
        """The server-clock datetime the next poll reads after (less the overlap); None before the first."""
        return self._since

    # ------------------------------------------------------------------ position in the state store

    def filters(self) -> dict[str, Any]:
        """What is watched: the filters sent to the API besides ``updated_at``."""
        return trigger_arguments(self, _FILTERS)

    def state_key(self) -> str:
        """The state store key of this watcher's position: one per connection and filters, so that
        a new ``poll_interval`` or ``min_changes`` keeps the position, other filters do not share it."""
        text = json.dumps([self.smartarena_conn_id, self.filters()], sort_keys=True)
        return f"{_STATE_KEY_PREFIX}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def _store(self) -> Any:
        return getattr(self, "asset_state_store", None)

    async def _load_position(self) -> None:
        """Read the stored position, if any; other failures than "no single store" are raised, so
        that the loop retries instead of starting from the server's clock and skipping changes."""
        store = self._store()
        if store is None:
            self.log.info("No asset state store: the position is kept in memory only")
            return
        try:
            value = await store.aget(self.state_key())
        except ValueError as err:  # several assets behind one trigger: no single place to keep it
            self.log.warning("The position cannot be stored (%s); it is kept in memory only", err)
            self.asset_state_store = None
            return
        since = value.get("since") if isinstance(value, dict) else None
        try:
            dt.datetime.strptime(str(since), DATETIME_FORMAT)
        except ValueError:
            if value is not None:
                self.log.warning("Ignoring an unreadable stored position: starting from the server's clock")
            return
        assert isinstance(value, dict)
        self._since = str(since)
        self._seen = {str(k): str(v) for k, v in dict(value.get("seen") or {}).items()}
        self.log.info("Resuming after %s (%d changes remembered)", self._since, len(self._seen))

    async def _save_position(self) -> None:
        store = self._store()
        if store is None or self._since is None:
            return
        try:
            await store.aset(self.state_key(), {"since": self._since, "seen": self._seen})
        except Exception as err:
            # Not fatal: the next event stores it again; meanwhile a restart may replay, never skip.
            self.log.warning("Could not store the position: %s: %s", type(err).__name__, err)

    # ------------------------------------------------------------------ one poll (blocking, in a thread)

    def poll(self, hook: SmartArenaHook) -> tuple[str, list[_Change]]:
        """Read the window; return the server clock taken before it and every change in it."""
        taken = hook.server_now(max_age=float("inf"))  # the previous answer's Date: before this query
        now = taken.astimezone(hook.timezone).replace(tzinfo=None).strftime(DATETIME_FORMAT)
        changes: list[_Change] = []
        for page in hook.iter_user_course_pages(
            updated_after=self._window_start(self._since or now), modules_data=False, **self.filters()
        ):
            changes.extend(_Change(record, hook.timezone) for record in page.records)
        return now, changes

    # ------------------------------------------------------------------ the loop

    async def run(self) -> AsyncIterator[TriggerEvent]:
        loaded = first = False
        hook: SmartArenaHook | None = None
        pending: dict[str, _Change] = {}
        pending_since = 0.0
        try:
            while True:
                fired = False
                try:
                    if not loaded:
                        await self._load_position()
                        loaded, first = True, self._since is None
                    if hook is None:
                        hook = await self._connect()
                    now, changes = await asyncio.to_thread(self.poll, hook)
                except Exception as err:
                    self._log_failure(err)
                else:
                    self._recovered()
                    if first:
                        # Changes up to the start belong to the past, not to this watcher.
                        self._since = now
                        self._seen = {c.digest: c.stamp for c in changes if c.stamp <= now}
                        first = False
                        await self._save_position()
                    fresh = [c for c in changes if c.digest not in self._seen and c.digest not in pending]
                    if fresh and not pending:
                        pending_since = time.monotonic()
                    pending.update((c.digest, c) for c in fresh)
                    waited = time.monotonic() - pending_since
                    if len(pending) >= self.min_changes and (not fresh or waited >= self.max_delay):
                        yield TriggerEvent(self._payload(list(pending.values())))
                        self._seen.update((d, c.stamp) for d, c in pending.items())
                        pending.clear()
                        fired = True
                    if not pending:
                        # Nothing held back: move on to the clock taken before this poll.
                        assert self._since is not None
                        self._since = max(self._since, now)
                        cutoff = self._window_start(self._since)
                        self._seen = {d: s for d, s in self._seen.items() if s > cutoff}
                if fired:
                    settle = min(PERSIST_DELAY, self.poll_interval)
                    await asyncio.sleep(settle)
                    await self._save_position()
                    await asyncio.sleep(self.poll_interval - settle)
                else:
                    await asyncio.sleep(self.poll_interval)
        finally:
            if hook is not None:
                await asyncio.to_thread(hook.close)

    async def _connect(self) -> SmartArenaHook:
        # A first import of the hook and its libraries takes long enough to stall every trigger
        # sharing the triggerer's event loop: import in a thread first.
        for module in (
            "airflow_provider_smartarena.hooks.smartarena",
            "airflow.providers.common.compat.connection",
        ):
            await asyncio.to_thread(importlib.import_module, module)
        return await connected_hook(self.smartarena_conn_id)

    def _window_start(self, since: str) -> str:
        """What a poll reads after: the overlap, and one second more because the ``Date`` header
        has whole seconds (a change later in the second the clock was read has the same stamp)."""
        start = dt.datetime.strptime(since, DATETIME_FORMAT) - dt.timedelta(seconds=self.overlap + 1)
        return start.strftime(DATETIME_FORMAT)

    def _payload(self, changes: list[_Change]) -> dict[str, Any]:
        stamps = sorted(c.stamp for c in changes if c.stamp)
        ordered = sorted(changes, key=lambda c: (c.stamp, c.user, c.course))
        return {
            "count": len(changes),
            "oldest_updated_at": stamps[0] if stamps else None,
            "newest_updated_at": stamps[-1] if stamps else None,
            "changes": [c.key() for c in ordered[:MAX_PAYLOAD_CHANGES]],
            "changes_truncated": len(changes) > MAX_PAYLOAD_CHANGES,
            "filters": self.filters(),
        }

    def _log_failure(self, err: Exception) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_INTERVAL:
            # The hook's errors name the call and status, never the token or the secret.
            self.log.warning(
                "Smart ARENA poll failed (%d in a row, retrying every %g s): %s: %s",
                self._failures,
                self.poll_interval,
                type(err).__name__,
                err,
            )
            self._last_error_log = now

    def _recovered(self) -> None:
        if self._failures:
            self.log.info("Smart ARENA answers again after %d failed polls", self._failures)
            self._failures = 0
            self._last_error_log = -ERROR_LOG_INTERVAL


__all__ = ["EVENT_TRIGGERS_SUPPORTED", "MAX_PAYLOAD_CHANGES", "SmartArenaActivityEventTrigger"]
