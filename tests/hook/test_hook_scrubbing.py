"""A server that quotes back what it was sent: no secret reaches an exception, its body or its repr.

Issue 17 #9: the client secret, every token issued to the hook (current and expired) and the
secret fields of the call are removed from everything built from a response, in one place.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaError, SmartArenaResponseError
from airflow_provider_smartarena.hooks._secrets import REDACTED, Scrubber

from .scripted import Reply, Request, ScriptedServer, connection_json

CLIENT_SECRET = "client-Secret-7f3a9c"
PASSWORD = "user-Passw0rd-echoed"


def _echo(request: Request) -> str:
    """Everything secret in a request, as a careless server would quote it."""
    sent = request.json() or {}
    return f"auth={request.headers.get('Authorization')} password={sent.get('password')}"


def _texts(error: SmartArenaError) -> list[str]:
    body = json.dumps(error.response_body, default=str)
    return [str(error), repr(error), body, str(vars(error)), str(error.args)]


def _assert_clean(error: SmartArenaError, secrets: list[str]) -> None:
    for text in _texts(error):
        for secret in secrets:
            assert secret not in text, (secret, text)


@pytest.fixture
def echoing(scripted: Callable[..., ScriptedServer], make_hook: Any) -> Any:
    """``echoing(route)`` -> (server, hook) with tokens that change at every request."""

    def start(route: Callable[[Request], Reply], **extras: Any) -> Any:
        server = scripted(route)
        numbers = itertools.count(1)
        issued: list[str] = []

        def token(request: Request) -> Reply:
            value = f"tok-{next(numbers)}-0123456789abcdef"
            issued.append(value)
            return Reply(200, {"access_token": value, "expires_in": 3600})

        server.token_reply = token
        conn = connection_json(server.url, password=CLIENT_SECRET, max_retries=1, **extras)
        return server, make_hook(conn), issued

    return start


@pytest.mark.parametrize("status", [400, 403, 404, 422, 500, 503])
def test_an_error_body_quoting_the_token_and_password_is_scrubbed(echoing: Any, status: int) -> None:
    def route(request: Request) -> Reply:
        quoted = _echo(request)
        return Reply(
            status, {"message": f"refused: {quoted}", "errors": {"password": [quoted]}, "echo": quoted}
        )

    _, hook, issued = echoing(route)
    with pytest.raises(SmartArenaError) as info:
        hook.create_user("u-1", "a@example.com", "A", "B", password=PASSWORD)
    assert "refused" in str(info.value)
    _assert_clean(info.value, [*issued, PASSWORD, CLIENT_SECRET])
    assert issued, "the call was authenticated"


def test_an_html_error_page_quoting_the_secret_is_scrubbed(echoing: Any) -> None:
    def route(request: Request) -> Reply:
        page = f"<html><body>Bad request from {_echo(request)} with {CLIENT_SECRET}</body></html>"
        return Reply(400, raw=page.encode(), headers={"Content-Type": "text/html"})

    _, hook, issued = echoing(route)
    with pytest.raises(SmartArenaError) as info:
        hook.update_user("u-1", password=PASSWORD)
    _assert_clean(info.value, [*issued, PASSWORD, CLIENT_SECRET])


@pytest.mark.parametrize("method", ["create", "read"])
def test_a_200_error_body_quoting_secrets_is_scrubbed(echoing: Any, method: str) -> None:
    def route(request: Request) -> Reply:
        return Reply(200, {"error": f"cannot do it: {_echo(request)} / {CLIENT_SECRET}"})

    _, hook, issued = echoing(route)

    def call() -> Any:
        if method == "create":
            return hook.create_user("u-1", "a@example.com", "A", "B", password=PASSWORD)
        return hook.get_users()

    with pytest.raises(SmartArenaError) as info:
        call()
    assert "cannot do it" in str(info.value)
    _assert_clean(info.value, [*issued, PASSWORD, CLIENT_SECRET])


def test_an_expired_token_quoted_after_renewal_is_scrubbed(echoing: Any) -> None:
    seen: list[str] = []

    def route(request: Request) -> Reply:
        seen.append(request.headers.get("Authorization", ""))
        if len(seen) == 1:
            return Reply(401, {"message": "Unauthenticated."})
        return Reply(500, {"message": f"every token you sent: {' '.join(seen)}"})

    _, hook, issued = echoing(route)
    with pytest.raises(SmartArenaError) as info:
        hook.get_users()
    assert len(issued) == 2, issued
    _assert_clean(info.value, [*issued, CLIENT_SECRET])


def test_a_non_json_token_answer_quoting_the_secret_is_scrubbed(echoing: Any) -> None:
    def route(request: Request) -> Reply:
        return Reply(200, [])

    server, hook, _ = echoing(route)

    def token(request: Request) -> Reply:
        return Reply(
            200, raw=b"<html>you sent " + request.body + b"</html>", headers={"Content-Type": "text/html"}
        )

    server.token_reply = token
    with pytest.raises(SmartArenaError) as info:
        hook.get_users()
    assert "client_id=client" in str(info.value), "the quoted form is kept, minus the secret"
    _assert_clean(info.value, [CLIENT_SECRET])


def test_a_refused_token_request_quoting_the_secret_is_scrubbed(echoing: Any) -> None:
    server, hook, _ = echoing(lambda request: Reply(200, []))
    server.token_reply = lambda request: Reply(401, {"message": f"bad client: {request.body.decode()}"})
    with pytest.raises(SmartArenaError) as info:
        hook.get_users()
    _assert_clean(info.value, [CLIENT_SECRET])


ODD_SECRET = 'odd "Secret"\\ with&=%é\r\n'


@pytest.mark.parametrize(
    "quoted",
    [
        pytest.param(lambda s: repr(s), id="repr"),
        pytest.param(lambda s: repr(s.encode()), id="bytes-repr"),
        pytest.param(lambda s: json.dumps(s), id="json"),
        pytest.param(lambda s: json.dumps(s, ensure_ascii=False), id="json-utf8"),
        pytest.param(lambda s: quote_plus(s), id="form"),
        pytest.param(lambda s: quote(s, safe=""), id="url"),
    ],
)
def test_a_secret_is_scrubbed_in_its_quoted_forms(quoted: Callable[[str], str]) -> None:
    scrubber = Scrubber()
    scrubber.add(ODD_SECRET)
    error = SmartArenaResponseError(
        f"Invalid header value {quoted(ODD_SECRET)}!", method="GET", path="/api/x"
    )
    assert REDACTED in str(scrubber.clean(error))
    text = str(error)
    assert "Secret" not in text, text
    # A call's own secret (a password it sends) too.
    other = SmartArenaResponseError(f"echo: {quoted(ODD_SECRET)}", method="GET", path="/api/x")
    assert "Secret" not in str(Scrubber().clean(other, [ODD_SECRET]))


def test_an_odd_client_secret_echoed_raw_by_the_token_endpoint_is_scrubbed(
    scripted: Callable[..., ScriptedServer], make_hook: Any
) -> None:
    server = scripted(lambda request: Reply(200, []))
    # The form body as it was sent (the secret percent-encoded), echoed in an HTML page.
    server.token_reply = lambda request: Reply(
        500, raw=b"<html>you sent " + request.body + b"</html>", headers={"Content-Type": "text/html"}
    )
    hook = make_hook(connection_json(server.url, password=ODD_SECRET, max_retries=0))
    with pytest.raises(SmartArenaError) as info:
        hook.get_users()
    assert "client_id=client" in str(info.value)
    for text in _texts(info.value):
        assert "Secret" not in text, text


def test_a_token_that_cannot_be_a_header_is_refused_and_not_quoted(
    scripted: Callable[..., ScriptedServer], make_hook: Any
) -> None:
    server = scripted(lambda request: Reply(200, []))
    server.token_reply = Reply(200, {"access_token": "tok-Injected-42\r\nX-Admin: 1", "expires_in": 3600})
    hook = make_hook(connection_json(server.url, max_retries=0))
    with pytest.raises(SmartArenaResponseError, match="access_token is not usable as a bearer token") as info:
        hook.get_users()
    for text in _texts(info.value):
        assert "Injected" not in text, text
    assert server.api_requests() == [], "a request was sent with the broken token"
