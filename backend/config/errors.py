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
