"""Operator signatures a type checker can see, kept equal to resources.py and to the runtime ones.

``scripts/gen_operator_stubs.py`` writes the operators' record fields as ``TypedDict`` s
(``operators/_fields.py``) and each generated operator's ``__init__`` under ``TYPE_CHECKING``,
unpacking them; these tests fail when the written code is stale, when the written signatures and
those Airflow reads at runtime disagree, and show that mypy catches a misspelt or mistyped keyword.
The hook's typed methods are held to the same source: their parameters are the fields of their
endpoint.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook
from airflow_provider_smartarena.operators import _fields
from airflow_provider_smartarena.operators._typing import TaskArguments
from airflow_provider_smartarena.operators.base import TASK_ARGUMENTS, SmartArenaRecordOperator
from airflow_provider_smartarena.resources import (
    ADD_COURSE_USERS,
    REMOVE_COURSE_USERS,
    RENAME_COURSE,
    RESOURCES,
    Endpoint,
)

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_operator_stubs", ROOT / "scripts" / "gen_operator_stubs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _script()


WANTED = GEN.wanted()


@pytest.mark.parametrize("path", WANTED, ids=[path.name for path in WANTED])
def test_written_signatures_are_up_to_date(path: Path) -> None:
    current = path.read_text(encoding="utf-8")
    assert current == WANTED[path], f"run: python scripts/gen_operator_stubs.py ({path.name})"


def _operators() -> list[type[SmartArenaRecordOperator]]:
    return GEN.all_operators()


def _written_keywords(cls: type[SmartArenaRecordOperator]) -> list[str]:
    """The keywords of the ``__init__`` written in ``cls``'s class body, read from the source.

    Its own (``task_id``), then those of the ``TypedDict`` its ``**kwargs`` unpack, which has the
    BaseOperator arguments last.
    """
    tree = ast.parse(inspect.getsource(sys.modules[cls.__module__]))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    init = next(
        fn
        for block in node.body
        if isinstance(block, ast.If)
        for fn in block.body
        if isinstance(fn, ast.FunctionDef) and fn.name == "__init__"
    )
    assert init.args.kwarg is not None
    unpacked = init.args.kwarg.annotation
    # Unpack[f.<Stem>Arguments]
    assert isinstance(unpacked, ast.Subscript)
    assert isinstance(unpacked.slice, ast.Attribute)
    arguments = getattr(_fields, unpacked.slice.attr)
    own = [name for name in arguments.__annotations__ if name not in TaskArguments.__annotations__]
    return [arg.arg for arg in init.args.kwonlyargs] + own


def test_every_generated_operator_has_a_written_signature_equal_to_the_runtime_one() -> None:
    operators = _operators()
    assert len(operators) == 27
    for cls in operators:
        runtime = [
            name
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        written = _written_keywords(cls)
        # The runtime signature leaves task_id and the common arguments to **kwargs.
        common = ["records", "smartarena_conn_id", "max_concurrency", "fail_on_error", "hook_params"]
        assert written == ["task_id", *runtime, *common]


def test_each_field_list_is_written_once_and_no_keyword_is_required() -> None:
    tree = ast.parse(Path(_fields.__file__).read_text(encoding="utf-8"))
    lists = [
        tuple(ast.unparse(stmt) for stmt in node.body if isinstance(stmt, ast.AnnAssign))
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    ]
    written = [keywords for keywords in lists if keywords]
    assert len(written) == len(set(written))
    # As in the runtime signature, only task_id is required: a record field may come from records.
    for cls in _operators():
        assert not getattr(_fields, GEN.arguments_name(cls)).__required_keys__, cls.__name__


def test_task_arguments_cover_this_airflows_base_operator() -> None:
    # The written signatures end in **kwargs: Unpack[TaskArguments]; a BaseOperator argument
    # missing there would be reported by mypy as unknown. Checked on Airflow 2.11 and 3.x alike.
    missing = TASK_ARGUMENTS - {"task_id"} - set(TaskArguments.__annotations__)
    assert not missing, f"add to operators/_typing.py TaskArguments: {sorted(missing)}"
    assert "task_id" in inspect.signature(BaseOperator.__init__).parameters


SNIPPET = """\
from __future__ import annotations

from airflow_provider_smartarena.operators.courses import SmartArenaCreateCourseOperator
from airflow_provider_smartarena.operators.users import SmartArenaCreateUserOperator

SmartArenaCreateUserOperator(task_id="x", emial="...", firstname=1)
SmartArenaCreateUserOperator(task_id="ok", user_email="a@b.si", firstname="Ana", roles=[6], retries=2)
SmartArenaCreateCourseOperator(task_id="c", course_start_date="{{ ds }}", if_exists="replace")
"""
# Airflow's own sources are skipped: the signatures do not depend on them, and reading them takes
# mypy a minute.
MYPY_CONFIG = """\
[mypy]
ignore_missing_imports = True
follow_imports = silent

[mypy-airflow.*]
follow_imports = skip
"""


def test_mypy_reports_a_misspelt_or_mistyped_operator_keyword(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed in this environment (the Airflow 2.11 lane)")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_CONFIG + f"cache_dir = {tmp_path / 'cache'}\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), str(snippet)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=600,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(errors) == 3, done.stdout
    assert 'snippet.py:6: error: Unexpected keyword argument "emial"' in errors[0]
    assert 'snippet.py:6: error: Argument "firstname"' in errors[1]
    assert 'has incompatible type "int"; expected "str | None"' in errors[1]
    assert 'snippet.py:8: error: Argument "if_exists"' in errors[2]


def _hook_methods() -> list[tuple[str, Endpoint]]:
    out = []
    for name, resource in RESOURCES.items():
        out += [(f"{action}_{name}", getattr(resource, action)) for action in ("create", "update", "delete")]
    out += [
        ("add_course_users", ADD_COURSE_USERS),
        ("remove_course_users", REMOVE_COURSE_USERS),
        ("rename_course", RENAME_COURSE),
    ]
    return out


@pytest.mark.parametrize(("method", "endpoint"), _hook_methods(), ids=[m for m, _ in _hook_methods()])
def test_hook_method_parameters_are_the_endpoint_fields(method: str, endpoint: Endpoint) -> None:
    parameters: Any = inspect.signature(getattr(SmartArenaHook, method)).parameters
    names = {name for name, p in parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD}
    assert names == set(endpoint.field_names), f"{method} vs {endpoint.method} {endpoint.path}"
