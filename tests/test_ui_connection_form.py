"""The Airflow 3 UI builds the connection form from the api-server's hook metadata: check it there."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._airflow import AIRFLOW_V_3, airflow_env, api_server, free_port, new_airflow_home
from tests.test_provider_registration import CONNECTION_EXTRAS

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3,
    reason="Airflow 3 only: `airflow api-server` and its hook metadata (Airflow 2's form uses the "
    "hook's get_connection_form_widgets)",
)


@pytest.fixture(scope="module")
def api_server_url(tmp_path_factory: pytest.TempPathFactory, migrated_airflow: Path) -> Iterator[str]:
    home = new_airflow_home(migrated_airflow, tmp_path_factory.mktemp("airflow-home"))
    env = airflow_env(home, home, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True")
    with api_server(env, free_port(), home / "api-server.log") as url:
        yield url


@pytest.mark.airflow
def test_hook_meta_serves_the_smartarena_form(api_server_url: str) -> None:
    with urllib.request.urlopen(f"{api_server_url}/ui/connections/hook_meta", timeout=30) as response:
        metas: list[dict[str, Any]] = json.load(response)
    (meta,) = [m for m in metas if m["connection_type"] == "smartarena"]
    assert meta["hook_name"] == "Smart ARENA"
    standard = meta["standard_fields"]
    assert standard["host"] == {
        "hidden": False,
        "title": "API base URL",
        "placeholder": "https://esmartarena.com",
    }
    assert standard["login"]["title"] == "Client ID"
    assert standard["password"]["title"] == "Client secret"
    assert standard["port"]["hidden"] is True
    assert standard["url_schema"]["hidden"] is True
    extras = meta["extra_fields"]
    assert set(extras) == CONNECTION_EXTRAS
    assert extras["timezone"]["value"] == "UTC"
    assert extras["allow_insecure_http"]["schema"]["title"] == "Allow plain http:// to a non-loopback host"
    assert extras["max_retries"]["schema"]["minimum"] == 0
