"""The project's ASGI application runs Django's middleware chain in one thread switch
(backend/config/handlers.py) and still applies every middleware and answers like Django."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from backend.config.asgi import application, django_application
from backend.config.handlers import SyncChainASGIHandler
from tests.factories import make_device, make_officer, make_unit


def _request(
    path: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    communicator = HttpCommunicator(
        application, method, path, headers=[(b"host", b"127.0.0.1"), *(headers or [])]
    )
    response: dict[str, Any] = async_to_sync(communicator.get_response)(timeout=30)
    response["header_map"] = {
        name.decode().lower(): value.decode() for name, value in response["headers"]
    }
    return response


def test_the_middleware_chain_is_synchronous() -> None:
    assert isinstance(django_application, SyncChainASGIHandler)
    assert not inspect.iscoroutinefunction(django_application._middleware_chain)


# transaction=True: the handler runs the view in its own sync thread, which must see the
# committed device (not the test's open transaction).
@pytest.mark.django_db(transaction=True)
def test_an_authenticated_api_call_goes_through_middleware_and_view() -> None:
    officer = make_officer(make_unit())
    _device, token = make_device(officer=officer, kind="tablet")
    response = _request(
        "/api/sync/v1/records/pull?cursor=0&limit=5",
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )
    assert response["status"] == 200
    body = json.loads(response["body"])
    assert body["scope"].startswith(f"officer:{officer.pk}/") and body["more"] is False
    # SecurityMiddleware and XFrameOptionsMiddleware ran on the way out
    assert response["header_map"]["x-content-type-options"] == "nosniff"
    assert response["header_map"]["x-frame-options"] == "DENY"


@pytest.mark.django_db(transaction=True)
def test_errors_keep_the_one_json_shape() -> None:
    unauthorised = _request("/api/sync/v1/records/pull")
    assert unauthorised["status"] == 401
    missing = _request("/api/no-such-endpoint")
    assert missing["status"] == 404
    assert json.loads(missing["body"])["code"] == "not_found"
    assert set(json.loads(unauthorised["body"])) >= {"code", "message", "details"}


@pytest.mark.django_db(transaction=True)
def test_locale_session_and_csrf_middleware_apply_to_pages() -> None:
    english = _request("/accounts/login/", headers=[(b"accept-language", b"en")])
    chinese = _request("/accounts/login/", headers=[(b"accept-language", b"zh-hans")])
    assert english["status"] == chinese["status"] == 200
    assert english["header_map"]["content-language"] == "en"
    assert chinese["header_map"]["content-language"] == "zh-hans"
    assert english["body"] != chinese["body"]
    cookies = [v for k, v in english["headers"] if k.lower() == b"set-cookie"]
    assert any(cookie.startswith(b"csrftoken=") for cookie in cookies)
