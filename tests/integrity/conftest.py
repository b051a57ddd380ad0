"""A real local RFC 3161 TSA (openssl ts -reply behind provenance/local_tsa.py, test CA
made at session start) and builders for recordings stored at a given moment."""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.accounts.models import Officer
from backend.devices.models import Device
from backend.footage.models import MediaKind, Recording, RecordingState
from ops.ports import free_port
from provenance.local_tsa import server_make
from tests.factories import make_device, make_officer, make_unit

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@dataclass
class TSA:
    url: str
    ca: Path


@pytest.fixture(scope="session")
def local_tsa() -> Iterator[TSA]:
    directory = Path(tempfile.mkdtemp(prefix="fv-test-tsa-"))
    server = server_make(directory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield TSA(f"http://127.0.0.1:{server.server_address[1]}/", directory / "ca.pem")
    server.shutdown()
    server.server_close()


@pytest.fixture
def integrity_settings(settings, local_tsa: TSA, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.FV_TSA_URL = local_tsa.url
    settings.FV_TSA_TRUST_ANCHOR = str(local_tsa.ca)
    settings.FV_TSA_TIMEOUT_SECONDS = 5
    settings.FV_INTEGRITY_PUBLISH_DIR = tmp_path / "published"
    settings.FV_INSTALLATION_NAME = "测试司法局"
    return settings


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"


@dataclass
class Field:
    officer: Officer
    device: Device


@pytest.fixture
def field(db: None) -> Field:
    officer = make_officer(make_unit())
    device, _token = make_device(officer=officer)
    return Field(officer, device)


def stored_recording(
    field: Field, stored_at: datetime.datetime, *, payload: bytes | None = None
) -> tuple[Recording, bytes]:
    payload = payload if payload is not None else os.urandom(1500)
    digest = hashlib.sha256(payload).hexdigest()
    recording = Recording.objects.create(
        device=field.device,
        clip_id=uuid.uuid4().hex,
        file_name=f"{digest[:8]}.mp4",
        size_bytes=len(payload),
        sha256=digest,
        media_kind=MediaKind.VIDEO,
        device_started_at=stored_at - datetime.timedelta(minutes=10),
        device_ended_at=stored_at - datetime.timedelta(minutes=5),
        started_at=stored_at - datetime.timedelta(minutes=10),
        ended_at=stored_at - datetime.timedelta(minutes=5),
        officer=field.officer,
        state=RecordingState.STORED,
        storage_key=f"originals/{digest}",
        stored_at=stored_at,
    )
    return recording, payload


def local_noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12, 0), SHANGHAI)
