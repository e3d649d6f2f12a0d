"""``python -m airflow_provider_smartarena.probe``: the same as ``smartarena-probe``."""

from __future__ import annotations

import sys

from airflow_provider_smartarena.probe.cli import main

sys.exit(main())
