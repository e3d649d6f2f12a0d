"""``make test-wheel``: the built wheel, installed into a clean virtualenv, works as a provider.

Run by that virtualenv's Python (Airflow from uv.lock plus the wheel, never the checkout). Checks
that the provider is the installed one, that Airflow registers it (``airflow providers list`` and
the ``smartarena`` connection type in ``airflow providers hooks``), and runs one example DAG
(``smartarena_user_provisioning``, applying its plan) with ``airflow dags test`` against a sandbox
started from the wheel: every task must succeed and the users it applied must be in the sandbox.

    .venv-wheel/bin/python ci/check_wheel.py
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "dags_examples" / "smartarena_user_provisioning.py"
DAG_ID = "smartarena_user_provisioning"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def log(message: str) -> None:
    print(f"[test-wheel] {message}", flush=True)


def airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"airflow {' '.join(args)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-5000:]}"
        )
    return done.stdout


def json_of(output: str) -> list[dict[str, object]]:
    """The JSON list an ``airflow ... -o json`` command printed (after any log lines)."""
    start = output.index("[")
    parsed: list[dict[str, object]] = json.loads(output[start:])
    return parsed


def main() -> int:
    started = time.monotonic()
    import airflow_provider_smartarena
    from airflow_provider_smartarena.sandbox.testing import run_sandbox

    location = Path(airflow_provider_smartarena.__file__).resolve()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    if site not in location.parents:
        raise SystemExit(f"the provider was imported from {location}, not from the wheel in {site}")
    if not (location.parent / "py.typed").is_file():
        raise SystemExit("the installed package has no py.typed")
    version = airflow_provider_smartarena.__version__
    log(f"airflow_provider_smartarena {version} from {location.parent}")

    work = Path(tempfile.mkdtemp(prefix="test-wheel-"))
    try:
        home, dags = work / "airflow_home", work / "dags"
        dags.mkdir(parents=True)
        shutil.copy(EXAMPLE, dags)
        with run_sandbox(seed=3, users=20, courses=3, activities=30) as sandbox:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
            env.update(
                {
                    "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{env.get('PATH', '')}",
                    "AIRFLOW_HOME": str(home),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW_CONN_SMARTARENA_DEFAULT": sandbox.connection_json(),
                }
            )
            providers = json_of(airflow(env, "providers", "list", "-o", "json"))
            ours = [p for p in providers if p.get("package_name") == "airflow-provider-smartarena"]
            if [p.get("version") for p in ours] != [version]:
                raise SystemExit(f"`airflow providers list` does not show the provider {version}: {ours}")
            log(f"airflow providers list: airflow-provider-smartarena {version}")
            hooks = json_of(airflow(env, "providers", "hooks", "-o", "json"))
            smartarena = [h for h in hooks if h.get("connection_type") == "smartarena"]
            if len(smartarena) != 1 or smartarena[0].get("package_name") != "airflow-provider-smartarena":
                raise SystemExit(f"`airflow providers hooks` has no smartarena connection type: {smartarena}")
            log(f"airflow providers hooks: connection type smartarena -> {smartarena[0].get('class')}")

            airflow(env, "db", "migrate")
            before = {u["mapping_code"] for u in sandbox.state("users")}
            airflow(env, "dags", "test", DAG_ID, "--conf", json.dumps({"dry_run": False}))
            with sqlite3.connect(home / "airflow.db") as db:
                states = dict(
                    db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,))
                )
            if set(states.values()) != {"success"}:
                raise SystemExit(f"airflow dags test {DAG_ID}: not every task succeeded: {states}")
            created = sorted({u["mapping_code"] for u in sandbox.state("users")} - before)
            if not created:
                raise SystemExit(f"airflow dags test {DAG_ID} applied its plan but created no user")
            log(f"airflow dags test {DAG_ID}: tasks {sorted(states)} succeeded; created users {created}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
