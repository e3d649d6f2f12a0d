"""Property test driven by /openapi.json: random valid-ish and invalid parameters for every operation.

With faults off, no answer may be a 5xx; every 2xx body must match the documented response schema,
and every 4xx body must be an error object with a message.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from airflow_provider_smartarena.sandbox.openapi import build_openapi
from airflow_provider_smartarena.sandbox.testing import SandboxServer

from .conftest import TIMEOUT, get_token

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.integers(-5, 300), max_size=3),
    st.dictionaries(st.text(string.ascii_lowercase, max_size=5), st.integers(), max_size=2),
)
DATE_TEXT = st.dates().map(lambda d: d.strftime("%Y-%m-%d"))
DATETIME_TEXT = st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))


def _known_codes(server: SandboxServer) -> dict[str, list[Any]]:
    truth = server.state(modules_data=False)
    return {
        "users": [*[u["mapping_code"] for u in truth["users"]][:20], "root"],
        "org": [
            r["mapping_code"]
            for k in ("branches", "locations", "workplaces", "qualifications")
            for r in truth[k]
        ],
        "courses": [c["mapping_code"] for c in truth["courses"]],
        "content": [c["id"] for c in truth["content"]],
    }


def _codes_for(name: str, codes: dict[str, list[Any]]) -> list[Any]:
    if name in ("users_mapping_codes", "instructor_mapping_code", "user_mapping_code"):
        return codes["users"]
    if name in ("content_id", "prerequired_content"):
        return codes["content"]
    return codes["users"] + codes["org"] + codes["courses"]


def value_strategy(name: str, schema: dict[str, Any], codes: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Mostly valid values for ``schema`` (known mapping codes where a key is expected), sometimes junk."""
    if "anyOf" in schema:
        return st.one_of(*(value_strategy(name, s, codes) for s in schema["anyOf"]))
    kind = schema.get("type")
    if "enum" in schema:
        valid: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
    elif kind == "integer":
        valid = (
            st.sampled_from(_codes_for(name, codes))
            if name.endswith("content") or name == "content_id"
            else (st.integers(min_value=schema.get("minimum", -3), max_value=400))
        )
    elif kind == "array":
        items = schema["items"]
        element = (
            st.sampled_from(_codes_for(name, codes))
            if items.get("type") == "string"
            else value_strategy(name, items, codes)
        )
        valid = st.lists(element, max_size=4)
    elif kind == "null":
        valid = st.none()
    elif schema.get("format") == "date":
        valid = DATE_TEXT
    elif "pattern" in schema:
        valid = st.one_of(DATE_TEXT, DATETIME_TEXT)
    elif schema.get("format") == "email":
        valid = st.emails()
    elif "mapping_code" in name:
        valid = st.one_of(
            st.sampled_from(_codes_for(name, codes)),
            st.text(string.ascii_lowercase + "-", min_size=1, max_size=8),
        )
    else:
        valid = st.text(max_size=40)
    return st.one_of(valid, valid, valid, JUNK)


def operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if path != "/oauth/access_token"
    ]


@pytest.fixture(scope="module")
def doc(sandbox: SandboxServer) -> dict[str, Any]:
    document: dict[str, Any] = requests.get(f"{sandbox.url}/openapi.json", timeout=TIMEOUT).json()
    return document


def test_document_covers_every_documented_call(doc: dict[str, Any]) -> None:
    crud = ("users", "branches", "locations", "workplaces", "qualifications", "courses")
    expected = {(f"/api/{r}", m) for r in crud for m in ("get", "post", "put", "delete")} | {
        ("/oauth/access_token", "post"),
        ("/api/content", "get"),
        ("/api/courses/addusers", "post"),
        ("/api/courses/removeusers", "post"),
        ("/api/coursemappingcode", "post"),
        ("/api/usercourses", "get"),
    }
    assert {(p, m) for p, item in doc["paths"].items() for m in item} == expected
    usercourses = {p["name"] for p in doc["paths"]["/api/usercourses"]["get"]["parameters"]}
    assert {"updated_at", "date_finished", "page", "user_mapping_code", "modules_data", "type"} <= usercourses


def _request_strategy(
    operation: dict[str, Any], codes: dict[str, list[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    if "parameters" in operation:
        fields = {p["name"]: p["schema"] for p in operation["parameters"]}
    else:
        fields = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    optional = {name: value_strategy(name, schema, codes) for name, schema in fields.items()}
    return st.fixed_dictionaries({}, optional=optional)


def _check_response(response: requests.Response, operation: dict[str, Any], doc: dict[str, Any]) -> None:
    assert response.status_code < 500, f"{response.request.method} {response.request.url}: {response.text}"
    body = response.json()
    if response.status_code >= 300:
        assert isinstance(body.get("message"), str), body
        return
    documented = operation["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    schema = {**documented, "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{response.request.url}: {errors[0].message}"


OPERATIONS = operations(build_openapi("test"))  # the same document the server serves (asserted below)


def test_served_document_is_the_built_one(doc: dict[str, Any]) -> None:
    assert operations(doc) == OPERATIONS


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_5xx_and_bodies_match_schema(
    fresh_sandbox: SandboxServer, doc: dict[str, Any], path: str, method: str
) -> None:
    operation = doc["paths"][path][method]
    codes = _known_codes(fresh_sandbox)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {get_token(fresh_sandbox)}"
    url = f"{fresh_sandbox.url}{path}"
    statuses: list[int] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(params=_request_strategy(operation, codes), as_form=st.booleans())
    def run(params: dict[str, Any], as_form: bool) -> None:
        if method == "get":
            query = {k: v for k, v in params.items() if not isinstance(v, dict)}
            response = session.get(url, params=query, timeout=TIMEOUT)
        elif as_form and all(not isinstance(v, dict) for v in params.values()):
            form = {(f"{k}[]" if isinstance(v, list) else k): v for k, v in params.items() if v is not None}
            response = session.request(method, url, data=form, timeout=TIMEOUT)
        else:
            response = session.request(method, url, json=params, timeout=TIMEOUT)
        statuses.append(response.status_code)
        _check_response(response, operation, doc)

    run()
    if method == "get":
        assert any(status == 200 for status in statuses), statuses  # the strategies do reach the happy path
