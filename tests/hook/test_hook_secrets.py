"""The access token, the client secret and passwords never show: masked, and absent from errors and reprs."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import redact

from airflow_provider_smartarena.exceptions import SmartArenaError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

PASSWORD = "user-Passw0rd-never-shown"


def _secrets(hook: SmartArenaHook, sandbox: Any) -> list[str]:
    return [hook._tokens.get(), sandbox.client_secret, PASSWORD]


def _failures(hook: SmartArenaHook, sandbox: Any) -> list[SmartArenaError]:
    taken = sandbox.state("users")[0]["mapping_code"]
    calls = [
        lambda: hook.create_user(taken, "x.y@example.com", "X", "Y", password=PASSWORD),
        lambda: hook.update_user("nobody", password=PASSWORD),
        lambda: hook.delete_branch("nobody"),
    ]
    errors = []
    for call in calls:
        with pytest.raises(SmartArenaError) as info:
            call()
        errors.append(info.value)
    return errors


def test_token_and_secret_are_registered_with_the_masker(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    hook.get_locations()
    token = hook._tokens.get()
    assert redact(f"Bearer {token}") == "Bearer ***"
    assert str(redact(f"client_secret: {fresh_sandbox.client_secret}")).endswith(": ***")


def test_a_renewed_token_is_masked_too(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    hook.get_locations()
    first = hook._tokens.get()
    fresh_sandbox.revoke_tokens()
    hook.get_locations()  # 401, renewal, resend
    second = hook._tokens.get()
    assert first != second
    assert redact(second) == "***"


def test_errors_and_reprs_hold_no_secret(hook: SmartArenaHook, fresh_sandbox: Any) -> None:
    errors = _failures(hook, fresh_sandbox)
    secrets = _secrets(hook, fresh_sandbox)
    texts = [repr(hook), repr(hook.settings), str(hook.__dict__.get("_overrides"))]
    for error in errors:
        texts += [str(error), repr(error), json.dumps(error.response_body, default=str), str(vars(error))]
    for secret in secrets:
        assert not any(secret in text for text in texts), secret


def test_connection_errors_hold_no_secret(make_hook: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from .scripted import connection_json

    hook = make_hook(connection_json(f"http://127.0.0.1:{port}", password="client-secret-xyz", max_retries=1))
    with pytest.raises(SmartArenaError) as info:
        hook.get_users(email="a@example.com")
    assert "client-secret-xyz" not in str(info.value)
    assert "client-secret-xyz" not in repr(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_debug_logs_hold_no_secret(
    fresh_sandbox: Any, make_hook: Any, log_events: list[dict[str, Any]]
) -> None:
    fresh_sandbox.set_faults(page_size=50, error_rate=0.2, rate_limit_rate=0.1, seed=3)
    hook = make_hook(fresh_sandbox.connection_json(max_retries=10))
    list(hook.iter_user_courses())
    fresh_sandbox.revoke_tokens()
    _failures(hook, fresh_sandbox)
    text = "\n".join(json.dumps(event, default=str) for event in log_events)
    assert "GET /api/usercourses -> 200" in text  # DEBUG request lines were captured
    assert "retry" in text  # and INFO retry lines
    for secret in _secrets(hook, fresh_sandbox):
        assert secret not in text
