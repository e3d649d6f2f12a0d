"""Helpers for the sandbox's own tests: an authenticated client and a page walker."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_smartarena.sandbox.testing import SandboxServer

TIMEOUT = 30


def get_token(server: SandboxServer) -> str:
    response = requests.post(
        f"{server.url}/oauth/access_token",
        data={
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "grant_type": "client_credentials",
        },
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


class Api:
    """A requests session holding a bearer token for one sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {get_token(server)}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.server.url}{path}", params=params, timeout=TIMEOUT)

    def post(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        return self.session.post(f"{self.server.url}{path}", json=body, timeout=TIMEOUT, **kw)

    def put(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        return self.session.put(f"{self.server.url}{path}", json=body, timeout=TIMEOUT, **kw)

    def delete(self, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        return self.session.delete(f"{self.server.url}{path}", json=body, timeout=TIMEOUT, **kw)

    def ok(self, response: requests.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()


def records(body: Any) -> list[dict[str, Any]]:
    """The records of a list answer in any envelope."""
    if isinstance(body, list):
        return body
    data: list[dict[str, Any]] = body["data"]
    return data


def read_all(api: Api, path: str, max_pages: int = 1000, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every record of a list endpoint, page by page, stopping as a robust client would; + page count."""
    rows: list[dict[str, Any]] = []
    for page in range(1, max_pages + 1):
        body = api.ok(api.get(path, page=page, **params))
        batch = records(body)
        rows.extend(batch)
        if isinstance(body, dict) and "last_page" in body:
            if page >= body["last_page"]:
                return rows, page
        elif not batch:
            return rows, page
    raise AssertionError("runaway paging")


@pytest.fixture
def api(fresh_sandbox: SandboxServer) -> Api:
    """A client of a freshly reset sandbox (for tests that write)."""
    return Api(fresh_sandbox)


@pytest.fixture
def read_api(sandbox: SandboxServer) -> Api:
    """A client of the shared sandbox (read-only tests)."""
    return Api(sandbox)
