"""The connection form: Airflow 2's Flask widgets and the UI field behaviour, from one declaration.

Both are read from ``get_provider_info()`` (``conn-fields``, ``ui-field-behaviour``), which the
Airflow 3 UI renders directly.
"""

from __future__ import annotations

from typing import Any


def connection_form_widgets() -> dict[str, Any]:
    """Extra fields of the Airflow 2 connection form ({} on Airflow 3, which has no Flask form)."""
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional
    except ImportError:  # Airflow 3 has no Flask form: the UI renders conn-fields instead.
        return {}
    from airflow_provider_smartarena import _conn_fields

    fields = _conn_fields()

    def text(name: str) -> Any:
        widget = BS3TextFieldWidget()
        return StringField(lazy_gettext(fields[name]["label"]), widget=widget, validators=[Optional()])

    def number(name: str) -> Any:
        minimum = fields[name]["schema"].get("minimum", 0)
        return IntegerField(
            lazy_gettext(fields[name]["label"]),
            widget=BS3TextFieldWidget(),
            validators=[Optional(), NumberRange(min=minimum)],
        )

    return {
        "timezone": text("timezone"),
        "timeout": text("timeout"),
        "verify_ssl": text("verify_ssl"),
        "max_retries": number("max_retries"),
        "page_size": number("page_size"),
        "max_response_bytes": number("max_response_bytes"),
        "max_retry_wait": text("max_retry_wait"),
        "max_requests_per_minute": text("max_requests_per_minute"),
        "allow_insecure_http": BooleanField(lazy_gettext(fields["allow_insecure_http"]["label"])),
    }


def ui_field_behaviour(conn_type_name: str) -> dict[str, Any]:
    """Relabelled and hidden standard fields of ``conn_type_name``, as ``get_provider_info()`` declares."""
    from airflow_provider_smartarena import get_provider_info

    (conn_type,) = (
        c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type_name
    )
    # provider.yaml spells the keys with hyphens, the legacy classmethod with underscores.
    return {key.replace("-", "_"): value for key, value in conn_type["ui-field-behaviour"].items()}
