"""Small helpers of the test suites that need neither Airflow nor a sandbox."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pytest

Started = TypeVar("Started")
Argument = TypeVar("Argument")


def load_module(path: Path, name: str) -> ModuleType:
    """The Python file at ``path`` (a script, a benchmark, an example DAG) run as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stopped_after(
    start: Callable[[Argument], Started], stop: Callable[[Started], None]
) -> Iterator[Callable[[Argument], Started]]:
    """The body of a fixture yielding ``start``: whatever the test starts with it is stopped afterwards,
    in the order started. ``yield from stopped_after(...)`` in the fixture."""
    started: list[Started] = []

    def start_and_remember(argument: Argument) -> Started:
        thing = start(argument)
        started.append(thing)
        return thing

    yield start_and_remember
    for thing in started:
        stop(thing)


@pytest.fixture(autouse=True)
def quiet_executor_safeguard() -> Iterator[None]:
    """Airflow warns when ``execute()`` is called outside a task runner, which is what the tests of a
    suite that imports this fixture into its conftest mean to do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*cannot be called outside of the Task Runner.*")
        yield
