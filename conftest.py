"""Run every test against a throwaway Airflow home, never the developer's ``~/airflow``.

This file sits at the repository root so that pytest loads it before any test module imports
Airflow (Airflow reads AIRFLOW_HOME once, at import).
"""

from __future__ import annotations

import os
import tempfile

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="smartarena-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
