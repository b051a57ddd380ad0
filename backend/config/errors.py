"""The one error shape of the whole API: {"code", "message", "details"}.

Services raise `FieldVaultError` subclasses; the API layer (config/api.py) and the
upload endpoint (sync/tus) turn them into that JSON body with the matching status.
"""

from __future__ import annotations

from typing import Any


class FieldVaultError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def as_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class InvalidInput(FieldVaultError):
    status = 400
    code = "invalid_input"


class NotAuthenticated(FieldVaultError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(FieldVaultError):
    status = 403
    code = "permission_denied"


class NotFound(FieldVaultError):
    status = 404
    code = "not_found"


class Conflict(FieldVaultError):
    status = 409
    code = "conflict"


class Gone(FieldVaultError):
    """The thing existed and was removed for good (a destroyed recording's bytes)."""

    status = 410
    code = "gone"


class PayloadTooLarge(FieldVaultError):
    status = 413
    code = "payload_too_large"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


# Seconds a client is told to wait (Retry-After) when the database is out of reach for the
# moment: no free pooled connection in time, PostgreSQL refusing clients, a restart.
DATABASE_RETRY_AFTER_SECONDS = 2


def database_unavailable_body() -> dict[str, Any]:
    """The 503 body of the API and the upload endpoint when the database is busy or gone."""
    return error_body(
        "database_unavailable",
        "服务器繁忙，请稍后重试 / The server is busy; retry after the time in Retry-After",
        {"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS},
    )
