"""Fixtures of the event trigger tests: a watcher running on its own event loop, and a state store."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_smartarena.triggers.events import SmartArenaActivityEventTrigger
from tests._helpers import stopped_after


class MemoryStateStore:
    """What the triggerer injects as ``asset_state_store`` for a watcher of one asset, kept in a dict.

    Values go through JSON as the metadata database stores them; one instance shared by two
    triggers is the same asset seen by a trigger and its re-created successor.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.writes += 1
        self.values[key] = json.dumps(value)


class RunningTrigger:
    """A trigger's ``run()`` driven on an event loop in a thread, its events collected as they come."""

    def __init__(self, trigger: SmartArenaActivityEventTrigger) -> None:
        self.trigger = trigger
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        self._started.wait(5)

    def _main(self) -> None:
        async def consume() -> None:
            async for event in self.trigger.run():
                self.events.append(event.payload)

        self._task = self._loop.create_task(consume())
        self._started.set()
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as err:
            self.error = err
        finally:
            self._loop.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def wait_events(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline and self.alive:
            time.sleep(0.02)
        assert self.error is None, self.error
        assert len(self.events) >= count, f"{len(self.events)} events after {timeout} s, wanted {count}"
        return self.events

    def stop(self) -> None:
        if self._task is not None and self.alive:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
        assert not self.alive


@pytest.fixture
def watch() -> Iterator[Any]:
    """``watch(trigger)`` starts it; every one started is stopped after the test."""
    yield from stopped_after(RunningTrigger, RunningTrigger.stop)
