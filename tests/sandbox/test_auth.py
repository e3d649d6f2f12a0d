"""POST /oauth/access_token and the bearer token on /api calls."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_smartarena.sandbox.testing import SandboxServer

from .conftest import TIMEOUT, Api, get_token


def _token_request(server: SandboxServer, **kw: object) -> requests.Response:
    return requests.post(f"{server.url}/oauth/access_token", timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def _credentials(server: SandboxServer) -> dict[str, str]:
    return {
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "grant_type": "client_credentials",
    }


def test_form_encoded_token(sandbox: SandboxServer) -> None:
    response = _token_request(sandbox, data=_credentials(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32


def test_json_token_and_basic_auth(sandbox: SandboxServer) -> None:
    assert _token_request(sandbox, json=_credentials(sandbox)).status_code == 200
    basic = _token_request(
        sandbox, data={"grant_type": "client_credentials"}, auth=(sandbox.client_id, sandbox.client_secret)
    )
    assert basic.status_code == 200


def test_tokens_are_unique(sandbox: SandboxServer) -> None:
    assert get_token(sandbox) != get_token(sandbox)


@pytest.mark.parametrize(
    "change",
    [{"client_secret": "wrong"}, {"client_id": "someone-else"}, {"client_secret": None}],
)
def test_wrong_client_is_401(sandbox: SandboxServer, change: dict[str, object]) -> None:
    body = {**_credentials(sandbox), **change}
    response = _token_request(sandbox, data={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["message"]


@pytest.mark.parametrize("grant", ["password", None])
def test_wrong_grant_type_is_400(sandbox: SandboxServer, grant: str | None) -> None:
    body = {**_credentials(sandbox), "grant_type": grant}
    response = _token_request(sandbox, data={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "bearer"])
def test_api_without_valid_token_is_401(sandbox: SandboxServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/api/users", "/api/usercourses", "/api/courses"):
        response = requests.get(f"{sandbox.url}{path}", headers=headers, timeout=TIMEOUT)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthenticated."}
    write = requests.post(f"{sandbox.url}/api/users", json={}, headers=headers, timeout=TIMEOUT)
    assert write.status_code == 401


def test_token_expires_after_ttl(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.set_faults(token_ttl=1)
    api = Api(fresh_sandbox)
    assert api.get("/api/locations").status_code == 200
    time.sleep(1.2)
    assert api.get("/api/locations").status_code == 401
    assert _token_request(fresh_sandbox, data=_credentials(fresh_sandbox)).json()["expires_in"] == 1


def test_revoked_tokens_are_401(fresh_sandbox: SandboxServer) -> None:
    api = Api(fresh_sandbox)
    assert fresh_sandbox.revoke_tokens() >= 1
    assert api.get("/api/locations").status_code == 401


def test_admin_and_docs_need_no_token(sandbox: SandboxServer) -> None:
    for path in ("/_sandbox/health", "/_sandbox/faults", "/openapi.json"):
        assert requests.get(f"{sandbox.url}{path}", timeout=TIMEOUT).status_code == 200
