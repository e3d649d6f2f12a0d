"""Errors the API answers with, in the Laravel-like shapes the sandbox models."""

from __future__ import annotations

INVALID_MESSAGE = "The given data was invalid."


class ApiError(Exception):
    """An error answer: ``{"message": ...}`` plus ``errors`` for 422 and any extra body keys."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: dict[str, list[str]] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.extra = extra or {}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {**self.extra, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def invalid(errors: dict[str, list[str]]) -> ApiError:
    """422 with per-field messages."""
    return ApiError(422, INVALID_MESSAGE, errors)


def invalid_field(field: str, message: str) -> ApiError:
    return invalid({field: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found.")


def attribute(field: str) -> str:
    """Laravel's display name of a field: underscores become spaces."""
    return field.replace("_", " ")
