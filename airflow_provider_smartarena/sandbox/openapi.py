"""The OpenAPI 3.1 document of the modelled API, built from the route table and the response models."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from airflow_provider_smartarena.sandbox import schemas
from airflow_provider_smartarena.sandbox.routes import ROUTES, Route
from airflow_provider_smartarena.sandbox.validation import (
    DATE,
    DATETIME,
    EMAIL,
    FLAG,
    INT_ARRAY,
    INTEGER,
    STRING_ARRAY,
    Rule,
)

REF = "#/components/schemas/{model}"
DESCRIPTION = """A local emulator of the Smart ARENA REST API (see docs/sandbox.md).

Parameters are read from the query string and from a JSON (or form-encoded) body on every method; the
body wins. Datetimes are `YYYY-MM-DD HH:MM:SS` in the server time zone. List endpoints answer with the
envelope set by the `envelope` fault setting: a Laravel paginator, `{"data": [...]}`, a bare list, a
cursor paginator (`?cursor=`, `page` ignored) or an unpaged bare list (`page` ignored).
Every `/api` call needs `Authorization: Bearer <token>` from `POST /oauth/access_token`.
"""


class _Builder:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def schema_of(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=REF, mode="serialization")
        self.components.update(schema.pop("$defs", {}))
        return schema

    def list_schema(self, record: Any) -> dict[str, Any]:
        return {
            "oneOf": [
                self.schema_of(schemas.Page[record]),
                self.schema_of(schemas.DataList[record]),
                self.schema_of(list[record]),
            ]
        }

    def operation(self, route: Route) -> dict[str, Any]:
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}{route.path.replace('/', '_')}",
            "tags": [route.tag],
        }
        if route.method == "GET":
            op["parameters"] = [_query_parameter(rule) for rule in route.rules]
        else:
            body = _object_schema(route.rules)
            op["requestBody"] = {
                "required": any(rule.required for rule in route.rules),
                "content": {
                    "application/json": {"schema": body},
                    "application/x-www-form-urlencoded": {"schema": body},
                },
            }
        success = self.list_schema(route.response) if route.listing else self.schema_of(route.response)
        op["responses"] = {
            str(route.status): {
                "description": "Success",
                "content": {"application/json": {"schema": success}},
            },
            **self._error_responses(route),
        }
        if route.auth:
            op["security"] = [{"bearer": []}]
        return op

    def _error_responses(self, route: Route) -> dict[str, Any]:
        error = {"content": {"application/json": {"schema": self.schema_of(schemas.Error)}}}
        responses: dict[str, Any] = {"422": {"description": "Validation failed", **error}}
        if route.auth:
            responses["401"] = {"description": "Missing, expired or revoked token", **error}
        else:
            oauth_error = {"content": {"application/json": {"schema": self.schema_of(schemas.OAuthError)}}}
            responses["400"] = {"description": "Unsupported grant type", **oauth_error}
            responses["401"] = {"description": "Client authentication failed", **oauth_error}
        if route.method in ("PUT", "DELETE") or route.path.startswith(
            ("/api/courses/", "/api/coursemappingcode")
        ):
            responses["404"] = {"description": "Unknown mapping_code", **error}
        if route.path == "/api/users" and route.method in ("PUT", "DELETE"):
            responses["403"] = {"description": "The user is synch_protected", **error}
        responses["429"] = {
            "description": "Rate limited (injected fault)",
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
        }
        return responses


def _value_schema(rule: Rule) -> dict[str, Any]:
    schema: dict[str, Any]
    if rule.kind in (INTEGER, FLAG):
        schema = {"type": "integer"}
        choices = rule.choices if rule.kind == INTEGER else (0, 1)
        if choices:
            schema["enum"] = list(choices)
        if rule.minimum is not None:
            schema["minimum"] = rule.minimum
    elif rule.kind == INT_ARRAY:
        items: dict[str, Any] = {"type": "integer"}
        if rule.choices:
            items["enum"] = list(rule.choices)
        schema = {"type": "array", "items": items}
    elif rule.kind == STRING_ARRAY:
        schema = {"type": "array", "items": {"type": "string", "minLength": 1}}
    elif rule.kind == DATE:
        schema = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    elif rule.kind == DATETIME:
        schema = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$"}
    else:
        schema = {"type": "string"}
        if rule.kind == EMAIL:
            schema["format"] = "email"
        if rule.choices:
            schema["enum"] = list(rule.choices)
        if rule.max_length:
            schema["maxLength"] = rule.max_length
    if rule.description:
        schema["description"] = rule.description
    if rule.nullable:
        return {"anyOf": [schema, {"type": "null"}], "description": rule.description}
    return schema


def _query_parameter(rule: Rule) -> dict[str, Any]:
    return {"name": rule.name, "in": "query", "required": rule.required, "schema": _value_schema(rule)}


def _object_schema(rules: tuple[Rule, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {rule.name: _value_schema(rule) for rule in rules},
        "required": [rule.name for rule in rules if rule.required],
    }


def build_openapi(version: str) -> dict[str, Any]:
    builder = _Builder()
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = builder.operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Smart ARENA API (sandbox)", "version": version, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
