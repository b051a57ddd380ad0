"""Structured logs from a real uvicorn (ops/web.py, PostgreSQL) and a real worker:
JSON lines, the request id given or made, answered in X-Request-ID and carried by every line
of that request and of the job it queued; no device token, Bearer value or token parameter
in any line, although requests carried them in headers, in the URL and in a failing upload."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from backend.config.logs import (
    JsonFormatter,
    RedactingFilter,
    redact,
    request_id_var,
)
from ops.ports import free_port
from ops.web import uvicorn_command
from sync.tus.testing import UvicornServer
from tests.factories import make_device, make_officer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


def test_redact_patterns() -> None:
    samples = {
        "Authorization: Bearer fvd_AbC-12_x": "fvd_AbC-12_x",
        "bearer eyJhbGciOi.J9.sig": "eyJhbGciOi.J9.sig",
        "{'Authorization': 'Basic Zm9vOmJhcg=='}": "Zm9vOmJhcg==",
        "GET /api/x?token=s3cr3t&page=2": "s3cr3t",
        "Cookie: sessionid=abcdef123; csrftoken=zzz999": "abcdef123",
        "csrftoken=zzz999 in a line": "zzz999",
        "device fvd_only_the_token_here failed": "fvd_only_the_token_here",
    }
    for text, secret in samples.items():
        cleaned = redact(text)
        assert secret not in cleaned and "[redacted]" in cleaned, (text, cleaned)
    assert redact("GET /healthz 200 in 3 ms") == "GET /healthz 200 in 3 ms"


def test_filter_cleans_arguments_and_traceback() -> None:
    record_logger = logging.getLogger("fieldvault.test_logs")
    try:
        raise ValueError("refused Bearer fvd_in_the_exception")
    except ValueError:
        record = record_logger.makeRecord(
            "x", logging.ERROR, __file__, 1, "token %s", ("fvd_in_args",), sys.exc_info()
        )
    token = request_id_var.set("req-12345678")
    try:
        assert RedactingFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-12345678" and line["level"] == "ERROR"
    assert "fvd_in_args" not in line["message"]
    assert "ValueError" in line["exc"] and "fvd_in_the_exception" not in line["exc"]


def _server_env(work: Path) -> dict[str, str]:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "DATABASE_URL": f"postgres://{auth}@{host}/{db['NAME']}",
        "FV_STAGING_DIR": str(work / "staging"),
        "FV_VAR_DIR": str(work / "var"),
        "FV_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "FV_STORE_DISPATCH": "redrive",
        "FV_LOG_FORMAT": "json",
        "FV_LOG_LEVEL": "INFO",
    }


class JsonWeb(UvicornServer):
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


@pytest.fixture
def web(tmp_path: Path, transactional_db: None) -> Iterator[JsonWeb]:
    server = JsonWeb(factory="unused", env=_server_env(tmp_path), log_path=tmp_path / "web.log")
    server.port = free_port()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    found = []
    for line in text.splitlines():
        if line.strip():
            found.append(json.loads(line))  # every line is one JSON object
    return found


def test_server_logs_json_with_request_ids_and_no_token(web: JsonWeb, tmp_path: Path) -> None:
    _device, token = make_device(officer=make_officer())
    auth = {"Authorization": f"Bearer {token}"}
    given = "probe-" + uuid.uuid4().hex[:12]
    answer = requests.get(web.url + "/healthz", headers={"X-Request-ID": given}, timeout=10)
    assert answer.headers["X-Request-ID"] == given
    made = requests.get(web.url + "/healthz", headers={"X-Request-ID": "bad id!"}, timeout=10)
    assert made.headers["X-Request-ID"] != "bad id!" and len(made.headers["X-Request-ID"]) == 32
    # A token where it should never be: in the URL (the access log writes paths).
    requests.get(web.url + f"/healthz?token={token}&x=1", timeout=10)
    # The tus endpoint (before Django): a HEAD of an unknown upload with the device token,
    # and a PATCH with a wrong token, logged as refused.
    upload = web.url + f"/api/sync/v1/uploads/{uuid.uuid4()}"
    requests.head(upload, headers={**auth, "Tus-Resumable": "1.0.0"}, timeout=10)
    requests.patch(
        upload,
        headers={"Authorization": "Bearer fvd_wrong-token-123", "Tus-Resumable": "1.0.0"},
        data=b"x",
        timeout=10,
    )
    # Django's 401 for a wrong token on the API (django.request logs 4xx as warnings).
    refused = requests.post(
        web.url + "/api/sync/v1/manifest",
        headers={"Authorization": "Bearer fvd_another-wrong-one", "X-Request-ID": given},
        json={"device_time": "2026-01-01T00:00:00+08:00", "clips": []},
        timeout=10,
    )
    assert refused.status_code == 401
    web.stop()

    log = (tmp_path / "web.log").read_text()
    lines = _lines(tmp_path / "web.log")
    assert lines and all(
        {"ts", "level", "logger", "message", "request_id"} <= set(e) for e in lines
    )
    for secret in (token, token.removeprefix("fvd_"), "wrong-token-123", "another-wrong-one"):
        assert secret not in log, f"{secret!r} found in the log"
    ours = [entry for entry in lines if entry["request_id"] == given]
    assert any("/healthz" in entry["message"] for entry in ours), ours  # access line
    assert any(entry["logger"] == "django.request" for entry in ours), ours  # the 401 warning
    assert any("token=[redacted]" in entry["message"] for entry in lines), log[-2000:]


def test_a_job_carries_the_request_id_that_queued_it(tmp_path: Path, settings: Any) -> None:

    settings.TASKS = {
        "default": {
            "BACKEND": "backend.config.tasks_backend.DatabaseBackend",
            "QUEUES": ["default"],
        }
    }
    from tests.operations.log_tasks import log_a_line

    marker = uuid.uuid4().hex
    token = request_id_var.set("req-" + marker[:16])
    try:
        result = log_a_line.using(queue_name="default").enqueue(marker)
    finally:
        request_id_var.reset(token)
    env = _server_env(tmp_path)
    worker = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--queue-name",
            "default",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    lines = [json.loads(line) for line in worker.stderr.splitlines() if line.startswith("{")]
    ran = [entry for entry in lines if entry["message"] == f"job ran {marker}"]
    assert ran, worker.stderr[-3000:]
    assert ran[0]["request_id"] == "req-" + marker[:16]
    assert ran[0]["task_id"] == str(result.id)
