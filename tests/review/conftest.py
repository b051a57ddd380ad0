"""A small world for the review app: two bureaus, users of every role, stored recordings
in the real SeaweedFS, an activity with a coverage verdict."""

from __future__ import annotations

import datetime
import hashlib
import io
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.audit.services import Actor, audit_record
from backend.devices.models import Device
from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store
from backend.review.models import ApprovalAuthority, Approver
from media.tools import ffmpeg_binary
from tests.factories import make_device, make_officer, make_unit, make_user

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def sample_mp4() -> Path:
    """Three seconds of H.264 + AAC, made once per session."""
    target = Path(tempfile.mkdtemp(prefix="fv-review-media-")) / "clip.mp4"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            str(target),
        ],
        check=True,
    )
    return target


def store_recording(
    *,
    device: Device,
    officer: Officer | None,
    data_path: Path | None = None,
    data: bytes | None = None,
    started_at: datetime.datetime | None = None,
    minutes: float = 5,
    file_name: str = "clip.mp4",
    media_kind: str = "video",
    state: str = RecordingState.STORED,
) -> Recording:
    """A recording as the sync path leaves it: bytes under Object Lock, state stored."""
    if data_path is not None:
        data = data_path.read_bytes()
    data = data if data is not None else uuid.uuid4().bytes * 64
    digest = hashlib.sha256(data).hexdigest()
    start = started_at or timezone.now() - datetime.timedelta(hours=1)
    end = start + datetime.timedelta(minutes=minutes)
    key = version = ""
    if state == RecordingState.STORED:
        path = Path(tempfile.mkdtemp(prefix="fv-review-")) / "original"
        path.write_bytes(data)
        stored = object_store().put_original(
            bucket=settings.FV_ORIGINALS_BUCKET,
            path=path,
            sha256_hex=digest,
            retain_until=timezone.now() + datetime.timedelta(days=1),
        )
        key, version = stored.key, stored.version_id or ""
    recording = Recording.objects.create(
        device=device,
        clip_id=f"C-{uuid.uuid4().hex[:8]}",
        file_name=file_name,
        size_bytes=len(data),
        sha256=digest,
        media_kind=media_kind,
        device_started_at=start,
        device_ended_at=end,
        started_at=start,
        ended_at=end,
        officer=officer,
        state=state,
        storage_key=key,
        storage_version_id=version,
        stored_at=timezone.now() if state == RecordingState.STORED else None,
    )
    audit_record(
        actor=Actor.device(device),
        action="recording.verified",
        object_type="recording",
        object_id=recording.pk,
        data={"sha256": digest},
    )
    if state == RecordingState.STORED:
        audit_record(
            actor=Actor.system(),
            action="recording.stored",
            object_type="recording",
            object_id=recording.pk,
            data={"key": key},
        )
    return recording


@dataclass
class World:
    bureau: Unit
    office: Unit
    other_bureau: Unit
    users: dict[str, User]  # role -> user of the own bureau
    other_users: dict[str, User]  # role -> user of the other bureau
    officer: Officer  # the field officer user's roster entry (office of the own bureau)
    other_officer: Officer
    device: Device
    device_token: str
    other_device: Device
    bureau_head: User
    office_head: User
    recordings: dict[str, Recording] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _users(unit: Unit, prefix: str) -> dict[str, User]:
    return {
        role: make_user(role=role, unit=unit, username=f"{prefix}-{role}", password=PASSWORD)
        for role in Role.values
    }


@pytest.fixture
def world(s3: Any, db: Any) -> World:
    bureau = make_unit(f"甲县司法局-{uuid.uuid4().hex[:4]}", kind=UnitKind.BUREAU)
    office = make_unit(f"城关司法所-{uuid.uuid4().hex[:4]}", kind=UnitKind.OFFICE, parent=bureau)
    other = make_unit(f"乙县司法局-{uuid.uuid4().hex[:4]}", kind=UnitKind.BUREAU)
    users = _users(bureau, "own")
    other_users = _users(other, "other")
    officer = make_officer(office, name="王执法")
    officer.user = users[Role.FIELD_OFFICER]
    officer.save(update_fields=["user"])
    other_officer = make_officer(other, name="李执法")
    other_officer.user = other_users[Role.FIELD_OFFICER]
    other_officer.save(update_fields=["user"])
    device, token = make_device(officer=officer)
    other_device, _token = make_device(officer=other_officer)
    bureau_head = make_user(
        role=Role.SUPERVISOR, unit=bureau, username="bureau-head", password=PASSWORD
    )
    office_head = make_user(
        role=Role.SUPERVISOR, unit=bureau, username="office-head", password=PASSWORD
    )
    Approver.objects.create(user=bureau_head, authority=ApprovalAuthority.BUREAU_HEAD, unit=bureau)
    Approver.objects.create(user=office_head, authority=ApprovalAuthority.OFFICE_HEAD, unit=bureau)
    world = World(
        bureau,
        office,
        other,
        users,
        other_users,
        officer,
        other_officer,
        device,
        token,
        other_device,
        bureau_head,
        office_head,
    )
    world.recordings["own"] = store_recording(device=device, officer=officer)
    world.recordings["other"] = store_recording(device=other_device, officer=other_officer)
    return world


def make_activity(world: World, *, sample: Path | None = None) -> Any:
    """An on-site inspection by two officers: one recorded late and stopped early (with an
    explanation), the other recorded nothing; the coverage check has judged it."""
    from backend.accounts.models import Officer as OfficerModel
    from backend.coverage.models import GapExplanation, LinkSource, RecordingLink
    from backend.coverage.services import coverage_evaluate
    from backend.enforcement.models import Activity, ActivityOfficer, RecordList, RecordRule

    record_list, _created = RecordList.objects.get_or_create(
        effective_from=datetime.date(2020, 1, 1), defaults={"name": "测试清单"}
    )
    RecordRule.objects.get_or_create(
        record_list=record_list,
        category="行政检查",
        stage="现场检查",
        item="",
        defaults={
            "start_text": "进入检查场所时",
            "stop_text": "离开检查场所时",
            "start_moment": "enter_site",
            "stop_moment": "leave_site",
            "full_process": True,
        },
    )
    # The device's clock was measured at its last sync, before the recording was announced
    # (offset known): the coverage check places only recordings of measured clocks.
    from backend.devices.models import ClockReading

    measured_at = timezone.now() - datetime.timedelta(hours=3)
    ClockReading.objects.create(
        device=world.device, device_time=measured_at, server_time=measured_at, offset_ms=0
    )
    Device.objects.filter(pk=world.device.pk).update(last_clock_offset_ms=0)
    start = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=2)
    stop = start + datetime.timedelta(minutes=30)
    activity = Activity.objects.create(
        category="行政检查",
        stage="现场检查",
        unit=world.office,
        place="某律师事务所",
        started_at=start,
        stopped_at=stop,
        state="closed",
    )
    partner: OfficerModel = make_officer(world.office, name="赵协查")
    for officer in (world.officer, partner):
        ActivityOfficer.objects.create(activity=activity, officer=officer)
    recording = store_recording(
        device=world.device,
        officer=world.officer,
        data_path=sample,
        started_at=start + datetime.timedelta(minutes=3),
        minutes=17,
        file_name="DSJ_0001.mp4",
    )
    RecordingLink.objects.create(
        activity=activity, recording=recording, officer=world.officer, source=LinkSource.AUTO
    )
    GapExplanation.objects.create(
        activity=activity,
        officer=world.officer,
        reason="battery",
        text="电量耗尽，更换电池",
        gap_from=start + datetime.timedelta(minutes=20),
        gap_to=stop,
    )
    coverage_evaluate(activity_id=activity.pk)
    activity.refresh_from_db()
    world.extra["activity_recording"] = recording
    return activity


def outside_copy_grant(world: World, *recordings: Recording) -> Any:
    """A copy grant for a procuratorate (an outside body): its exports carry watermarked
    viewing copies. Requested by the legal officer with the two documents, approved by the
    bureau head."""
    from backend.review import services

    clerk = world.users[Role.LEGAL_OFFICER]
    request = services.access_request_create(
        requester=clerk,
        requester_kind="procuratorate",
        purpose="审查起诉",
        recording_ids=[str(r.pk) for r in recordings],
        want_copy=True,
        applicant_name="孙检察官",
        applicant_organisation="甲县人民检察院",
        applicant_id_number="B2",
    )
    for doc in ("letter_of_introduction", "identity"):
        services.access_document_add(
            request=request,
            user=clerk,
            kind=doc,
            file_name="a.pdf",
            content_type="application/pdf",
            body=io.BytesIO(b"%PDF"),
        )
    return services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
