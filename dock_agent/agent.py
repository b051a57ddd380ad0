"""The agent's work: watch the mount roots, and sync each docked camera to the end.

One worker thread per docked volume (slot). A camera's round: list its media, skip files
still growing, hash (the journal spares unchanged files), send the dock manifest, upload
what the server lacks (tuspy, from the offset the server reports), ask again until every
clip is `stored`, then delete exactly those (or mark them synced). A pulled camera ends
its round with an error; replugged (in any slot) it resumes from the server's offsets.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.uploader import Uploader

from dock_agent.camera import (
    Camera,
    camera_clock,
    identify,
    media_files,
    recorded_times,
)
from dock_agent.config import MEDIA_KINDS, Config
from dock_agent.journal import Journal
from dock_agent.progress import Progress

log = logging.getLogger("fieldvault_dock")

MANIFEST_PATH = "/api/sync/v1/dock/manifest"
UPLOADS_PATH = "/api/sync/v1/uploads/"
RESENDABLE = {"missing", "partial", "mismatch"}


class Sha256Uploader(Uploader):  # type: ignore[misc]
    """tuspy's stock uploader, with the per-request checksum the server checks (SHA-256)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@dataclass
class LocalClip:
    path: Path
    clip_id: str
    size: int
    mtime_ns: int
    sha256: str
    media_kind: str
    start: datetime.datetime
    end: datetime.datetime
    time_source: str

    def entry(self) -> dict[str, Any]:
        return {
            "clip_id": self.clip_id,
            "file_name": self.path.name,
            "size": self.size,
            "sha256": self.sha256,
            "recorded_start": self.start.isoformat(),
            "recorded_end": self.end.isoformat(),
            "media_kind": self.media_kind,
        }


class ServerRefused(Exception):
    """A 4xx on the manifest (e.g. a camera of another unit): nothing to retry soon."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(f"{status} {body.get('code')}: {body.get('message')}")
        self.status = status
        self.code = str(body.get("code", ""))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def clip_id_for(mount: Path, path: Path) -> str:
    """The file's path on the camera volume: unique per camera, stable across slots."""
    rel = path.relative_to(mount).as_posix()
    if len(rel) <= 128:
        return rel
    return rel[:63] + "~" + hashlib.sha256(rel.encode()).hexdigest()[:64]


class Agent:
    def __init__(self, config: Config, *, progress: Progress | None = None):
        self.config = config
        self.journal = Journal(config.journal)
        self.progress = progress or Progress(config.progress)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config.token}"
        self._busy: dict[Path, Future[None]] = {}
        # Volumes synced to the end, by (mount, listing): not looked at again until the
        # listing changes (a camera left docked is not re-hashed every poll).
        self._done: dict[Path, tuple[tuple[str, int, int], ...]] = {}
        # One camera syncs in one slot at a time (a camera seen twice waits).
        self._cameras: set[tuple[str, str]] = set()
        self._cameras_lock = threading.Lock()
        self._stop = threading.Event()

    # -- watching -----------------------------------------------------------------------

    def volumes(self) -> list[Path]:
        found = []
        for root in self.config.roots:
            try:
                if root.anchor and root == Path(root.anchor):  # a drive letter (Windows)
                    if root.exists():
                        found.append(root)
                    continue
                found.extend(p for p in sorted(root.iterdir()) if p.is_dir())
            except OSError:
                continue
        return found

    def slot_of(self, mount: Path) -> str:
        return self.config.slots.get(mount.name) or self.config.slots.get(str(mount)) or mount.name

    def run(self, *, once: bool = False) -> int:
        """Poll the roots; `once`: sync the volumes present now to the end, then return."""
        passes = 0
        with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
            while not self._stop.is_set():
                present = self.volumes()
                for mount in present:
                    running = self._busy.get(mount)
                    if running is not None and not running.done():
                        continue
                    if mount in self._done and self._done[mount] == _listing(mount):
                        continue
                    self._busy[mount] = pool.submit(self._sync_volume_safely, mount)
                for mount in list(self._done):
                    if mount not in present:
                        del self._done[mount]  # unplugged: next time it is new
                if once:
                    for future in list(self._busy.values()):
                        future.result()
                    passes += 1
                    unfinished = [m for m in self.volumes() if m not in self._done]
                    if not unfinished or passes >= 3:
                        return 0 if not unfinished else 1
                    self._stop.wait(self.config.poll_seconds)
                    continue
                self._stop.wait(self.config.poll_seconds)
        return 0

    def stop(self) -> None:
        self._stop.set()

    def _sync_volume_safely(self, mount: Path) -> None:
        slot = self.slot_of(mount)
        try:
            if self.sync_volume(mount):
                self._done[mount] = _listing(mount)
        except ServerRefused as exc:
            state = self.progress.slot(slot)
            state.state, state.errors = "refused", [*state.errors, str(exc)]
            self.progress.emit(slot, "refused", code=exc.code)
            self._done[mount] = _listing(mount)  # an administrator must act first
        except Exception as exc:
            log.warning("slot %s: %s", slot, exc)
            state = self.progress.slot(slot)
            state.state, state.errors = "error", [*state.errors, str(exc)[:200]]
            self.progress.emit(slot, "error", error=str(exc)[:200])

    # -- one camera ---------------------------------------------------------------------

    def sync_volume(self, mount: Path) -> bool:
        """Sync the camera on this volume to the end. True when every clip is stored (and
        deleted or marked synced), False when it must be looked at again."""
        slot = self.slot_of(mount)
        camera = identify(mount, self.config.vendors)
        if camera is None:
            self.progress.slot(slot).state = "unknown"
            self.progress.emit(slot, "unidentified", mount=str(mount))
            return True  # not a camera volume (until its listing changes)
        key = (camera.kind, camera.serial)
        with self._cameras_lock:
            if key in self._cameras:
                self.progress.emit(slot, "waiting", reason="camera_busy_in_another_slot")
                return False
            self._cameras.add(key)
        try:
            return self._sync_camera(mount, slot, camera)
        finally:
            with self._cameras_lock:
                self._cameras.discard(key)

    def _sync_camera(self, mount: Path, slot: str, camera: Camera) -> bool:
        state = self.progress.reset(slot, camera.serial)
        state.state = "hashing"
        self.progress.emit(slot, "docked", kind=camera.kind, identified_by=camera.how)
        clips, complete = self._stable_clips(mount, slot, camera)
        state.files = len(clips)
        state.bytes_total = sum(c.size for c in clips)
        if not clips:
            state.state = "done"
            self.progress.emit(slot, "done")
            return complete
        deadline = time.monotonic() + self.config.wait_stored_seconds
        sent: dict[str, int] = {}
        while True:
            answer = self._manifest(mount, slot, camera, clips)
            by_id = {c["clip_id"]: c for c in answer["clips"]}
            stored = [c for c in clips if by_id[c.clip_id]["status"] == "stored"]
            state.files_stored = len(stored)
            state.bytes_stored = sum(c.size for c in stored)
            state.bytes_received = sum(
                c.size
                if by_id[c.clip_id]["status"] in ("stored", "storing")
                else int(by_id[c.clip_id].get("offset") or 0)
                for c in clips
            )
            self.progress.emit(slot, "manifest", assignment=answer.get("assignment"))
            self._finish_stored(mount, slot, camera, stored)
            if len(stored) == len(clips):
                state.state = "done"
                self.progress.emit(slot, "done")
                return complete
            to_send = [
                c
                for c in clips
                if by_id[c.clip_id]["status"] in RESENDABLE and by_id[c.clip_id].get("upload_url")
            ]
            # A clip sent three times in a round without being stored: its bytes keep
            # changing, or the server keeps refusing them; the next round tries again.
            to_send = [c for c in to_send if sent.get(c.clip_id, 0) < 3]
            if to_send:
                state.state = "uploading"
                for clip in to_send:
                    self._upload(slot, camera, clip, by_id[clip.clip_id])
                    sent[clip.clip_id] = sent.get(clip.clip_id, 0) + 1
                # The wait for storage counts from the last byte sent.
                deadline = time.monotonic() + self.config.wait_stored_seconds
                continue
            waiting = [c for c in clips if by_id[c.clip_id]["status"] in ("storing", "partial")]
            if not waiting or time.monotonic() > deadline:
                state.state = "waiting"
                self.progress.emit(slot, "waiting", reason="not_all_stored")
                return False
            state.state = "waiting"
            time.sleep(0.5)

    def _stable_clips(self, mount: Path, slot: str, camera: Camera) -> tuple[list[LocalClip], bool]:
        """Every media file that is not still growing, hashed (or taken from the journal
        when unchanged), and whether none was skipped; an unreadable file is reported and
        the rest continue."""
        complete = True
        state = self.progress.slot(slot)
        first = {}
        for path in media_files(mount):
            try:
                st = path.stat()
                first[path] = (st.st_size, st.st_mtime_ns)
            except OSError as exc:
                state.errors.append(f"{path.name}: {exc}")
        time.sleep(self.config.settle_seconds)
        clips = []
        for path, seen in first.items():
            try:
                st = path.stat()
                if (st.st_size, st.st_mtime_ns) != seen or (
                    time.time() - st.st_mtime < self.config.settle_seconds
                ):
                    self.progress.emit(slot, "growing", file=path.name)
                    complete = False
                    continue
                clip_id = clip_id_for(mount, path)
                row = self.journal.get(camera.kind, camera.serial, clip_id)
                if (
                    row is not None
                    and row.deleted_at is not None
                    and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns)
                ):
                    # Deleted once already and here again: the deletion did not take (a
                    # read-only camera); never delete twice, just report it.
                    self.progress.emit(slot, "already_deleted", file=path.name)
                    continue
                media_kind = MEDIA_KINDS[path.suffix.lower()]
                if row is not None and (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns):
                    sha256 = row.sha256
                    start = datetime.datetime.fromisoformat(row.recorded_start)
                    end = datetime.datetime.fromisoformat(row.recorded_end)
                    source = row.time_source
                else:
                    sha256 = sha256_of(path)
                    times = recorded_times(path, camera.vendor, media_kind)
                    start, end, source = times.start, times.end, times.source
                    self.journal.hashed(
                        kind=camera.kind,
                        serial=camera.serial,
                        clip_id=clip_id,
                        size=st.st_size,
                        mtime_ns=st.st_mtime_ns,
                        sha256=sha256,
                        recorded_start=start.isoformat(),
                        recorded_end=end.isoformat(),
                        time_source=source,
                    )
                clips.append(
                    LocalClip(
                        path,
                        clip_id,
                        st.st_size,
                        st.st_mtime_ns,
                        sha256,
                        media_kind,
                        start,
                        end,
                        source,
                    )
                )
                self.progress.emit(slot, "hashed", force=False, file=path.name, time_source=source)
            except OSError as exc:  # a bad sector, a broken FAT entry: report, go on
                state.errors.append(f"{path.name}: {exc}"[:200])
                self.journal.event(
                    camera.kind, camera.serial, str(path.name), "unreadable", str(exc)
                )
                self.progress.emit(slot, "unreadable", file=path.name, error=str(exc)[:200])
        return clips, complete

    def _manifest(
        self, mount: Path, slot: str, camera: Camera, clips: list[LocalClip]
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": camera.kind,
            "serial": camera.serial,
            "model_name": camera.vendor.model_name,
            "slot": slot,
            "clips": [c.entry() for c in clips],
        }
        now = datetime.datetime.now().astimezone()
        clock = camera_clock(mount, camera.vendor)
        if clock is not None:
            entry["camera_time"] = clock.isoformat()
            entry["measured_at"] = now.isoformat()
        response = self._post_manifest({"device_time": now.isoformat(), "cameras": [entry]})
        if 400 <= response.status_code < 500:
            try:
                body = response.json()
            except ValueError:
                body = {"code": f"http_{response.status_code}"}
            raise ServerRefused(response.status_code, body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()["cameras"][0]
        for clip in clips:
            found = next(a for a in answer["clips"] if a["clip_id"] == clip.clip_id)
            self.journal.answered(
                camera.kind,
                camera.serial,
                clip.clip_id,
                sha256=clip.sha256,
                status=found["status"],
                recording_id=found["recording_id"],
                upload_url=found.get("upload_url"),
            )
        return answer

    def _post_manifest(self, body: dict[str, Any]) -> requests.Response:
        """POST the manifest; a busy server (503 + Retry-After, 502, 504) or a lost
        connection is retried a few times with the wait it asks for (the manifest is
        idempotent). The device clock is the one read when the manifest was built."""
        for attempt in range(5):
            try:
                response = self.session.post(
                    self.config.server + MANIFEST_PATH,
                    json=body,
                    timeout=self.config.request_timeout,
                )
            except requests.ConnectionError:
                if attempt == 4:
                    raise
                time.sleep(1 + attempt)
                continue
            if response.status_code not in (502, 503, 504) or attempt == 4:
                return response
            try:
                wait = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
            time.sleep(min(max(wait, 0.2), 30.0))
        return response

    def _upload(self, slot: str, camera: Camera, clip: LocalClip, answer: dict[str, Any]) -> None:
        state = self.progress.slot(slot)
        client = tus_client.TusClient(
            self.config.server + UPLOADS_PATH,
            headers={"Authorization": f"Bearer {self.config.token}"},
        )
        try:
            uploader = Sha256Uploader(
                file_path=str(clip.path),
                url=self.config.server + answer["upload_url"],
                client=client,
                chunk_size=self.config.chunk_bytes,
                upload_checksum=True,
            )
            base = state.bytes_received - int(answer.get("offset") or 0)
            self.journal.event(
                camera.kind, camera.serial, clip.clip_id, "upload", str(uploader.offset)
            )
            while uploader.offset < clip.size:
                uploader.upload_chunk()
                state.bytes_received = base + uploader.offset
                self.progress.emit(slot, "uploading", force=False, file=clip.path.name)
            state.bytes_received = base + clip.size
            self.progress.emit(slot, "uploaded", file=clip.path.name)
        except (TusCommunicationError, TusUploadFailed) as exc:
            # 410 (lost staging, expired), 409 (offset), 423 (locked): the next manifest
            # says where to go on. Reported, never fatal for the other clips.
            state.errors.append(f"{clip.path.name}: {exc}"[:200])
            self.progress.emit(slot, "upload_error", file=clip.path.name, error=str(exc)[:200])

    def _finish_stored(
        self, mount: Path, slot: str, camera: Camera, stored: list[LocalClip]
    ) -> None:
        """Delete (or mark synced) what the server stored — only when the file on the
        camera still is the very content the server answered for."""
        state = self.progress.slot(slot)
        for clip in stored:
            row = self.journal.get(camera.kind, camera.serial, clip.clip_id)
            if row is None or row.deleted_at is not None:
                continue
            if not self.config.delete_stored:
                if row.synced_at is None:
                    self.journal.synced(camera.kind, camera.serial, clip.clip_id)
                    self.journal.event(camera.kind, camera.serial, clip.clip_id, "synced")
                continue
            try:
                st = clip.path.stat()
                unchanged = (st.st_size, st.st_mtime_ns) == (clip.size, clip.mtime_ns)
                if not unchanged or sha256_of(clip.path) != clip.sha256:
                    state.errors.append(f"{clip.path.name}: changed since hashed; kept")
                    self.progress.emit(slot, "changed_kept", file=clip.path.name)
                    continue
            except OSError:
                continue  # gone or unreadable: nothing to delete
            if not self.journal.claim_deletion(
                camera.kind, camera.serial, clip.clip_id, clip.sha256
            ):
                continue
            try:
                clip.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                state.errors.append(f"{clip.path.name}: not deleted: {exc}"[:200])
                self.progress.emit(slot, "delete_error", file=clip.path.name, error=str(exc))
            self.journal.deleted(camera.kind, camera.serial, clip.clip_id)
            self.journal.event(camera.kind, camera.serial, clip.clip_id, "deleted")
            state.files_deleted += 1
            self.progress.emit(slot, "deleted", file=clip.path.name)


def _listing(mount: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    try:
        for path in media_files(mount):
            try:
                st = path.stat()
                out.append((str(path), st.st_size, st.st_mtime_ns))
            except OSError:
                continue
    except OSError:
        pass
    return tuple(out)
