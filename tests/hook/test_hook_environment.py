"""The environment the hook's session takes: proxies and CA bundle yes, .netrc no."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

MakeHook = Callable[..., SmartArenaHook]


def test_a_netrc_entry_for_the_host_does_not_replace_the_bearer_token(
    fresh_sandbox: Any, make_hook: MakeHook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password elsewhere\n", encoding="ascii")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    hook = make_hook(fresh_sandbox.connection_json())
    assert hook.get_users(), "the read failed: Basic auth from .netrc replaced the bearer token"
    assert fresh_sandbox.stats()["by_status"].get("401") is None


def test_proxies_come_from_the_environment_once_and_no_proxy_is_honoured(
    fresh_sandbox: Any, make_hook: MakeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    bypassed = make_hook(fresh_sandbox.connection_json())
    assert bypassed.get_conn().proxies == {}
    assert bypassed.get_users()

    monkeypatch.setenv("NO_PROXY", "example.invalid")
    proxied = make_hook(fresh_sandbox.connection_json())
    assert proxied.get_conn().proxies.get("http") == "http://proxy.invalid:3128"


def test_a_ca_bundle_named_by_the_environment_applies_unless_the_connection_names_one(
    make_hook: MakeHook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_bundle, own_bundle = tmp_path / "env.pem", tmp_path / "own.pem"
    for bundle in (env_bundle, own_bundle):
        bundle.write_text("", encoding="ascii")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(env_bundle))
    # A distinctive password: the masker of Airflow 2.11 would hide a short one in every later test.
    base = (
        '{"conn_type": "smartarena", "host": "https://api.example.invalid", '
        '"login": "c", "password": "env-test-pw-7f3a"'
    )
    assert make_hook(base + "}")._verify == str(env_bundle)
    own = make_hook(base + f', "extra": {{"verify_ssl": "{own_bundle}"}}}}')
    assert own._verify == str(own_bundle)
    assert make_hook(base + ', "extra": {"verify_ssl": false}}')._verify is False
