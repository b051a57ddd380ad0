"""fieldvault-dock (dock_agent/) end to end: real camera volumes made with ffmpeg, the agent
as its own process, the real ASGI server, PostgreSQL and SeaweedFS.

A camera volume appears under a watched root while the agent runs; camera A (ID file,
`<device>_<officer>_<YYYYMMDDHHMMSS>_<seq>` names) is its unit's and assigned; camera B
(volume label, `YYYYMMDD_HHMMSS_<seq>` names, one clip named by no pattern) is unknown and
registered unassigned; camera C is another unit's and refused. Files are deleted only when
stored, including across kill -9 of the agent mid-upload.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from backend.audit.services import Actor
from backend.devices.models import Device, DeviceAssignment
from backend.devices.services import device_enroll
from backend.footage.models import Recording, RecordingState
from media.tools import ffmpeg_binary
from ops.ports import free_port
from sync.models import Upload
from tests.factories import make_device, make_officer, make_unit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
CST = datetime.timezone(datetime.timedelta(hours=8))

VENDORS = """
[[vendor]]
name = "dsj"
kind = "body_camera"
id_files = ["DEVICE.ID"]
id_regex = "serial\\\\s*=\\\\s*(?P<serial>\\\\S+)"
clock_file = "TIME.TXT"
clock_format = "%Y-%m-%d %H:%M:%S"
timezone = "+08:00"
[[vendor.time_pattern]]
regex = "^[^_]+_[^_]+_(?P<start>\\\\d{14})_\\\\d+\\\\."
format = "%Y%m%d%H%M%S"

[[vendor]]
name = "zf"
kind = "body_camera"
label_regex = "^(?P<serial>ZF-[A-Z0-9-]+)$"
timezone = "+08:00"
[[vendor.time_pattern]]
regex = "^(?P<start>\\\\d{8}_\\\\d{6})_\\\\d+\\\\."
format = "%Y%m%d_%H%M%S"
"""


def ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=60,
    )


def video(path: Path, *, seconds: int = 1, creation_time: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = ["-metadata", f"creation_time={creation_time}"] if creation_time else []
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path),
    )  # fmt: skip


def audio(path: Path, *, seconds: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:r=48000", "-c:a", "pcm_s16le", str(path)
    )  # fmt: skip


def camera_a_volume(staging: Path, serial: str, officer_number: str) -> Path:
    """Vendor 1: an ID file, `<device>_<officer>_<YYYYMMDDHHMMSS>_<seq>.MP4`, its clock file."""
    volume = staging / "SLOT1"
    (volume / "DCIM").mkdir(parents=True)
    (volume / "DEVICE.ID").write_text(f"model=DSJ-A7\nserial = {serial}\n")
    # The camera's clock runs 2 minutes slow.
    camera_now = datetime.datetime.now(CST) - datetime.timedelta(minutes=2)
    (volume / "TIME.TXT").write_text(camera_now.strftime("%Y-%m-%d %H:%M:%S"))
    for seq, hours in ((1, 3), (2, 2)):
        start = (camera_now - datetime.timedelta(hours=hours)).strftime("%Y%m%d%H%M%S")
        video(volume / "DCIM" / f"{serial}_{officer_number}_{start}_{seq:04d}.MP4")
    return volume


def camera_b_volume(staging: Path, label: str) -> Path:
    """Vendor 2: identified by its volume label, `YYYYMMDD_HHMMSS_<seq>.MP4`, and one clip
    named by no pattern whose container carries its creation time."""
    volume = staging / label
    start = datetime.datetime.now(CST) - datetime.timedelta(hours=1)
    video(volume / "RECORD" / f"{start:%Y%m%d_%H%M%S}_0001.MP4")
    created = (start + datetime.timedelta(minutes=10)).astimezone(datetime.UTC)
    video(volume / "RECORD" / "CLIP0002.MP4", creation_time=created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return volume


@pytest.fixture
def fv_server(s3: Any, tmp_path: Path, transactional_db: Any) -> Iterator[str]:
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
        "FV_STAGING_DIR": str(tmp_path / "server-staging"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.config.asgi:application",
         "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/openapi.json", timeout=5)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def agent_config(tmp_path: Path, server: str, token: str, **extra: Any) -> Path:
    settings = {
        "server": server,
        "token": token,
        "roots": [str(tmp_path / "mnt")],
        "journal": str(tmp_path / "journal.sqlite3"),
        "progress": str(tmp_path / "progress.jsonl"),
        "delete_stored": True,
        "poll_seconds": 0.3,
        "settle_seconds": 0.3,
        "wait_stored_seconds": 20,
        **extra,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = tmp_path / "dock.toml"
    path.write_text("\n".join(lines) + '\n[slots]\n"ZF-X3-000912" = "2"\n' + VENDORS)
    (tmp_path / "mnt").mkdir(exist_ok=True)
    return path


def start_agent(config: Path, *, once: bool = False) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dock_agent", "run", "--config", str(config)]
        + (["--once"] if once else []),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def progress_lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "progress.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def journal_rows(tmp_path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.row_factory = sqlite3.Row
    rows = {row["clip_id"]: dict(row) for row in db.execute("SELECT * FROM clip")}
    db.close()
    return rows


def make_dock(unit: Any) -> str:
    return device_enroll(kind="dock", serial="WS-E2E", unit=unit, actor=Actor.system()).token


def test_volumes_appearing_under_a_watched_root_are_synced_attributed_and_emptied(
    fv_server: str, tmp_path: Path
) -> None:
    unit, other = make_unit(), make_unit()
    officer = make_officer(unit, certificate_number="14042100088")
    camera_a, _ = make_device(officer=officer, serial="DSJ-0042")
    DeviceAssignment.objects.filter(device=camera_a).update(
        starts_at=timezone.now() - datetime.timedelta(days=2)
    )
    make_device(officer=make_officer(other), serial="FOREIGN-9")
    config = agent_config(tmp_path, fv_server, make_dock(unit))
    staging = tmp_path / "staging"
    volume_a = camera_a_volume(staging, "DSJ-0042", "14042100088")
    volume_b = camera_b_volume(staging, "ZF-X3-000912")
    volume_c = staging / "SLOT3"
    video(volume_c / "DCIM" / "FOREIGN-9_1_20261201080000_0001.MP4")
    (volume_c / "DEVICE.ID").write_text("serial=FOREIGN-9\n")
    agent = start_agent(config)
    try:
        time.sleep(0.5)  # the agent is watching an empty root
        for volume in (volume_a, volume_b, volume_c):  # plugged in: the mount appears whole
            volume.rename(tmp_path / "mnt" / volume.name)
        mnt = tmp_path / "mnt"
        wait_for(
            lambda: (
                not list((mnt / "SLOT1").rglob("*.MP4"))
                and not list((mnt / "ZF-X3-000912").rglob("*.MP4"))
            ),
            40,
            "cameras A and B emptied",
        )
        wait_for(
            lambda: any(line["event"] == "refused" for line in progress_lines(tmp_path)),
            10,
            "camera C refused",
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
    # Camera A: its own clips, its officer, times corrected by the camera's 2-minute lag.
    recordings_a = list(Recording.objects.filter(device=camera_a))
    assert len(recordings_a) == 2
    assert all(r.state == RecordingState.STORED and r.officer == officer for r in recordings_a)
    for recording in recordings_a:
        lag = (recording.started_at - recording.device_started_at).total_seconds()
        assert 110 < lag < 135, lag
    # Camera B: registered unassigned by the dock, clips kept (stored), nobody's yet.
    camera_b = Device.objects.get(serial="ZF-X3-000912")
    assert camera_b.unit == unit and camera_b.registered_by_dock is not None
    recordings_b = list(Recording.objects.filter(device=camera_b))
    assert len(recordings_b) == 2 and all(r.officer is None for r in recordings_b)
    assert all(r.state == RecordingState.STORED for r in recordings_b)
    # Camera C (another unit's): refused, nothing received, nothing deleted.
    assert not Recording.objects.filter(device__serial="FOREIGN-9").exists()
    assert len(list((mnt / "SLOT3").rglob("*.MP4"))) == 1
    refused = [line for line in progress_lines(tmp_path) if line["event"] == "refused"]
    assert refused[0]["code"] == "camera_of_other_unit" and refused[0]["slot"] == "SLOT3"
    # How each clip's time was read, as the journal recorded it.
    sources = {
        clip_id.rsplit("/", 1)[-1]: row["time_source"]
        for clip_id, row in journal_rows(tmp_path).items()
    }
    assert sources["CLIP0002.MP4"] == "container"
    assert sorted(set(sources.values()) - {"container"}) == ["file_name+container"]
    # Deleted only what is stored: every journalled deletion is a stored recording.
    deleted = {cid for cid, row in journal_rows(tmp_path).items() if row["deleted_at"]}
    assert deleted == set(
        Recording.objects.filter(state="stored").values_list("clip_id", flat=True)
    )
    slots = {line["slot"] for line in progress_lines(tmp_path) if line["event"] == "done"}
    assert {"SLOT1", "2"} <= slots


def test_kill_9_mid_upload_deletes_nothing_early_and_the_restart_resumes(
    fv_server: str, tmp_path: Path
) -> None:
    unit = make_unit()
    camera, _ = make_device(officer=make_officer(unit), serial="DSJ-0077")
    config = agent_config(tmp_path, fv_server, make_dock(unit), chunk_bytes=64 * 1024)
    volume = tmp_path / "mnt" / "SLOT5"
    (volume / "DEVICE.ID").parent.mkdir(parents=True)
    (volume / "DEVICE.ID").write_text("serial=DSJ-0077\n")
    start = datetime.datetime.now(CST) - datetime.timedelta(hours=1)
    for seq in (1, 2, 3):
        # 60 s each (5.8 MB, ~90 PATCHes of 64 KiB): the kill lands mid-upload on a loaded
        # machine too (with 12 s clips it once came before any byte or after the last).
        audio(volume / "AUDIO" / f"DSJ-0077_7_{start:%Y%m%d%H%M%S}_{seq:04d}.WAV", seconds=60)
    files = sorted(volume.rglob("*.WAV"))
    agent = start_agent(config)
    # Kill once the server holds part of a clip (bytes received, not yet stored).
    wait_for(
        lambda: (
            Upload.objects.filter(device__kind="dock", offset__gt=0)
            .exclude(recording__state="stored")
            .exists()
        ),
        60,  # probe, hash and manifest come first: slow on a loaded machine
        "an upload under way",
    )
    agent.kill()  # kill -9
    agent.wait(timeout=10)
    # Nothing deleted that is not stored; the interrupted clip is partial on the server.
    stored = set(
        Recording.objects.filter(device=camera, state="stored").values_list("clip_id", flat=True)
    )
    for path in files:
        clip_id = path.relative_to(volume).as_posix()
        assert path.exists() or clip_id in stored, clip_id
    assert len(stored) < 3, "the kill came too late to test anything"
    partial = Upload.objects.filter(device__kind="dock", offset__gt=0).exclude(
        recording__state="stored"
    )
    assert partial.exists()
    restarted = start_agent(config, once=True)
    assert restarted.wait(timeout=90) == 0, restarted.stderr.read() if restarted.stderr else ""
    assert not list(volume.rglob("*.WAV"))
    assert Recording.objects.filter(device=camera, state="stored").count() == 3
    # Resumed, not restarted: one upload per clip, never a second from offset 0.
    for recording in Recording.objects.filter(device=camera):
        assert recording.uploads.count() == 1
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    deletions = db.execute("SELECT clip_id, COUNT(*) FROM event WHERE what='deleted' GROUP BY 1")
    assert sorted(count for _clip, count in deletions) == [1, 1, 1]
    # A third run finds nothing to do and deletes nothing twice.
    assert start_agent(config, once=True).wait(timeout=30) == 0
    total = db.execute("SELECT COUNT(*) FROM event WHERE what='deleted'").fetchone()[0]
    assert total == 3


def test_a_camera_pulled_mid_upload_resumes_when_replugged_in_another_slot(
    fv_server: str, tmp_path: Path
) -> None:
    unit = make_unit()
    camera, _ = make_device(officer=make_officer(unit), serial="DSJ-0088")
    config = agent_config(tmp_path, fv_server, make_dock(unit), chunk_bytes=64 * 1024)
    volume = tmp_path / "mnt" / "SLOT5"
    (volume / "DEVICE.ID").parent.mkdir(parents=True)
    (volume / "DEVICE.ID").write_text("serial=DSJ-0088\n")
    start = datetime.datetime.now(CST) - datetime.timedelta(hours=1)
    for seq in (1, 2):
        # 60 s of audio (5.8 MB, ~90 PATCHes of 64 KiB): long enough to pull it mid-upload
        # on a loaded machine too (12 s finished before the pull once in the full suite).
        audio(volume / "AUDIO" / f"DSJ-0088_8_{start:%Y%m%d%H%M%S}_{seq:04d}.WAV", seconds=60)
    agent = start_agent(config)
    try:
        wait_for(
            lambda: any(line["event"] == "uploading" for line in progress_lines(tmp_path)),
            20,
            "an upload under way",
        )
        pulled = tmp_path / "pulled"
        volume.rename(pulled)  # unplugged mid-upload …
        wait_for(
            lambda: any(line["event"] == "error" for line in progress_lines(tmp_path)),
            30,
            "the pulled camera reported",
        )
        assert Recording.objects.filter(device=camera, state="stored").count() < 2
        pulled.rename(tmp_path / "mnt" / "SLOT6")  # … and docked again, in another slot
        wait_for(
            lambda: not list((tmp_path / "mnt" / "SLOT6").rglob("*.WAV")),
            60,
            "the camera emptied in its new slot",
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=10)
    assert Recording.objects.filter(device=camera, state="stored").count() == 2
    for recording in Recording.objects.filter(device=camera):
        assert recording.uploads.count() == 1  # resumed, not sent again from 0
    assert any(
        line["event"] == "done" and line["slot"] == "SLOT6" for line in progress_lines(tmp_path)
    )
