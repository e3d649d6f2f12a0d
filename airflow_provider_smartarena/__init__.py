"""Apache Airflow provider for the Smart ARENA learning platform."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: The connection every hook, operator, sensor and trigger of this provider uses by default.
DEFAULT_CONN_ID = "smartarena_default"

_PLACEHOLDER_URL = "https://esmartarena.com"
_INTEGRATION = "Smart ARENA"
_PKG = "airflow_provider_smartarena"


def _conn_fields() -> dict[str, Any]:
    """Extra connection fields, in the JSON-schema form the Airflow 3 UI renders."""
    return {
        "timezone": {
            "label": "Server time zone",
            "schema": {"type": ["string", "null"], "default": "UTC"},
            "description": "Time zone of the API's datetimes and of the updated_at filter (IANA name).",
        },
        "timeout": {
            "label": "Timeout (seconds)",
            "schema": {"type": ["number", "null"], "default": 60},
            "description": "Seconds each HTTP request may take in all: connect and the whole body.",
        },
        "verify_ssl": {
            "label": "Verify TLS",
            "schema": {"type": ["string", "null"], "default": "true"},
            "description": "true (default), false, or the path of a CA bundle file.",
        },
        "max_retries": {
            "label": "Max retries",
            "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
            "description": "Retries on connection errors, timeouts, 429 and 5xx.",
        },
        "page_size": {
            "label": "Page size",
            "schema": {"type": ["integer", "null"], "minimum": 1},
            "description": "Records per page where the API honours one (empty: the server default).",
        },
        "max_response_bytes": {
            "label": "Max response size (bytes)",
            "schema": {"type": ["integer", "null"], "default": 67108864, "minimum": 1024},
            "description": "Largest response body accepted, after decompression (default 64 MiB).",
        },
        "max_retry_wait": {
            "label": "Max Retry-After wait (seconds)",
            "schema": {"type": ["number", "null"], "default": 120, "minimum": 0},
            "description": "Longest wait a 429/503 Retry-After may ask for; a longer one fails the call.",
        },
        "max_requests_per_minute": {
            "label": "Max requests per minute",
            "schema": {"type": ["number", "null"], "minimum": 0.01},
            "description": "Pace requests to this rate (empty: learned from X-RateLimit-* headers).",
        },
        "allow_insecure_http": {
            "label": "Allow plain http:// to a non-loopback host",
            "schema": {"type": ["boolean", "null"], "default": False},
            "description": "The bearer token would travel in clear text; only for trusted networks.",
        },
    }


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata Airflow's ProvidersManager reads through the entry point."""
    return {
        "package-name": "airflow-provider-smartarena",
        "name": "Smart ARENA",
        "description": "Hooks, operators, sensors and transfers for the Smart ARENA learning platform API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://esmartarena.com",
                "tags": ["software"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.hooks.smartarena"]}],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_PKG}.operators.{m}" for m in ("users", "org", "courses", "sync")],
            }
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PKG}.sensors.activity"]}],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                # events: the AssetWatcher event trigger (Airflow 3; the module imports on Airflow 2 too)
                "python-modules": [f"{_PKG}.triggers.{m}" for m in ("activity", "events")],
            }
        ],
        "transfers": [
            {
                "source-integration-name": _INTEGRATION,
                "target-integration-name": "Common SQL",
                "python-module": f"{_PKG}.transfers.{m}",
            }
            for m in ("usercourses_to_sql", "resources_to_sql")
        ],
        "connection-types": [
            {
                "connection-type": "smartarena",
                "hook-class-name": "airflow_provider_smartarena.hooks.smartarena.SmartArenaHook",
                "hook-name": "Smart ARENA",
                "ui-field-behaviour": {
                    "hidden-fields": ["port", "schema"],
                    "relabeling": {
                        "host": "API base URL",
                        "login": "Client ID",
                        "password": "Client secret",
                    },
                    "placeholders": {
                        "host": _PLACEHOLDER_URL,
                        "login": "OAuth2 client_id",
                        "password": "OAuth2 client_secret",
                    },
                },
                "conn-fields": _conn_fields(),
            }
        ],
    }
