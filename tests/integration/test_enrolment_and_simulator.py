"""Enrolment codes, and the reference simulator syncing against a real ASGI server."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from backend.devices.models import Device, EnrolmentCode
from backend.footage.models import Recording, RecordingState
from mobile_contract import simulator
from ops.ports import free_port
from tests.factories import make_officer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_code_is_redeemed_once(capsys: pytest.CaptureFixture[str]) -> None:
    officer = make_officer(certificate_number="14042100077")
    call_command(
        "device_enrolment_code", "--kind", "handheld", "--officer", "14042100077", "--json"
    )
    code = json.loads(capsys.readouterr().out)["code"]
    client = Client()
    body = {"code": code.lower(), "serial": "HT-1", "model_name": "H1", "firmware": "2.1"}
    first = client.post("/api/sync/v1/enrol", body, content_type="application/json")
    assert first.status_code == 200, first.content
    device = Device.objects.get(pk=first.json()["device_id"])
    assert device.kind == "handheld" and device.assignments.get().officer == officer
    again = client.post("/api/sync/v1/enrol", body, content_type="application/json")
    assert again.status_code == 401 and again.json()["code"] == "invalid_enrolment_code"


@pytest.mark.django_db
def test_expired_and_unknown_codes_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("device_enrolment_code", "--kind", "tablet", "--json")
    code = json.loads(capsys.readouterr().out)["code"]
    EnrolmentCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    client = Client()
    for candidate in (code, "AAAA-BBBB-CCCC"):
        response = client.post(
            "/api/sync/v1/enrol",
            {"code": candidate, "serial": "T-1"},
            content_type="application/json",
        )
        assert response.status_code == 401
    assert not Device.objects.exists()


@pytest.fixture
def live_server_process(s3: Any, tmp_path: Path, transactional_db: Any) -> Any:
    """The real ASGI application under uvicorn, on the test database and SeaweedFS."""
    from django.conf import settings
    from django.db import connection

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.test_server",
        "FV_TEST_SERVER_DB": connection.settings_dict["NAME"],
        "FV_S3_ENDPOINT_URL": s3.endpoint_url,
        "FV_S3_ACCESS_KEY": s3.access_key,
        "FV_S3_SECRET_KEY": s3.secret_key,
        "FV_ORIGINALS_BUCKET": settings.FV_ORIGINALS_BUCKET,
        "FV_DERIVATIVES_BUCKET": settings.FV_DERIVATIVES_BUCKET,
        "FV_STAGING_DIR": str(tmp_path / "staging"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        cwd=REPO,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/openapi.json", timeout=10)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_simulator_enrols_syncs_and_deletes_only_what_is_stored(
    live_server_process: str, tmp_path: Path
) -> None:
    make_officer(certificate_number="14042100088")
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "device_enrolment_code",
            "--kind",
            "body_camera",
            "--officer",
            "14042100088",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backend.config.settings.test_server",
            "FV_TEST_SERVER_DB": _db_name(),
        },
    )
    code = json.loads(out.stdout)["code"]
    credentials = simulator.enrol(live_server_process, code=code, serial="SIM-1")
    folder = tmp_path / "camera"
    simulator.generate_clips(folder, count=2, seconds=1)
    # A third file the server will never accept as declared: it must stay on the device.
    bad = folder / "BROKEN_0001.mp4"
    bad.write_bytes(b"\x00" * 1000)
    client = simulator.DeviceClient(live_server_process, credentials["token"], chunk_size=64 * 1024)
    original_upload = client.upload

    def corrupting_upload(clip: simulator.LocalClip, url: str, **kwargs: Any) -> None:
        if clip.path == bad:  # the bytes change after the manifest declared their hash
            bad.write_bytes(b"\x01" * 1000)
        original_upload(clip, url, **kwargs)

    client.upload = corrupting_upload  # type: ignore[method-assign]
    report = simulator.sync_folder(
        client, folder, delete_stored=True, wait_seconds=30, log=lambda line: None
    )
    assert report.deleted == report.stored  # deleted exactly what the server said is stored
    assert len(report.deleted) == 2 and report.kept == {"BROKEN_0001": "mismatch"}
    assert bad.exists() and len(list(folder.glob("*.mp4"))) == 1
    assert Recording.objects.filter(state=RecordingState.STORED).count() == 2
    assert Recording.objects.get(clip_id="BROKEN_0001").state == RecordingState.MISMATCH


def _db_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])
