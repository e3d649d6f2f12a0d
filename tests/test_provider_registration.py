"""The provider is discovered by Airflow through its entry point, as a user's installation sees it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import airflow_provider_smartarena
from airflow_provider_smartarena import get_provider_info
from tests._airflow import airflow_env, run_airflow

#: The connection's extras, spelt out: the UI form (tests/test_ui_connection_form.py) offers them too.
CONNECTION_EXTRAS = {
    "timezone",
    "timeout",
    "verify_ssl",
    "max_retries",
    "page_size",
    "max_response_bytes",
    "max_retry_wait",
    "max_requests_per_minute",
    "allow_insecure_http",
}


def _airflow(tmp_path: Path, *args: str) -> str:
    done = run_airflow(airflow_env(tmp_path, tmp_path), *args, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_provider_info_matches_airflow_schema() -> None:
    import airflow

    schema_path = Path(airflow.__file__).with_name("provider_info.schema.json")
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))
    assert get_provider_info()["versions"] == [airflow_provider_smartarena.__version__]


def test_conn_fields_cover_every_connection_extra() -> None:
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == "smartarena"
    fields = conn["conn-fields"]
    assert set(fields) == CONNECTION_EXTRAS
    for name, spec in fields.items():
        assert spec["label"], name
        assert spec["schema"]["type"], name
    behaviour = conn["ui-field-behaviour"]
    assert behaviour["relabeling"] == {
        "host": "API base URL",
        "login": "Client ID",
        "password": "Client secret",
    }
    assert behaviour["placeholders"]["host"] == "https://esmartarena.com"
    assert {"port", "schema"} <= set(behaviour["hidden-fields"])


@pytest.mark.airflow
def test_airflow_cli_lists_the_provider_and_its_hook(tmp_path: Path) -> None:
    providers = json.loads(_airflow(tmp_path, "providers", "list", "-o", "json"))
    assert any(p["package_name"] == "airflow-provider-smartarena" for p in providers)

    hooks = json.loads(_airflow(tmp_path, "providers", "hooks", "-o", "json"))
    (hook,) = [h for h in hooks if h["connection_type"] == "smartarena"]
    assert hook["class"] == "airflow_provider_smartarena.hooks.smartarena.SmartArenaHook"
    assert hook["package_name"] == "airflow-provider-smartarena"
    assert hook["conn_id_attribute_name"] == "smartarena_conn_id"


def test_every_module_the_provider_lists_imports() -> None:
    import importlib

    info = get_provider_info()
    modules = [
        m
        for kind in ("hooks", "operators", "sensors", "triggers")
        for e in info[kind]
        for m in e["python-modules"]
    ]
    modules += [t["python-module"] for t in info["transfers"]]
    for name in modules:
        module = importlib.import_module(name)
        assert any(attr.startswith("SmartArena") for attr in vars(module)), name
