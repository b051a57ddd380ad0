"""Health, readiness and metrics endpoints (not pages, not the API: plain HTTP for load
balancers and Prometheus).

/healthz   the process answers (200, always; no database touched).
/readyz    every readiness check (database, originals bucket with Object Lock, channel
           layer, staging disk headroom): 200 when all pass, else 503; the JSON names each
           check with a reason word and reveals no address, key or path. Unauthenticated.
/metrics   Prometheus text; from a loopback client, or with `Authorization: Bearer
           FV_METRICS_TOKEN` (when set). Anyone else: 403 in the one error shape.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from backend.config.errors import error_body
from backend.operations.services.metrics import CONTENT_TYPE, metrics_text
from backend.operations.services.readiness import readiness
from backend.web.requests import client_ip


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {
            check.name: {"ok": check.ok, "reason": check.reason, "ms": check.milliseconds}
            for check in checks
        },
    }
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.FV_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    address = client_ip(request)
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return JsonResponse(
            error_body(
                "forbidden",
                "Metrics are served to loopback clients or with the metrics bearer token.",
            ),
            status=403,
        )
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
