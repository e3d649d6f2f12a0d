"""Reading the connection: extras given as strings, bad extras, the http:// refusal, the UI classmethods."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_smartarena import get_provider_info
from airflow_provider_smartarena.exceptions import SmartArenaConfigError
from airflow_provider_smartarena.hooks._config import build_base_url, is_loopback, parse_bool, parse_verify
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

from .scripted import Reply, ScriptedServer, connection_json

MakeHook = Callable[..., SmartArenaHook]


def test_class_attributes() -> None:
    assert SmartArenaHook.conn_name_attr == "smartarena_conn_id"
    assert SmartArenaHook.default_conn_name == "smartarena_default"
    assert SmartArenaHook.conn_type == "smartarena"
    assert SmartArenaHook.hook_name == "Smart ARENA"
    assert SmartArenaHook().smartarena_conn_id == "smartarena_default"


def test_extras_as_strings_are_parsed(make_hook: MakeHook, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-")
    hook = make_hook(
        connection_json(
            "https://lms.example.com/",
            timezone="Europe/Ljubljana",
            timeout="12.5",
            verify_ssl=str(bundle),
            max_retries="2",
            page_size="250",
            allow_insecure_http="false",
        )
    )
    settings = hook.settings
    assert hook.base_url == "https://lms.example.com"
    assert str(hook.timezone) == "Europe/Ljubljana"
    assert (settings.timeout, settings.max_retries, settings.page_size) == (12.5, 2, 250)
    assert settings.verify == str(bundle)
    assert hook.get_conn().verify == str(bundle)


def test_blank_extras_take_defaults(make_hook: MakeHook) -> None:
    hook = make_hook(connection_json("esmartarena.com", timezone="", timeout="", page_size="", verify_ssl=""))
    settings = hook.settings
    assert hook.base_url == "https://esmartarena.com"
    assert (str(settings.timezone), settings.timeout, settings.max_retries, settings.page_size) == (
        "UTC",
        60,
        5,
        None,
    )
    assert settings.verify is True


def test_hook_arguments_override_extras(make_hook: MakeHook) -> None:
    hook = make_hook(
        connection_json("https://x.example", timeout=5, max_retries=9, page_size=10), timeout=1, page_size=3
    )
    assert (hook.settings.timeout, hook.settings.max_retries, hook.settings.page_size) == (1, 9, 3)


@pytest.mark.parametrize(
    ("extra", "value", "words"),
    [
        ("timeout", "soon", "'timeout' must be a number"),
        ("timeout", 0, "'timeout' must be a number"),
        ("max_retries", "2.5", "'max_retries' must be a whole number"),
        ("max_retries", -1, "'max_retries' must be a whole number"),
        ("page_size", "0", "'page_size' must be a whole number >= 1"),
        ("allow_insecure_http", "maybe", "'allow_insecure_http' must be true or false"),
        ("verify_ssl", "/no/such/bundle.pem", "'verify_ssl' must be true, false or the path"),
        ("timezone", "Mars/Olympus", "'timezone' must be an IANA time zone"),
    ],
)
def test_bad_extras_name_the_extra(make_hook: MakeHook, extra: str, value: Any, words: str) -> None:
    hook = make_hook(connection_json("https://x.example", **{extra: value}))
    with pytest.raises(SmartArenaConfigError, match=words):
        hook.get_conn()


def test_missing_credentials(make_hook: MakeHook) -> None:
    hook = make_hook(json.dumps({"conn_type": "smartarena", "host": "https://x.example"}))
    with pytest.raises(SmartArenaConfigError, match="client id as login and the client secret as password"):
        hook.get_users()


@pytest.mark.parametrize("value", [True, "true", "1", 1, "YES", "on"])
def test_parse_bool_true(value: Any) -> None:
    assert parse_bool("x", value, False) is True


@pytest.mark.parametrize("value", [False, "false", "0", 0, "No", "off"])
def test_parse_bool_false(value: Any) -> None:
    assert parse_bool("x", value, True) is False


def test_verify_false_warns(make_hook: MakeHook, log_events: list[dict[str, Any]]) -> None:
    hook = make_hook(connection_json("https://x.example", verify_ssl="false"))
    assert hook.get_conn().verify is False
    warnings = [e["event"] for e in log_events if e["log_level"] == "warning"]
    assert any("TLS certificate verification is off" in w for w in warnings)
    assert parse_verify("FALSE") is False


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
     ("10.0.0.1", False), ("example.com", False), ("localhost.example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_base_url_from_parts() -> None:
    assert build_base_url("lms.example.com", 8443, None) == "https://lms.example.com:8443"
    assert build_base_url("http://127.0.0.1:9/prefix/", None, None) == "http://127.0.0.1:9/prefix"
    assert build_base_url(None, None, None) == "https://esmartarena.com"
    with pytest.raises(SmartArenaConfigError, match="http"):
        build_base_url("ftp://x.example", None, None)


def test_plain_http_to_remote_host_is_refused_before_any_request(make_hook: MakeHook) -> None:
    hook = make_hook(connection_json("http://lms.example.com"))
    with pytest.raises(SmartArenaConfigError) as info:
        hook.get_users()
    message = str(info.value)
    assert "refusing plain http://" in message
    assert "allow_insecure_http" in message
    ok, text = hook.test_connection()
    assert not ok
    assert "allow_insecure_http" in text


def test_plain_http_allowed_when_the_connection_says_so(make_hook: MakeHook) -> None:
    hook = make_hook(connection_json("http://lms.example.com", allow_insecure_http="true"))
    assert hook.get_conn() is hook.get_conn()


def test_plain_http_to_loopback_is_allowed(
    make_hook: MakeHook, scripted: Callable[..., ScriptedServer]
) -> None:
    server = scripted(lambda request: Reply(200, {"data": []}))
    hook = make_hook(connection_json(server.url.replace("127.0.0.1", "localhost")))
    assert hook.get_locations() == []


def test_ui_field_behaviour_reuses_provider_info() -> None:
    behaviour = SmartArenaHook.get_ui_field_behaviour()
    declared = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert behaviour["hidden_fields"] == declared["hidden-fields"]
    assert behaviour["relabeling"] == declared["relabeling"]
    assert behaviour["placeholders"] == declared["placeholders"]


def test_connection_form_widgets_degrade_without_flask() -> None:
    widgets = SmartArenaHook.get_connection_form_widgets()
    try:
        import flask_appbuilder  # noqa: F401
    except ImportError:
        assert widgets == {}
    else:
        from airflow_provider_smartarena import _conn_fields

        assert set(widgets) == set(_conn_fields())


# Issue 17 #10: user info in the host is refused with the fix, and never echoed by any error.
@pytest.mark.parametrize(
    "host",
    [
        "https://cid:s3cr3t-in-url@lms.example.com",
        "https://cid:s3cr3t-in-url@lms.example.com/ api",
        "https://cid:s3cr3t-in-url@lms example.com",
        "cid:s3cr3t-in-url@lms.example.com",
        "ftp://cid:s3cr3t-in-url@lms.example.com",
        "http://a.example\\cid:s3cr3t-in-url@127.0.0.1",
        "https://cid:s3cr3t-in-url@",
    ],
)
def test_credentials_in_the_host_are_refused_and_never_echoed(make_hook: MakeHook, host: str) -> None:
    hook = make_hook(connection_json(host))
    with pytest.raises(SmartArenaConfigError, match="client secret in its password") as info:
        hook.get_conn()
    assert "s3cr3t-in-url" not in str(info.value)
    assert "s3cr3t-in-url" not in repr(info.value)


def test_an_at_sign_in_the_path_is_not_user_info() -> None:
    assert build_base_url("https://lms.example.com/@team", None, None) == "https://lms.example.com/@team"


# Issue 17 #12: "*.localhost" is not resolved by every resolver to this machine.
@pytest.mark.parametrize("host", ["evil.example;.localhost", "a.localhost", "localhost.", "0x7f.example"])
def test_only_literal_loopback_counts(host: str) -> None:
    assert is_loopback(host) is False


def test_http_to_a_dot_localhost_name_is_refused(make_hook: MakeHook) -> None:
    hook = make_hook(connection_json("http://evil.example;.localhost:8080"))
    with pytest.raises(SmartArenaConfigError, match="refusing plain http://"):
        hook.get_conn()
