"""Errors raised by the Smart ARENA provider.

They carry the HTTP method, path and status of the failing call and the server's message, and never
a token, a client secret or a password: the request body is not part of any message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException


class SmartArenaError(AirflowException):
    """Base class of every error of this provider."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        response_body: Any = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.response_body = response_body
        super().__init__(self._render())

    def redact(self, clean: Callable[[Any], Any]) -> None:
        """Pass everything built from the server's answer through ``clean`` (the hook's scrubber).

        :param clean: returns its argument with every secret replaced.
        """
        self.message = clean(self.message)
        self.response_body = clean(self.response_body)
        self.args = (self._render(),)

    def _render(self) -> str:
        where = " ".join(p for p in (self.method, self.path) if p)
        status = f" -> HTTP {self.status}" if self.status is not None else ""
        return f"{where}{status}: {self.message}" if where or status else self.message


class SmartArenaInputError(SmartArenaError, ValueError):
    """An argument is invalid; raised before any request is sent.

    :param field: the parameter at fault, as the API names it.
    :param allowed: what the parameter accepts, in words.
    """

    def __init__(self, field: str, problem: str, allowed: str | None = None) -> None:
        self.field = field
        self.allowed = allowed
        text = f"{field}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


class SmartArenaConfigError(SmartArenaError):
    """The connection is unusable as configured (missing credentials, insecure URL ...)."""


class SmartArenaAuthError(SmartArenaError):
    """401: bad client credentials, or a token the server no longer accepts."""


class SmartArenaForbiddenError(SmartArenaError):
    """403: the client may not do this (e.g. the record is protected)."""


class SmartArenaNotFoundError(SmartArenaError):
    """404: no record with that mapping_code."""


class SmartArenaValidationError(SmartArenaError):
    """422: the server rejected the data; ``errors`` holds its per-field messages."""

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None, **kwargs: Any) -> None:
        self.errors: dict[str, list[str]] = errors or {}
        details = "; ".join(f"{f}: {' '.join(m)}" for f, m in self.errors.items())
        super().__init__(f"{message} [{details}]" if details else message, **kwargs)

    def redact(self, clean: Callable[[Any], Any]) -> None:
        self.errors = clean(self.errors)
        super().redact(clean)


class SmartArenaRateLimitError(SmartArenaError):
    """429 that was not retried further.

    Either every retry was spent, or the server asked (``Retry-After``) for a longer wait than
    ``max_retry_wait`` allows, and no retry was made; the message says which.

    :param retry_after: the wait the server asked for, seconds (None when it did not say).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class SmartArenaServerError(SmartArenaError):
    """5xx after every retry was spent (or after a ``Retry-After`` longer than ``max_retry_wait``)."""


class SmartArenaConnectionError(SmartArenaError):
    """The server could not be reached, or the connection broke, after every retry was spent."""


class SmartArenaTLSError(SmartArenaConnectionError):
    """The server's TLS certificate could not be verified."""


class SmartArenaResponseError(SmartArenaError):
    """The server answered with something the provider cannot trust (bad JSON, wrong shape, a loop)."""
