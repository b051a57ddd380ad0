from pathlib import Path

from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from backend.config.api import api, redoc_page
from backend.config.errors import error_body


def _not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def _bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # Raised before any view runs, e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
    return JsonResponse(
        error_body("bad_request", "The request could not be read (malformed or too large)."),
        status=400,
    )


def _server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def _favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: answer with the SVG icon."""
    found = finders.find("review/favicon.svg")
    if not isinstance(found, str):
        return _not_found(request)
    response = HttpResponse(Path(found).read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# One sign-in throttle for every sign-in path (backend/review/forms.py).

urlpatterns = [
    path("favicon.ico", _favicon),
    path("admin/", admin.site.urls),
    path("api/redoc", redoc_page, name="api-redoc"),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("officers/", include("backend.accounts.urls")),
    path("calendar/", include("backend.workcalendar.urls")),
    path("docks/", include("backend.devices.urls")),
    path("devices/", include("backend.devices.ledger_urls")),
    path("enforcement/", include("backend.enforcement.urls")),
    path("inspections/", include("backend.inspections.urls")),
    path("retention/", include("backend.retention.urls")),
    path("integrity/", include("backend.integrity.urls")),
    path("corrections/", include("backend.corrections.urls")),
    path("coverage/", include("backend.coverage.urls")),
    path("cases/", include("backend.cases.urls")),
    path("", include("backend.operations.urls")),
    path("publication/", include("backend.publication.urls")),
    path("public/", include("backend.publication.public_urls")),
    path("library/", include("backend.caselibrary.urls")),
    path("", include("backend.review.urls")),
]

handler400 = _bad_request
handler404 = _not_found
handler500 = _server_error
