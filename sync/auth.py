"""Bearer-token authentication for devices (django-ninja)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from backend.devices.models import Device
from backend.devices.services import device_authenticate


class DeviceBearer(HttpBearer):
    openapi_description = "Device credential from enrolment: `Authorization: Bearer fvd_…`."

    def authenticate(self, request: HttpRequest, token: str) -> Device | None:
        return device_authenticate(token=token)


# A device's Bearer token first, then the browser's session (with its CSRF check). The other
# order answered every device POST 403 "CSRF check Failed": session auth checks CSRF before it
# looks for a session, and raises instead of passing to the next method. A Bearer header is
# never sent by a browser on its own, so it needs no CSRF token.
DEVICE_OR_SESSION = [DeviceBearer(), django_auth]


def request_device(request: HttpRequest) -> Device:
    device = request.auth  # type: ignore[attr-defined]
    assert isinstance(device, Device)
    return device
