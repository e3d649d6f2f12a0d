"""A local emulator of the Smart ARENA REST API (FastAPI + uvicorn), for tests, demos and DAG development.

Independent of the rest of the provider on purpose: it imports nothing from it, so that the client
and the sandbox check each other. Start it with ``smartarena-sandbox`` or, from tests,
``airflow_provider_smartarena.sandbox.testing.run_sandbox()``. See docs/sandbox.md.
"""

from __future__ import annotations
