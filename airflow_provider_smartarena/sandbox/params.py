"""Read a request's parameters from the query string and the body, whatever the method.

Sources, merged with the body winning over the query string (as Laravel's ``$request->input()``):
the query string; a JSON object body; a form-encoded or multipart body. ``key[]=a&key[]=b`` and a
repeated ``key`` both give a list. Empty strings become null (Laravel's ConvertEmptyStringsToNull).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from airflow_provider_smartarena.sandbox.errors import ApiError


def pairs_to_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Parameters from decoded ``key=value`` pairs; ``key[]`` and repeated keys make lists."""
    params: dict[str, Any] = {}
    for raw_key, value in pairs:
        is_array = raw_key.endswith("[]")
        key = raw_key[:-2] if is_array else raw_key
        if key in params:
            current = params[key]
            params[key] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            params[key] = [value] if is_array else value
    return params


def empty_to_null(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, list):
        return [empty_to_null(item) for item in value]
    return value


async def read_params(request: Request) -> dict[str, Any]:
    """All parameters of ``request``; 400 when the body is not a JSON object or cannot be read."""
    query = pairs_to_params(parse_qsl(request.url.query, keep_blank_values=True))
    body = await _read_body(request)
    merged = {**query, **body}
    return {key: empty_to_null(value) for key, value in merged.items()}


async def _read_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        return pairs_to_params([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    raw = await request.body()
    if not raw.strip():
        return {}
    if content_type == "application/x-www-form-urlencoded":
        return pairs_to_params(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        data = json.loads(raw)
        # An escaped lone surrogate ("\ud800") is valid JSON syntax but no text: PHP's json_decode
        # refuses it, and stored here it would make every later answer holding it fail to encode.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data
