"""The CI lanes' own environments stay on the project's pins.

``ci/celery.txt`` (the CeleryExecutor lane) is compiled with uv.lock as constraints: what both pin
must agree, or the lane would test another Airflow than the one the project locks. It also holds
Celery below 5.7 (5.7.0 breaks the Celery provider 3.26).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if match:
            pins[_normalize(match.group(1))] = match.group(2)
    return pins


def _locked() -> dict[str, set[str]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            versions.setdefault(_normalize(package["name"]), set()).add(package["version"])
    return versions


def test_the_celery_lane_keeps_every_pin_of_the_lock() -> None:
    pins, locked = _pins(ROOT / "ci" / "celery.txt"), _locked()
    assert pins["apache-airflow"] in locked["apache-airflow"]
    assert pins["apache-airflow-core"] in locked["apache-airflow-core"]
    differing = {
        name: (pin, sorted(locked[name]))
        for name, pin in pins.items()
        if name in locked and pin not in locked[name]
    }
    assert not differing, (
        f"ci/celery.txt disagrees with uv.lock (recompile it, see ci/celery.in): {differing}"
    )


def test_the_celery_lane_holds_celery_below_5_7() -> None:
    pins = _pins(ROOT / "ci" / "celery.txt")
    assert "apache-airflow-providers-celery" in pins
    major, minor = (int(part) for part in pins["celery"].split(".")[:2])
    assert (major, minor) < (5, 7), pins["celery"]
