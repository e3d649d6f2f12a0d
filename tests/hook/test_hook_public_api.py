"""The hook's public API beyond the typed calls: what the probe and other tools build on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.exceptions import SmartArenaInputError
from airflow_provider_smartarena.hooks import SmartArenaHook, paging
from tests.hook.scripted import TOKEN_REPLY, Reply, ScriptedServer, connection_json


def test_the_default_connection_is_the_providers_one() -> None:
    assert SmartArenaHook.default_conn_name == DEFAULT_CONN_ID
    assert SmartArenaHook().smartarena_conn_id == DEFAULT_CONN_ID


@pytest.mark.parametrize(
    ("body", "style"),
    [
        ({"data": [{"id": 1}], "current_page": 1, "last_page": 3, "total": 30}, "pages"),
        ({"data": [{"id": 1}], "next_page_url": "https://h/api/x?page=2"}, "links"),
        ({"data": [{"id": 1}], "next_cursor": "abc", "next_page_url": None}, "cursor"),
        ([{"id": 1}], "pages"),
    ],
)
def test_paging_style_names_how_a_listing_pages(body: Any, style: str) -> None:
    records, meta = paging.parse_listing(body, method="GET", path="/api/x")
    assert records == [{"id": 1}]
    assert paging.paging_style(meta) == style


def test_new_token_counts_and_scrubs(
    scripted: Callable[..., ScriptedServer], make_hook: Callable[..., SmartArenaHook]
) -> None:
    server = scripted(lambda r: Reply(200, {"data": []}))
    hook = make_hook(connection_json(server.url, password="client-secret-xyz"))
    assert hook.token_requests == 0
    assert hook.new_token() == TOKEN_REPLY["expires_in"]
    assert hook.new_token() == TOKEN_REPLY["expires_in"]  # a fresh one each time, not the cache
    assert hook.token_requests == 2
    assert sum(r.path == "/oauth/access_token" for r in server.requests) == 2
    text = f"token {TOKEN_REPLY['access_token']} secret client-secret-xyz"
    assert hook.scrub(text) == "token *** secret ***"


def test_hook_params_are_the_keyword_arguments() -> None:
    names = SmartArenaHook.hook_param_names()
    assert {"max_retry_wait", "rate_limit_window", "timeout", "max_retries"} <= set(names)
    assert "logger_name" not in names
    assert "smartarena_conn_id" not in names
    with pytest.raises(SmartArenaInputError, match="hook_params: got list"):
        SmartArenaHook.check_hook_params([("timeout", 1)])  # type: ignore[arg-type]
    hook = SmartArenaHook.for_task("x", {"max_retry_wait": 7, "rate_limit_window": 30})
    assert hook._overrides["max_retry_wait"] == 7
