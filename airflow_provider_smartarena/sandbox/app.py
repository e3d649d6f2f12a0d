"""The ASGI application: API routes, admin routes, error shapes, middleware and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from airflow_provider_smartarena.sandbox.admin import ADMIN_ROUTES
from airflow_provider_smartarena.sandbox.endpoint import json_response, make_endpoint
from airflow_provider_smartarena.sandbox.faults import SandboxMiddleware
from airflow_provider_smartarena.sandbox.openapi import build_openapi
from airflow_provider_smartarena.sandbox.routes import ROUTES
from airflow_provider_smartarena.sandbox.state import SandboxState

VERSION = "1.0.0"


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    message = {404: "Not Found.", 405: f"The {request.method} method is not supported for this route."}
    headers = getattr(exc, "headers", None)
    return json_response(status, {"message": message.get(status, "Error.")}, headers=headers)


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(
        title="Smart ARENA API (sandbox)", version=VERSION, openapi_url="/openapi.json", redoc_url=None
    )
    for route in ROUTES:
        endpoint = make_endpoint(state, route.handler, auth=route.auth)
        app.router.routes.append(StarletteRoute(route.path, endpoint, methods=[route.method]))
    for method, path, handler in ADMIN_ROUTES:
        app.router.routes.append(
            StarletteRoute(path, make_endpoint(state, handler, auth=False), methods=[method])
        )
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(SandboxMiddleware, state=state)
    document: dict[str, Any] = build_openapi(VERSION)
    app.openapi = lambda: document  # type: ignore[method-assign]
    app.state.sandbox = state
    return app
