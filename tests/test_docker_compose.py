"""docker-compose.yaml: every service, connection and mount it refers to exists and is well formed.

No Docker engine runs on CI machines, so the file is checked statically; `docker compose config`
runs as well where the compose plugin is installed.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_smartarena.sandbox.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}


def _env(service: str) -> dict[str, str]:
    return SERVICES[service].get("environment") or {}


def test_the_stack_has_every_service_celery_needs() -> None:
    expected = {"postgres", "redis", "warehouse", "smartarena-sandbox", "airflow-init", *AIRFLOW_SERVICES}
    assert expected <= set(SERVICES)
    for name, command in AIRFLOW_SERVICES.items():
        assert SERVICES[name]["command"] == command, name
        assert _env(name)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_every_dependency_names_a_defined_service() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"


def test_the_image_is_built_from_this_checkout() -> None:
    build = SERVICES["airflow-scheduler"]["build"]
    dockerfile = ROOT / build["context"] / build["dockerfile"]
    assert dockerfile.is_file()
    text = dockerfile.read_text()
    assert "airflow_provider_smartarena" in text
    assert "[sandbox]" in text


def test_mounts_point_at_files_in_the_checkout() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
    assert "./dags_examples:/opt/airflow/dags" in SERVICES["airflow-worker"]["volumes"]


def test_connections_point_at_compose_services() -> None:
    env = _env("airflow-worker")
    smartarena = json.loads(env["AIRFLOW_CONN_SMARTARENA_DEFAULT"])
    assert smartarena["conn_type"] == "smartarena"
    host = smartarena["host"].split("//", 1)[1].split(":", 1)[0]
    assert host in SERVICES
    assert smartarena["extra"]["allow_insecure_http"] is True
    program, *args = shlex.split(SERVICES["smartarena-sandbox"]["command"])
    assert program == "smartarena-sandbox"
    sandbox_args = build_parser().parse_args(args)
    assert smartarena["login"] == sandbox_args.client_id
    assert smartarena["password"] == sandbox_args.client_secret
    assert smartarena["host"].endswith(f":{sandbox_args.port}")

    warehouse = json.loads(env["AIRFLOW_CONN_SMARTARENA_WAREHOUSE"])
    assert warehouse["conn_type"] == "postgres"
    assert warehouse["host"] in SERVICES
    assert SERVICES[warehouse["host"]]["environment"]["POSTGRES_DB"] == warehouse["schema"]


def test_example_dags_use_the_connections_compose_defines() -> None:
    env = _env("airflow-worker")
    for dag_file in (ROOT / "dags_examples").glob("*.py"):
        text = dag_file.read_text()
        if '"smartarena_warehouse"' in text:
            assert "AIRFLOW_CONN_SMARTARENA_WAREHOUSE" in env


@pytest.mark.skipif(not shutil.which("docker"), reason="no docker client")
def test_docker_compose_config_accepts_the_file() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# ---- issue 19: one JWT secret, Celery below 5.7, the official layout, a live sandbox ---------------
LONG_RUNNING = {"postgres", "warehouse", "redis", "smartarena-sandbox", *AIRFLOW_SERVICES}


def test_every_airflow_component_shares_one_jwt_secret() -> None:
    # Without it each container writes its own random key: "Signature verification failed".
    secrets = {
        name: _env(name).get("AIRFLOW__API_AUTH__JWT_SECRET") for name in [*AIRFLOW_SERVICES, "airflow-init"]
    }
    assert None not in secrets.values(), secrets
    assert len(set(secrets.values())) == 1, secrets
    # It comes from x-airflow-common, so a new component cannot forget it.
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in COMPOSE["x-airflow-common"]["environment"]


def test_the_image_pins_celery_below_5_7_and_keeps_the_images_airflow() -> None:
    from packaging.requirements import Requirement

    text = (ROOT / "docker" / "Dockerfile").read_text()
    run = " ".join(line for line in text.replace("\\\n", " ").splitlines() if line.startswith("RUN "))
    pins = [Requirement(word) for word in shlex.split(run) if word.startswith("celery")]
    assert pins, "no celery requirement in the Dockerfile"
    for pin in pins:
        assert not pin.specifier.contains("5.7.0"), pin
        assert pin.specifier.contains("5.6.9"), pin
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text


@pytest.mark.parametrize("name", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_health_check(name: str) -> None:
    check = SERVICES[name].get("healthcheck")
    assert check, f"{name} has no health check"
    assert check["test"][0] in ("CMD", "CMD-SHELL"), check


def test_airflow_init_migrates_first_and_every_component_waits_for_it() -> None:
    init = SERVICES["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES:
        depends = SERVICES[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    # Workers take tasks only once the api-server (the execution API they report to) is healthy.
    assert SERVICES["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_airflow_init_creates_the_pool_the_warehouse_example_uses() -> None:
    dag_text = (ROOT / "dags_examples" / "smartarena_usercourses_to_warehouse.py").read_text()
    pool = dag_text.split('STREAM_POOL = "', 1)[1].split('"', 1)[0]
    words = shlex.split(" ".join(SERVICES["airflow-init"]["command"]))
    at = words.index("pools")
    assert words[at : at + 4] == ["pools", "set", pool, "1"]


def test_the_sandbox_runs_live() -> None:
    _program, *args = shlex.split(SERVICES["smartarena-sandbox"]["command"])
    assert build_parser().parse_args(args).live > 0
