"""OAuth2 client_credentials tokens: issued by /oauth/access_token, checked on every /api call."""

from __future__ import annotations

import base64
import secrets
import time
from binascii import Error as BinasciiError
from typing import Any

from airflow_provider_smartarena.sandbox.errors import ApiError

UNAUTHENTICATED = ApiError(401, "Unauthenticated.")
UNSUPPORTED_GRANT = "The authorization grant type is not supported by the authorization server."


class TokenRegistry:
    """Bearer tokens and their expiry.

    Expiry runs on real monotonic time, so moving the sandbox clock does not expire tokens.
    """

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def issue(self, ttl: int) -> str:
        self._prune()
        token = secrets.token_urlsafe(32)
        self._expiry[token] = time.monotonic() + ttl
        return token

    def valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and time.monotonic() < expiry

    def revoke_all(self) -> int:
        count = len(self._expiry)
        self._expiry.clear()
        return count

    def _prune(self) -> None:
        if len(self._expiry) > 1000:
            now = time.monotonic()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """client_id and client_secret from an HTTP Basic header (RFC 6749 2.3.1 allows it)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (BinasciiError, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def check_client(
    params: dict[str, Any], authorization: str | None, client_id: str, client_secret: str
) -> None:
    """Raise the OAuth error a Laravel Passport server gives for a bad grant or a bad client."""
    if params.get("grant_type") != "client_credentials":
        raise ApiError(
            400,
            UNSUPPORTED_GRANT,
            extra={
                "error": "unsupported_grant_type",
                "error_description": UNSUPPORTED_GRANT,
            },
        )
    given = (params.get("client_id"), params.get("client_secret"))
    if given == (None, None):
        given = basic_credentials(authorization) or given
    if not (
        isinstance(given[0], str)
        and isinstance(given[1], str)
        and secrets.compare_digest(given[0].encode(), client_id.encode())
        and secrets.compare_digest(given[1].encode(), client_secret.encode())
    ):
        raise ApiError(
            401,
            "Client authentication failed",
            extra={"error": "invalid_client", "error_description": "Client authentication failed"},
        )
