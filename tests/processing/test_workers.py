"""Real worker processes (`manage.py fieldvault_worker`) on PostgreSQL, and live events."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django_tasks_db.models import DBTaskResult

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.footage.models import ProcessingState, Recording, RecordingProcessing
from backend.footage.processing import recording_processing_queue
from tests.factories import make_device, make_officer, make_unit, make_user
from tests.processes import deployed_environment

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "storage", "media"],
    }
}
Make = Callable[..., Recording]


class Workers:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "fieldvault_worker",
                "--no-startup-delay",
                "--interval",
                "0.2",
                "--redrive-seconds",
                "1",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=deployed_environment(self.tmp_path, **extra),
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp_path.glob("*.log"))


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, logs: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{logs()}")


def test_a_worker_killed_mid_job_is_redriven_after_its_lease_expires(
    s3: Any, clips: dict[str, Path], stored_recording: Make, workers: Workers, settings: Any
) -> None:
    settings.TASKS = DATABASE_TASKS
    recording = stored_recording(clips["slow"], seconds=6)
    assert recording_processing_queue(recording_id=recording.pk)  # committed: job row in the DB
    assert DBTaskResult.objects.count() == 1

    first = workers.start("first", FV_PROCESSING_LEASE_SECONDS="2")

    def claimed_by_first() -> bool:
        row = RecordingProcessing.objects.get(pk=recording.pk)
        return row.state == ProcessingState.PROCESSING and row.worker_id.endswith(f":{first.pid}")

    wait_for(claimed_by_first, 60, "the first worker to claim the recording", workers.logs)
    time.sleep(0.5)  # in the middle of the transcode
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    stranded = RecordingProcessing.objects.get(pk=recording.pk)
    assert stranded.state == ProcessingState.PROCESSING and stranded.attempts == 1
    # The queue itself would keep the job RUNNING forever (django-tasks has no recovery).
    assert DBTaskResult.objects.get().status == "RUNNING"

    second = workers.start("second", FV_PROCESSING_LEASE_SECONDS="2")
    wait_for(
        lambda: RecordingProcessing.objects.get(pk=recording.pk).state == ProcessingState.READY,
        90,
        "the re-driven recording to become ready",
        workers.logs,
    )
    done = RecordingProcessing.objects.get(pk=recording.pk)
    assert done.attempts == 2 and done.worker_id.endswith(f":{second.pid}")
    # The killed worker's queue row is closed by the re-drive, not left RUNNING forever.
    # (The second worker marks its own row SUCCESSFUL just after the recording's commit.)
    wait_for(
        lambda: (
            sorted(DBTaskResult.objects.values_list("status", flat=True))
            == ["FAILED", "SUCCESSFUL"]
        ),
        10,
        "the queue rows to be FAILED (killed worker) and SUCCESSFUL (second worker)",
        lambda: f"{list(DBTaskResult.objects.values_list('status', flat=True))}\n{workers.logs()}",
    )
    abandoned = DBTaskResult.objects.get(status="FAILED")
    assert abandoned.exception_class_path == "backend.footage.processing.WorkerLost"
    assert recording.derivatives.filter(profile="proxy-720p").exists()
    actions = list(
        AuditEvent.objects.filter(object_id=str(recording.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == [
        "recording.processing_queued",
        "recording.processing_started",
        "recording.processing_lease_expired",
        "recording.processing_started",
        "recording.processing_ready",
    ]


def close_this_threads_connection() -> None:
    connection.close()  # sync_to_async's thread: not left open for the database teardown


def _session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def test_supervisor_sees_queued_processing_and_ready_live(
    s3: Any, clips: dict[str, Path], stored_recording: Make, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    unit = make_unit()
    supervisor = make_user(role=Role.SUPERVISOR, unit=unit)
    device, _ = make_device(officer=make_officer(unit=unit))
    good = stored_recording(clips["good"], device=device, clip_id="live-good")
    bad = stored_recording(clips["text"], device=device, clip_id="live-bad")

    async def scenario() -> list[dict[str, Any]]:
        from backend.config.asgi import application

        cookie = await sync_to_async(_session_cookie)(supervisor)
        headers = [(b"cookie", cookie), (b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
        socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
        assert (await socket.connect())[0]
        assert (await socket.receive_json_from())["type"] == "hello"
        for recording in (good, bad):  # the test task backend runs each job at once
            await sync_to_async(recording_processing_queue)(recording_id=recording.pk)
        events = [await socket.receive_json_from(timeout=10) for _ in range(6)]
        await socket.disconnect()
        await sync_to_async(close_this_threads_connection)()
        return events

    events = asyncio.run(scenario())
    channel_layers.backends.clear()
    seen = [(e["clip_id"], e["type"]) for e in events]
    assert seen == [
        ("live-good", "queued"),
        ("live-good", "processing"),
        ("live-good", "ready"),
        ("live-bad", "queued"),
        ("live-bad", "processing"),
        ("live-bad", "damaged"),
    ]
    assert events[-1]["reason_code"] == "not_media" and events[-1]["message"]
