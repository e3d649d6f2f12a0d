"""``make airflow``: Airflow's UI with the example DAGs, a seeded sandbox and a SQLite warehouse.

Runs ``airflow standalone`` (api-server, scheduler, dag-processor and triggerer in one command) on
a local AIRFLOW_HOME (``.airflow/``) that survives restarts, with the connections
``smartarena_default`` (the sandbox) and ``smartarena_warehouse`` (``.airflow/warehouse.db``) given as
environment variables. Every user is an admin, so no login is asked. Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_smartarena.sandbox.testing import run_sandbox

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".airflow"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PORT = os.environ.get("AIRFLOW_PORT", "8080")


def main() -> int:
    HOME.mkdir(exist_ok=True)
    with run_sandbox(seed=7, users=300, courses=30, activities=10000) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                # standalone starts its components as `airflow ...`: this venv's must come first.
                "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(HOME),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags_examples"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__API__PORT": PORT,
                "AIRFLOW_CONN_SMARTARENA_DEFAULT": sandbox.connection_json(),
                "AIRFLOW_CONN_SMARTARENA_WAREHOUSE": json.dumps(
                    {"conn_type": "sqlite", "host": str(HOME / "warehouse.db")}
                ),
            }
        )
        print(f"Sandbox: {sandbox.url} (client {sandbox.client_id})", flush=True)
        print(f"Airflow UI: http://localhost:{PORT}  (Ctrl-C stops Airflow and the sandbox)", flush=True)
        try:
            return subprocess.run([AIRFLOW, "standalone"], env=env, check=False).returncode
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
