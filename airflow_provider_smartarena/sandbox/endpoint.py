"""The glue between HTTP and the handlers: token check, parameters, errors, JSON, persistence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_smartarena.sandbox.auth import UNAUTHENTICATED, bearer_token
from airflow_provider_smartarena.sandbox.errors import ApiError
from airflow_provider_smartarena.sandbox.paging import PageRequest, page_size_for, paginate
from airflow_provider_smartarena.sandbox.params import read_params
from airflow_provider_smartarena.sandbox.state import SandboxState
from airflow_provider_smartarena.sandbox.store import Store
from airflow_provider_smartarena.sandbox.validation import Rule, check, validate

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Call:
    """One API call as the handlers see it."""

    state: SandboxState
    request: Request
    params: dict[str, Any]

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def zone(self) -> ZoneInfo:
        return self.state.zone

    def now(self) -> int:
        return self.state.now()

    def valid(self, rules: tuple[Rule, ...]) -> dict[str, Any]:
        return validate(self.params, rules, self.zone)

    def check(self, rules: tuple[Rule, ...]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Cleaned valid values and the errors so far (handlers add reference checks, then raise)."""
        return check(self.params, rules, self.zone)

    def page_request(self, cleaned: dict[str, Any], paged_endpoint: bool) -> PageRequest:
        faults = self.state.faults.current
        url = self.request.url
        query = [
            (k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k not in ("page", "cursor")
        ]
        cursor = self.params.get("cursor")
        return PageRequest(
            page=cleaned.get("page") or 1,
            size=page_size_for(cleaned, faults.page_size, paged_endpoint, faults.envelope),
            paged_endpoint=paged_endpoint,
            envelope=faults.envelope,
            base_url=f"{url.scheme}://{url.netloc}{url.path}",
            query=query,
            cursor=str(cursor) if cursor is not None else None,
        )

    def listing(
        self,
        cleaned: dict[str, Any],
        paged_endpoint: bool,
        records: list[dict[str, Any]],
        to_json: Callable[[dict[str, Any]], Any],
    ) -> tuple[int, Any]:
        """200 and the page of ``records`` the call asks for, only the records on it rendered."""
        request = self.page_request(cleaned, paged_endpoint)
        return 200, paginate(len(records), lambda a, b: [to_json(r) for r in records[a:b]], request)


Handler = Callable[[Call], tuple[int, Any]]


# msgspec writes the same compact UTF-8 JSON as json.dumps(ensure_ascii=False) several times faster;
# page rendering runs on the client's cores in tests and benchmarks, so it must stay cheap.
_encode = msgspec.json.Encoder().encode


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    payload = _encode(body)
    return Response(payload, status_code=status, media_type="application/json", headers=headers)


def make_endpoint(
    state: SandboxState, handler: Handler, auth: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """An ASGI-level endpoint running ``handler`` with the token check and error handling around it."""

    async def endpoint(request: Request) -> Response:
        try:
            if auth and not state.tokens.valid(bearer_token(request.headers.get("authorization")) or ""):
                raise UNAUTHENTICATED
            params = await read_params(request)
            status, body = handler(Call(state, request, params))
        except ApiError as error:
            return json_response(error.status, error.body())
        finally:
            if request.method in WRITE_METHODS:
                state.commit()
        return json_response(status, body)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
