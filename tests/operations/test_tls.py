"""TLS end to end through the real reverse proxy (Debian's nginx, ops/proxy.py) in front of a
real uvicorn running the production settings (PostgreSQL, Redis channel layer):

- plain HTTP answers only 301 to HTTPS; HTTPS sends HSTS; Django sees the request as secure
  (no redirect loop) because the proxy is in FV_TRUSTED_PROXIES;
- the internal CA (ops/tls.py) is not in the system's trust store: a client that does not pin
  it is refused; the device's enrolment answer hands it the CA, and a stock tus client
  (tuspy, through `requests` with the pinned bundle) uploads a clip over HTTPS that the
  server verifies byte for byte;
- the supervisors' websocket upgrades through the proxy (wss) and says hello;
- `check --deploy` is clean with the production settings; the compose proxy configuration
  is exactly what ops/proxy.py renders, and nginx accepts it.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
import yaml
from django.conf import settings
from django.test import Client
from django.utils import timezone
from tusclient import client as tus_client

from backend.audit.services import Actor
from backend.devices.services import enrolment_code_issue
from ops.ports import free_port
from ops.proxy import COMPOSE_ARGS, NginxProxy, nginx_binary, nginx_conf
from ops.tls import TlsFiles, ensure_tls
from ops.web import uvicorn_command
from sync.models import Upload, UploadState
from sync.tus.testing import UvicornServer
from tests.factories import make_officer, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def production_env(work: Path, tls: TlsFiles) -> dict[str, str]:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.production",
        "DJANGO_SECRET_KEY": "tls-test-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DATABASE_URL": f"postgres://{auth}@{host}/{db['NAME']}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "FV_CHANNEL_PREFIX": f"fv-tls-{uuid.uuid4().hex[:6]}",
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",  # storing is not under test: stays staged
        "FV_S3_ACCESS_KEY": "tls-test-app",
        "FV_S3_SECRET_KEY": "tls-test-app-secret",
        "FV_S3_DESTRUCTION_ACCESS_KEY": "tls-test-destruction",
        "FV_S3_DESTRUCTION_SECRET_KEY": "tls-test-destruction-secret",
        "FV_STORE_DISPATCH": "redrive",
        "FV_STAGING_DIR": str(work / "staging"),
        "FV_VAR_DIR": str(work / "var"),
        "FV_TRUSTED_PROXIES": "127.0.0.1",
        "FV_TLS_CA_FILE": str(tls.ca),
        "FV_TLS_CERT_FILE": str(tls.cert),
        "FV_DB_POOL_MAX": "4",
    }


class ProductionWeb(UvicornServer):
    """uvicorn exactly as every layout starts it (ops/web.py), production settings."""

    def start(self, *, timeout: float = 30.0) -> None:
        import socket
        import time

        command = uvicorn_command(host="127.0.0.1", port=self.port, env=self.env)
        log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"uvicorn exited; see {self.log_path}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("uvicorn did not listen")


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("tls")
    tls = ensure_tls(work / "tls", ["localhost", "127.0.0.1"])
    env = production_env(work, tls)
    web = ProductionWeb(factory="unused", env=env, log_path=work / "web.log")
    web.start()
    proxy = NginxProxy(
        upstreams=[f"127.0.0.1:{web.port}"],
        cert=tls.fullchain,
        key=tls.key,
        directory=work / "nginx",
        https_port=free_port(),
        http_port=free_port(),
    ).start()
    try:
        yield {
            "tls": tls,
            "env": env,
            "web": web,
            "proxy": proxy,
            "https": f"https://localhost:{proxy.https_port}",
            "http": f"http://localhost:{proxy.http_port}",
        }
    finally:
        proxy.stop()
        web.stop()


def test_http_redirects_and_https_sends_hsts(stack: dict[str, Any]) -> None:
    plain = requests.get(stack["http"] + "/healthz?x=1", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == stack["https"] + "/healthz?x=1"
    secure = requests.get(
        stack["https"] + "/healthz", verify=str(stack["tls"].ca), allow_redirects=False, timeout=10
    )
    assert secure.status_code == 200, secure.text  # secure as seen by Django: no redirect loop
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "nginx/" not in secure.headers.get("Server", "")  # server_tokens off
    # The web process itself, reached around the proxy over plain HTTP, redirects to HTTPS,
    # but for the probes (a load balancer's, Prometheus') that reach each process directly.
    around = requests.get(stack["web"].url + "/login/", allow_redirects=False, timeout=10)
    assert around.status_code == 301 and around.headers["Location"].startswith("https://")
    probe = requests.get(stack["web"].url + "/healthz", allow_redirects=False, timeout=10)
    assert probe.status_code == 200 and "Strict-Transport-Security" not in probe.headers


def test_an_unpinned_client_is_refused(stack: dict[str, Any]) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(stack["https"] + "/healthz", timeout=10)  # the system's trust store


def test_device_enrols_pins_the_ca_and_uploads_with_tuspy(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_pem = stack["tls"].ca.read_text()
    code = enrolment_code_issue(kind="body_camera", officer=make_officer(), actor=Actor.system())
    # First contact: the installer trusts this link (office network); the answer brings the pin.
    enrolled = requests.post(
        stack["https"] + "/api/sync/v1/enrol",
        json={"code": code, "serial": f"SN-{uuid.uuid4().hex[:8]}"},
        verify=str(stack["tls"].ca),
        timeout=20,
    )
    assert enrolled.status_code == 200, enrolled.text
    answer = enrolled.json()
    assert answer["tls_ca_pem"] == ca_pem
    pin = tmp_path / "pinned-ca.pem"
    pin.write_text(answer["tls_ca_pem"])
    headers = {"Authorization": f"Bearer {answer['token']}"}

    data = os.urandom(3 * MiB + 17)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    begin = timezone.now() - datetime.timedelta(hours=1)
    manifest = requests.post(
        stack["https"] + "/api/sync/v1/manifest",
        data=json.dumps(
            {
                "device_time": timezone.now().isoformat(),
                "clips": [
                    {
                        "clip_id": "TLS-1",
                        "file_name": "clip.mp4",
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "recorded_start": begin.isoformat(),
                        "recorded_end": (begin + datetime.timedelta(minutes=5)).isoformat(),
                        "media_kind": "video",
                    }
                ],
            }
        ),
        headers={**headers, "Content-Type": "application/json"},
        verify=str(pin),
        timeout=20,
    )
    assert manifest.status_code == 200, manifest.text
    upload_url = manifest.json()["clips"][0]["upload_url"]

    # tuspy verifies TLS through `requests`, which takes the bundle from REQUESTS_CA_BUNDLE:
    # the pinned CA alone is trusted.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pin))
    client = tus_client.TusClient(stack["https"] + "/api/sync/v1/uploads/", headers=headers)
    uploader = client.uploader(str(path), url=stack["https"] + upload_url, chunk_size=MiB)
    uploader.upload()
    upload = Upload.objects.get(pk=uuid.UUID(upload_url.rstrip("/").rsplit("/", 1)[1]))
    assert upload.state == UploadState.COMPLETE
    assert upload.received_sha256 == hashlib.sha256(data).hexdigest()

    # Metrics after the upload, scraped through the proxy (the proxy's client is loopback).
    scraped = requests.get(stack["https"] + "/metrics", verify=str(pin), timeout=20)
    assert scraped.status_code == 200, scraped.text
    samples = dict(
        line.rsplit(" ", 1) for line in scraped.text.splitlines() if not line.startswith("#")
    )
    assert int(samples["fieldvault_upload_bytes_received_total"]) >= len(data)
    patches = 'fieldvault_http_responses_total{method="PATCH",route="uploads",status="2xx"}'
    assert int(samples[patches]) >= 4  # 3 MiB + 17 in 1 MiB chunks
    assert 'fieldvault_http_responses_total{method="POST",route="api/sync/v1/manifest",' in (
        scraped.text
    )
    assert float(samples["fieldvault_metrics_scrape_seconds"]) < 2

    # Another CA (an attacker's proxy with a certificate from a different CA) is refused.
    other = ensure_tls(tmp_path / "other-ca", ["localhost"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other.ca))
    with pytest.raises(Exception, match=r"(?i)certificate|ssl"):
        tus_client.TusClient(stack["https"] + "/api/sync/v1/uploads/", headers=headers).uploader(
            str(path), url=stack["https"] + upload_url
        )


def test_websocket_upgrades_through_the_proxy(stack: dict[str, Any], settings: Any) -> None:
    settings.SECRET_KEY = stack["env"]["DJANGO_SECRET_KEY"]  # the session is the server's
    admin = make_user(role="system_admin")
    client = Client()
    client.force_login(admin)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = ssl.create_default_context(cafile=str(stack["tls"].ca))
    url = stack["https"].replace("https://", "wss://") + "/ws/events/"

    async def hello() -> dict[str, Any]:
        async with websockets.connect(
            url,
            ssl=context,
            origin=stack["https"],  # type: ignore[arg-type]
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
        ) as socket:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 10))
            return message

    assert asyncio.run(hello()) == {"type": "hello", "groups": 1}


def test_check_deploy_is_clean_with_production_settings(stack: dict[str, Any]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=stack["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout


def test_compose_runs_the_rendered_proxy_config(tmp_path: Path) -> None:
    shipped = (ROOT / "ops" / "nginx" / "fieldvault.conf").read_text()
    assert shipped == nginx_conf(**COMPOSE_ARGS)  # type: ignore[arg-type]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    proxy = compose["services"]["proxy"]
    assert "./ops/nginx/fieldvault.conf:/etc/fieldvault/nginx.conf:ro" in proxy["volumes"]
    assert sorted(proxy["ports"]) == ["443:443", "80:80"]
    assert "ports" not in compose["services"]["web"]  # only through the proxy
    # nginx itself accepts the configuration (paths swapped for this machine's files).
    tls = ensure_tls(tmp_path / "tls", ["localhost"])
    local = NginxProxy(
        upstreams=["127.0.0.1:9"],
        cert=tls.fullchain,
        key=tls.key,
        directory=tmp_path / "nginx",
        https_port=free_port(),
        http_port=free_port(),
    )
    checked = local.test_config()
    assert checked.returncode == 0, checked.stderr
    assert nginx_binary()


def test_every_enrolment_answer_carries_the_pin(tmp_path: Path, settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    tls = ensure_tls(tmp_path / "tls", ["localhost"])
    admin = make_user(role="system_admin")
    client = Client()
    client.force_login(admin)
    settings.FV_TLS_CA_FILE = ""
    answer = client.post(
        "/api/devices/",
        {"kind": "body_camera", "serial": f"SN-{uuid.uuid4().hex[:8]}"},
        content_type="application/json",
    )
    assert answer.status_code == 201 and answer.json()["tls_ca_pem"] is None, answer.content
    settings.FV_TLS_CA_FILE = str(tls.ca)
    answer = client.post(
        "/api/devices/",
        {"kind": "body_camera", "serial": f"SN-{uuid.uuid4().hex[:8]}"},
        content_type="application/json",
    )
    assert answer.json()["tls_ca_pem"] == tls.ca.read_text()
    out = StringIO()
    call_command(
        "device_enroll",
        "--kind",
        "handheld",
        "--serial",
        f"SN-{uuid.uuid4().hex[:8]}",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["tls_ca_pem"] == tls.ca.read_text()
