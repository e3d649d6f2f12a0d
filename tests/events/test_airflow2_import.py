"""On Airflow 2 (no ``BaseEventTrigger``) the trigger module and the example import and define no DAG.

The Airflow 2.11 lane does not run these tests; they take the one thing Airflow 2 lacks away from
Airflow 3 instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import airflow.triggers.base
import pytest

from tests._helpers import load_module

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "airflow_provider_smartarena" / "triggers" / "events.py"
EXAMPLE = ROOT / "dags_examples" / "smartarena_activity_events.py"


def test_without_base_event_trigger_nothing_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(airflow.triggers.base, "BaseEventTrigger")
    events = load_module(EVENTS, "airflow2_events")
    assert events.EVENT_TRIGGERS_SUPPORTED is False
    monkeypatch.setitem(sys.modules, "airflow_provider_smartarena.triggers.events", events)
    example = load_module(EXAMPLE, "airflow2_example")
    assert "SMARTARENA_ACTIVITY" not in vars(example)  # the guarded block (asset, watcher, DAG) did not run


def test_on_airflow_3_the_example_defines_its_watched_asset() -> None:
    example = load_module(EXAMPLE, "airflow3_example")
    (watcher,) = example.SMARTARENA_ACTIVITY.watchers
    assert type(watcher.trigger).__name__ == "SmartArenaActivityEventTrigger"
