"""The dock agent's parts without a server: camera identification, recorded times from the
two name styles, the container and the file, growing and unreadable files, the journal's
never-delete-twice rule. Real files (ffmpeg), no mocks."""

from __future__ import annotations

import datetime
import os
import threading
import time
from pathlib import Path

from dock_agent.agent import Agent, clip_id_for
from dock_agent.camera import identify, recorded_times
from dock_agent.config import from_dict
from dock_agent.journal import Journal
from tests.dock.test_dock_agent import VENDORS, audio, video

CST = datetime.timezone(datetime.timedelta(hours=8))


def config(tmp_path: Path) -> dict:
    import tomllib

    raw = tomllib.loads(VENDORS)
    return {
        "server": "http://127.0.0.1:9",
        "token": "fvd_x",
        "roots": [str(tmp_path)],
        "journal": str(tmp_path / "j.sqlite3"),
        "progress": "",
        "settle_seconds": 0.3,
        **raw,
    }


def test_identification_prefers_the_id_file_then_the_label_then_file_names(tmp_path: Path) -> None:
    vendors = from_dict(config(tmp_path)).vendors
    by_id = tmp_path / "ZF-LABEL-1"
    by_id.mkdir()
    (by_id / "DEVICE.ID").write_text("serial = DSJ-9\n")
    found = identify(by_id, vendors)
    assert found is not None and (found.serial, found.how) == ("DSJ-9", "id_file")
    (by_id / "DEVICE.ID").unlink()
    found = identify(by_id, vendors)
    assert found is not None and (found.serial, found.how) == ("ZF-LABEL-1", "label")
    assert identify(tmp_path / "ZF-LABEL-1" / ".." / "ZF-LABEL-1", []) is None


def test_recorded_times_name_styles_container_and_file(tmp_path: Path) -> None:
    dsj, zf = from_dict(config(tmp_path)).vendors
    style_1 = tmp_path / "DSJ-1_14042100088_20261205093000_0001.MP4"
    video(style_1, seconds=2)
    times = recorded_times(style_1, dsj, "video")
    assert times.source == "file_name+container"
    assert times.start == datetime.datetime(2026, 12, 5, 9, 30, tzinfo=CST)
    assert 1.5 < (times.end - times.start).total_seconds() < 2.5
    style_2 = tmp_path / "20261205_101500_0002.MP4"
    video(style_2)
    assert recorded_times(style_2, zf, "video").start == datetime.datetime(
        2026, 12, 5, 10, 15, tzinfo=CST
    )
    named_by_nothing = tmp_path / "CLIP0003.MP4"
    video(named_by_nothing, creation_time="2026-12-05T02:00:00Z")
    times = recorded_times(named_by_nothing, zf, "video")
    assert times.source == "container"
    assert times.start == datetime.datetime(2026, 12, 5, 10, 0, tzinfo=CST)
    # No creation time in the container: the file's modification time ends it.
    bare = tmp_path / "REC0004.WAV"
    audio(bare, seconds=1)
    os.utime(bare, (1_780_000_000, 1_780_000_000))
    times = recorded_times(bare, zf, "audio")
    assert times.source == "file_times"
    assert times.end == datetime.datetime.fromtimestamp(1_780_000_000, tz=CST)
    assert 0.5 < (times.end - times.start).total_seconds() < 1.5


def test_growing_and_unreadable_files_are_skipped_and_the_rest_continue(tmp_path: Path) -> None:
    mount = tmp_path / "SLOT1"
    (mount / "DCIM").mkdir(parents=True)
    (mount / "DEVICE.ID").write_text("serial=DSJ-5\n")
    video(mount / "DCIM" / "DSJ-5_1_20261205093000_0001.MP4")
    os.utime(mount / "DCIM" / "DSJ-5_1_20261205093000_0001.MP4", (time.time() - 60,) * 2)
    (mount / "DCIM" / "BROKEN.MP4").symlink_to(mount / "nowhere")  # a broken FAT entry
    growing = mount / "DCIM" / "DSJ-5_1_20261205100000_0002.MP4"
    stop = threading.Event()

    def record() -> None:
        with growing.open("ab") as handle:
            while not stop.is_set():
                handle.write(b"\0" * 4096)
                handle.flush()
                time.sleep(0.05)

    writer = threading.Thread(target=record)
    writer.start()
    try:
        agent = Agent(from_dict(config(tmp_path)))
        camera = identify(mount, agent.config.vendors)
        assert camera is not None
        clips, complete = agent._stable_clips(mount, "1", camera)
    finally:
        stop.set()
        writer.join()
    assert [c.path.name for c in clips] == ["DSJ-5_1_20261205093000_0001.MP4"]
    assert not complete  # the growing file is looked at again later
    errors = agent.progress.slot("1").errors
    assert any("BROKEN.MP4" in error for error in errors)


def test_the_journal_deletes_a_clip_once_and_only_the_stored_content(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    fields = dict(
        kind="body_camera",
        serial="S",
        clip_id="A.MP4",
        size=1,
        mtime_ns=1,
        recorded_start="2026-12-05T09:00:00+08:00",
        recorded_end="2026-12-05T09:00:00+08:00",
        time_source="file_name",
    )
    journal.hashed(sha256="a" * 64, **fields)
    assert not journal.claim_deletion("body_camera", "S", "A.MP4", "a" * 64)  # not stored
    journal.answered(
        "body_camera", "S", "A.MP4", sha256="a" * 64, status="stored", recording_id="r",
        upload_url=None,
    )  # fmt: skip
    assert not journal.claim_deletion("body_camera", "S", "A.MP4", "b" * 64)  # other bytes
    assert journal.claim_deletion("body_camera", "S", "A.MP4", "a" * 64)
    assert not journal.claim_deletion("body_camera", "S", "A.MP4", "a" * 64)  # never twice
    # New content under the same name starts afresh: nothing stored yet.
    journal.hashed(sha256="c" * 64, **fields)
    assert not journal.claim_deletion("body_camera", "S", "A.MP4", "c" * 64)


def test_clip_ids_are_volume_paths_bounded_to_128(tmp_path: Path) -> None:
    deep = tmp_path / ("D" * 100) / ("F" * 60 + ".MP4")
    clip_id = clip_id_for(tmp_path, deep)
    assert len(clip_id) == 128 and clip_id != clip_id_for(tmp_path, tmp_path / "X.MP4")
