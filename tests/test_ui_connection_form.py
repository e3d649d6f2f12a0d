"""The Airflow 3 UI builds the connection form from the api-server's hook metadata: check it there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow import __version__ as airflow_version

AIRFLOW = str(Path(sys.executable).with_name("airflow"))

pytestmark = pytest.mark.skipif(
    int(airflow_version.split(".")[0]) < 3,
    reason="Airflow 3 only: `airflow api-server` and its hook metadata (Airflow 2's form uses the "
    "hook's get_connection_form_widgets)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/api/v2/version", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (home / "api-server.log").read_text()[-3000:]
                time.sleep(0.5)
        else:
            pytest.fail("the api-server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.mark.airflow
def test_hook_meta_serves_the_smartarena_form(api_server: str) -> None:
    with urllib.request.urlopen(f"{api_server}/ui/connections/hook_meta", timeout=30) as response:
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
    assert set(extras) == {
        "timezone",
        "timeout",
        "verify_ssl",
        "max_retries",
        "page_size",
        "allow_insecure_http",
    }
    assert extras["timezone"]["value"] == "UTC"
    assert extras["allow_insecure_http"]["schema"]["title"] == "Allow plain http:// to a non-loopback host"
    assert extras["max_retries"]["schema"]["minimum"] == 0
