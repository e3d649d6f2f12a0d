"""Turning HTTP responses into results or provider exceptions.

Messages carry the method, the path (never the query string's secrets: there are none, the token
travels in a header) and the status, plus the server's own message; never the request body, which
may hold a password.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import requests

from airflow_provider_smartarena.exceptions import (
    SmartArenaAuthError,
    SmartArenaError,
    SmartArenaForbiddenError,
    SmartArenaNotFoundError,
    SmartArenaRateLimitError,
    SmartArenaResponseError,
    SmartArenaServerError,
    SmartArenaValidationError,
)

_MAX_MESSAGE = 300
# Decoding is most of the CPU a page costs; msgspec does it in a third of json.loads' time.
_decode = msgspec.json.Decoder().decode
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


def decode_json(response: requests.Response, method: str, path: str) -> Any:
    """Parse a response body as JSON; an empty body is ``{}``; anything else is an error."""
    content = response.content
    if not content or (len(content) < 16 and not content.strip()):  # no copy of large bodies
        return {}
    try:
        try:
            return _decode(content)
        except msgspec.DecodeError:
            pass
        # What msgspec refuses and Python accepts (NaN, lone surrogates, huge integers).
        return json.loads(content)
    except RecursionError:
        raise SmartArenaResponseError(
            f"the JSON body is nested too deeply to read ({len(content):,} bytes)",
            method=method,
            path=path,
            status=response.status_code,
        ) from None
    except ValueError:
        raise SmartArenaResponseError(
            f"the body is not valid JSON ({describe_body(response)}); it may be truncated or an error page",
            method=method,
            path=path,
            status=response.status_code,
        ) from None


def describe_body(response: requests.Response) -> str:
    """A short, single-line description of a body, for messages."""
    kind = response.headers.get("Content-Type", "no content type").split(";")[0].strip()
    # A prefix decoded leniently: no charset guessing over a large error page.
    try:
        head = response.content[:2000].decode(response.encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        head = response.content[:2000].decode("utf-8", "replace")
    text = _SPACE_RE.sub(" ", _TAG_RE.sub(" ", head)).strip()
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{kind}, {len(response.content)} bytes" + (f": {text!r}" if text else "")


def server_message(body: Any) -> str | None:
    """The human message of a JSON error body (``message``, ``error``, ``error_description``)."""
    if not isinstance(body, dict):
        return None
    parts = [body.get(key) for key in ("message", "error", "error_description")]
    texts = [str(p) for p in parts if isinstance(p, str | int) and str(p).strip()]
    text = " - ".join(dict.fromkeys(texts))
    return text[:_MAX_MESSAGE] if text else None


def field_errors(body: Any) -> dict[str, list[str]]:
    """The per-field messages of a 422 body (``{"errors": {field: [msg, ...]}}``), normalised."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    out: dict[str, list[str]] = {}
    for name, messages in errors.items():
        items = messages if isinstance(messages, list) else [messages]
        out[str(name)] = [str(m)[:_MAX_MESSAGE] for m in items]
    return out


def _error_body(response: requests.Response) -> tuple[Any, str]:
    try:
        body = json.loads(response.content) if response.content else None
    except RecursionError:
        return None, f"JSON body nested too deeply to read ({describe_body(response)})"
    except ValueError:
        return None, f"non-JSON body ({describe_body(response)})"
    return body, server_message(body) or (response.reason or "no message")


_STATUS_ERRORS: dict[int, type[SmartArenaError]] = {
    401: SmartArenaAuthError,
    403: SmartArenaForbiddenError,
    404: SmartArenaNotFoundError,
    429: SmartArenaRateLimitError,
}


def error_for(
    response: requests.Response,
    method: str,
    path: str,
    *,
    retry_after: float | None = None,
    hint: str | None = None,
) -> SmartArenaError:
    """The exception for a non-2xx response.

    It may quote what the server said, secrets included: the hook's scrubber cleans it before
    it is raised (see :mod:`~airflow_provider_smartarena.hooks._secrets`).

    :param retry_after: the wait the server asked for (429/503), kept on a rate-limit error.
    :param hint: appended to the server's message (e.g. why no retry was made).
    """
    status = response.status_code
    body, message = _error_body(response)
    if hint:
        message = f"{message} ({hint})"
    where: dict[str, Any] = {"method": method, "path": path, "status": status, "response_body": body}
    if status == 422 or (status == 400 and field_errors(body)):
        return SmartArenaValidationError(message, errors=field_errors(body), **where)
    if status == 429:
        return SmartArenaRateLimitError(message, retry_after=retry_after, **where)
    if status >= 500:
        return SmartArenaServerError(message, **where)
    if 300 <= status < 400:
        target = response.headers.get("Location", "nowhere")
        message = f"unexpected redirect to {target}; set the connection host to the API's final base URL"
    return _STATUS_ERRORS.get(status, SmartArenaResponseError)(message, **where)


def looks_like_error(body: Any) -> bool:
    """True for a 2xx body that is an error in disguise.

    ``{"error": ...}``, ``{"success": false}``, or a lone ``{"message": ...}`` where data was expected.
    """
    if not isinstance(body, dict):
        return False
    if body.get("error") or body.get("success") is False:
        return True
    return "message" in body and not any(isinstance(v, list | dict) for v in body.values())


def disguised_error(body: Any, method: str, path: str) -> SmartArenaResponseError:
    """The exception for a 2xx body that :func:`looks_like_error`, with the server's message."""
    return SmartArenaResponseError(
        f"HTTP 200 with an error body: {server_message(body) or 'the body reports failure'}",
        method=method,
        path=path,
        status=200,
        response_body=body,
    )
