"""The django-ninja API: one instance, every router, one error shape."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Redoc, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from backend.config.errors import (
    DATABASE_RETRY_AFTER_SECONDS,
    FieldVaultError,
    database_unavailable_body,
    error_body,
)

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="FieldVault API",
    version="1",
    description=(
        "FieldVault stores enforcement footage (执法全过程记录) unaltered, checks it against the "
        "record list and registers every view. Device endpoints live under `/api/sync/v1/` and "
        "authenticate with `Authorization: Bearer <device token>`; the resumable upload endpoint "
        "`/api/sync/v1/uploads/` speaks tus 1.0.0 and is documented in mobile_contract/. Every "
        'error has the body `{"code": ..., "message": ..., "details": {...}}`.'
    ),
    urls_namespace="api",
    # Swagger UI from the django-ninja wheel's static files ("ninja" is an installed app),
    # never a CDN; no validator badge (it would call validator.swagger.io).
    docs=Swagger(settings={"validatorUrl": None}),
)

REDOC = Redoc()


def redoc_page(request: HttpRequest) -> HttpResponse:
    """/api/redoc: the same document in ReDoc, also served from the wheel's static files."""
    return REDOC.render_page(request, api)


def _json_error(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


@api.exception_handler(FieldVaultError)
def _fieldvault_error(request: HttpRequest, exc: FieldVaultError) -> HttpResponse:
    return _json_error(request, exc.status, exc.as_body())


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "location": [str(part) for part in error.get("loc", [])],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors
    ]
    return _json_error(
        request,
        422,
        error_body(
            "validation_error", "The request body or parameters are invalid.", {"errors": errors}
        ),
    )


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _json_error(
        request,
        401,
        error_body("not_authenticated", "Missing, unknown or revoked credentials."),
    )


@api.exception_handler(OverflowError)
def _overflow_error(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    # A date or number past what Python or the database can hold (year 10000 after a clock
    # correction, an integer past 64 bits): the client's value, not the server's fault.
    return _json_error(
        request,
        400,
        error_body("value_out_of_range", "A value in the request is out of range."),
    )


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # The database refused a value (out of range for its column). The backstop of the
    # precise checks: still the client's value, answered 400 in the one error shape.
    logger.warning("database refused a value: %s", exc)
    return _json_error(
        request,
        400,
        error_body("value_out_of_range", "A value in the request is out of range."),
    )


def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # No free connection within the pool's timeout, PostgreSQL refusing more clients, a
    # restart, a deadlock or lock timeout: transient, and not the client's fault. 503 with
    # Retry-After in the one error shape (the device retries), never a 500.
    logger.warning("database unavailable for %s: %s", request.path, exc)
    response = _json_error(request, 503, database_unavailable_body())
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(OperationalError)
def _database_operational_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    return _database_unavailable(request, exc)


@api.exception_handler(InterfaceError)
def _database_interface_error(request: HttpRequest, exc: InterfaceError) -> HttpResponse:
    return _database_unavailable(request, exc)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _json_error(request, exc.status_code, error_body("http_error", str(exc)))


def _register_routers() -> None:
    from backend.devices.api import router as devices_router
    from backend.retention.api import router as retention_router
    from sync.api import router as sync_router

    api.add_router("/sync/v1/", sync_router)
    api.add_router("/devices/", devices_router)
    api.add_router("/retention/", retention_router)

    from backend.coverage.api import recordings_router as coverage_recordings_router
    from backend.coverage.api import router as coverage_router
    from backend.enforcement.api import router as enforcement_router

    api.add_router("/enforcement/", enforcement_router)
    api.add_router("/coverage/", coverage_router)
    api.add_router("/recordings/", coverage_recordings_router)  # time correction (retiming)

    from backend.review.api import router as review_router
    from backend.review.recordings_api import router as recordings_router

    api.add_router("/review/", review_router)
    api.add_router("/recordings/", recordings_router)  # a recording's detail (a content view)

    from backend.corrections.api import positions_router
    from backend.corrections.api import router as corrections_router
    from backend.inspections.api import router as inspections_router
    from sync.records.api import router as sync_records_router

    api.add_router("/sync/v1/records/", sync_records_router)
    api.add_router("/sync/v1/positions/", positions_router)
    api.add_router("/corrections/", corrections_router)
    api.add_router("/inspections/", inspections_router)

    from backend.integrity.api import router as integrity_router

    api.add_router("/integrity/", integrity_router)

    from backend.cases.api import router as cases_router

    api.add_router("/cases/", cases_router)

    from backend.publication.api import router as publication_router

    api.add_router("/publication/", publication_router)


_register_routers()
