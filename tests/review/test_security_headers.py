"""Issue 13 item 9: a Content-Security-Policy on every page (strict: the pages carry no
inline script or style, so an injected one does not run) and, in production settings,
HSTS and the redirect to HTTPS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from backend.accounts.models import Role
from tests.review.conftest import World
from tests.review.test_access_rules import client_for

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def directives(policy: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in policy.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_pages_carry_a_strict_policy_and_no_inline_code(world: World, settings: object) -> None:
    pages = {
        "/accounts/login/": Client(),
        "/": client_for(world.users[Role.SUPERVISOR]),
        "/recordings/": client_for(world.users[Role.SUPERVISOR]),
        f"/recordings/{world.recordings['own'].pk}/": client_for(world.users[Role.SUPERVISOR]),
        "/register/": client_for(world.users[Role.SUPERVISOR]),
        "/activities/": client_for(world.users[Role.SUPERVISOR]),
        "/admin/login/": Client(),
    }
    for url, client in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        html = response.content.decode()
        if not url.startswith("/admin/"):
            assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))
            assert not INLINE_HANDLER.search(html), (url, INLINE_HANDLER.search(html))
            assert not INLINE_STYLE.search(html), (url, INLINE_STYLE.search(html))
    # Playback comes from the object store; the live page's socket goes to this host.
    policy = directives(Client().get("/accounts/login/")["Content-Security-Policy"])
    store = settings.FV_S3_ENDPOINT_URL.rstrip("/")  # type: ignore[attr-defined]
    assert store in policy["media-src"] and store in policy["img-src"]
    assert "ws://testserver" in policy["connect-src"]


def test_api_docs_get_their_own_policy() -> None:
    response = Client().get("/api/redoc")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert "'unsafe-inline'" in policy["script-src"] and policy["object-src"] == ["'none'"]
    assert "Content-Security-Policy" not in Client().get("/api/openapi.json")


PRODUCTION_PROBE = """
import django
django.setup()
from django.conf import settings
from django.test import Client
assert settings.SECURE_SSL_REDIRECT and settings.SECURE_HSTS_SECONDS >= 31536000
plain = Client().get("/favicon.ico")
print("plain", plain.status_code, plain.get("Location"))
secure = Client().get("/favicon.ico", secure=True)
print("secure", secure.status_code, secure.get("Strict-Transport-Security"))
"""


def test_production_redirects_to_https_and_sends_hsts(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "FV_S3_ACCESS_KEY": "probe-access",
        "FV_S3_SECRET_KEY": "probe-secret-probe-secret",
        "FV_S3_DESTRUCTION_ACCESS_KEY": "probe-destruction",
        "FV_S3_DESTRUCTION_SECRET_KEY": "probe-destruction-secret-key",
        "FV_S3_ENDPOINT_URL": "https://s3.example.invalid",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "FV_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert lines["plain"] == "301 https://testserver/favicon.ico"
    assert lines["secure"].startswith("200 max-age=31536000")
