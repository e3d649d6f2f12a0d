"""The user sync without its operator: plan (pure), sources, results table and report.

:class:`~airflow_provider_smartarena.operators.sync.SmartArenaUserSyncOperator` is a thin operator
over these modules: :mod:`.source` reads the desired rows, :mod:`.plan` diffs them against the
platform's records (no network), :mod:`.report` turns a plan into text and a summary, and
:mod:`.results` writes the optional results table.
"""

from __future__ import annotations
