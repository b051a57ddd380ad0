"""Bearer-token authentication for devices (django-ninja)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from backend.devices.models import Device
from backend.devices.services import device_authenticate


class DeviceBearer(HttpBearer):
    openapi_description = "Device credential from enrolment: `Authorization: Bearer fvd_…`."

    def authenticate(self, request: HttpRequest, token: str) -> Device | None:
        return device_authenticate(token=token)


def request_device(request: HttpRequest) -> Device:
    device = request.auth  # type: ignore[attr-defined]
    assert isinstance(device, Device)
    return device
