"""The API docs work on an intranet with no internet: /api/docs (Swagger UI) and
/api/redoc name no external host, and every script, stylesheet and icon they load is served
by the project's own ASGI application; /favicon.ico answers with the project's icon."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync

from backend.config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

EXTERNAL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}""", re.I)
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


async def _aget(path: str) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get(path)
    return {
        "status": response.status_code,
        "body": response.content,
        "header_map": {k.lower(): v for k, v in response.headers.items()},
    }


def _get(path: str) -> dict[str, Any]:
    result: dict[str, Any] = async_to_sync(_aget)(path)
    return result


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_the_docs_pages_load_everything_from_the_project(page: str) -> None:
    response = _get(page)
    assert response["status"] == 200
    html = response["body"].decode()
    assert EXTERNAL.findall(html) == []
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset
        answer = _get(asset)
        assert answer["status"] == 200, asset
        assert len(answer["body"]) > 0, asset
    if page == "/api/docs":
        assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
        assert any("swagger-ui-bundle.js" in a for a in assets)
    else:
        assert any("redoc.standalone.js" in a for a in assets)


def test_the_docs_name_the_local_openapi_document() -> None:
    html = _get("/api/docs")["body"].decode()
    assert '"url": "/api/openapi.json"' in html
    assert _get("/api/openapi.json")["status"] == 200


def test_favicon() -> None:
    response = _get("/favicon.ico")
    assert response["status"] == 200
    assert response["header_map"]["content-type"] == "image/svg+xml"
    assert response["body"].startswith(b"<svg")
    page = _get("/accounts/login/")["body"].decode()
    icon = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page)
    assert icon is not None
    assert _get(icon.group(1))["status"] == 200
