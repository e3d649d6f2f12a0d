"""``python -m airflow_provider_smartarena.sandbox`` = ``smartarena-sandbox``."""

from __future__ import annotations

from airflow_provider_smartarena.sandbox.cli import main

raise SystemExit(main())
