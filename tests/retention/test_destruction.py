"""Legal holds and destruction: refusals, the brake, the queue, the permanent register."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import DatabaseError, transaction
from openpyxl import load_workbook

from backend.accounts.models import User
from backend.audit.models import AuditEvent
from backend.audit.services import audit_verify
from backend.config.errors import Conflict, PermissionDenied
from backend.footage.storage import object_store
from backend.retention.destruction import (
    destruction_batch_approve,
    destruction_batch_prepare,
    destruction_execute_due,
    destruction_item_recover,
)
from backend.retention.models import (
    BatchState,
    DestructionRegisterEntry,
    ItemState,
    RetentionPolicy,
)
from backend.retention.register_export import register_print_html, register_xlsx
from backend.retention.services import (
    evidence_mark_add,
    legal_hold_place,
    legal_hold_release,
    retention_recompute_groups,
)
from tests.retention.conftest import StoreRecording, retention_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_retention(settings) -> None:  # type: ignore[no-untyped-def]
    """Unlinked footage kept 1 day; destruction waits 0 days in the queue; brake at 90 %."""
    RetentionPolicy.objects.filter(category="default").update(period_days=1)
    retention_recompute_groups()
    settings.FV_DESTRUCTION_QUEUE_DAYS = 0
    settings.FV_DESTRUCTION_BRAKE_SHARE = 0.9


def due_recording(store_recording: StoreRecording, **kwargs: object) -> object:
    """A recording that ended 30 days ago, locked for 2 seconds only (lock date = due date)."""
    return store_recording(ended_days_ago=30, lock_seconds=2, **kwargs)


def wait_for_locks() -> None:
    time.sleep(3)  # SeaweedFS refuses deletion until the COMPLIANCE date has passed


def test_hold_release_needs_a_second_person_and_sets_s3_legal_hold(
    store_recording: StoreRecording, legal_officer: User, make_approver: Callable[[], User]
) -> None:
    recording = store_recording()
    hold = legal_hold_place(
        actor=legal_officer, target_kind="recording", recording_id=recording.pk, reason="行政复议中"
    )
    assert retention_of(recording).held
    client = object_store().client
    status = client.get_object_legal_hold(
        Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key
    )["LegalHold"]["Status"]
    assert status == "ON"
    with pytest.raises(PermissionDenied) as refused:
        legal_hold_release(actor=legal_officer, hold_id=hold.pk, reason="结案")
    assert refused.value.code == "hold_release_needs_second_person"
    legal_hold_release(actor=make_approver(), hold_id=hold.pk, reason="复议结束")
    assert not retention_of(recording).held
    status = client.get_object_legal_hold(
        Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key
    )["LegalHold"]["Status"]
    assert status == "OFF"


def test_held_and_evidence_recordings_are_refused(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    legal_officer: User,
) -> None:
    held = due_recording(store_recording)
    evidence = due_recording(store_recording)
    by_case = due_recording(store_recording)
    fine = due_recording(store_recording)
    legal_hold_place(
        actor=legal_officer, target_kind="recording", recording_id=held.pk, reason="诉讼保全"
    )
    evidence_mark_add(actor=legal_officer, recording_id=evidence.pk, kind="evidence")
    # A hold on a case covers the recordings linked to that case.
    evidence_mark_add(
        actor=legal_officer, recording_id=by_case.pk, kind="link", case_ref="(2026)司罚字第7号"
    )
    legal_hold_place(
        actor=legal_officer, target_kind="case", reference="(2026)司罚字第7号", reason="案件复查"
    )
    wait_for_locks()
    with pytest.raises(Conflict) as refused:
        destruction_batch_prepare(
            actor=storage_admin, recording_ids=[held.pk, evidence.pk, by_case.pk, fine.pk]
        )
    assert refused.value.code == "destruction_refused"
    reasons = {r["recording_id"]: r["code"] for r in refused.value.details["refusals"]}
    assert reasons == {
        str(held.pk): "recording_held",
        str(evidence.pk): "recording_is_evidence",
        str(by_case.pk): "recording_held",
    }
    # Picking the due recordings automatically leaves them out.
    batch = destruction_batch_prepare(actor=storage_admin)
    assert [str(i.recording_id) for i in batch.items.all()] == [str(fine.pk)]


def test_preparer_cannot_approve_and_only_designated_leaders_can(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    legal_officer: User,
) -> None:
    due_recording(store_recording)
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin)
    with pytest.raises(PermissionDenied) as refused:
        destruction_batch_approve(actor=storage_admin, batch_id=batch.pk)
    assert refused.value.code == "approver_is_preparer"
    # A designated leader who prepared the batch is refused too.
    leader = make_approver()
    from backend.accounts.models import Role

    leader.role = Role.STORAGE_ADMIN
    leader.save()
    late = due_recording(store_recording)
    wait_for_locks()
    own = destruction_batch_prepare(actor=leader, recording_ids=[late.pk])
    with pytest.raises(PermissionDenied) as refused:
        destruction_batch_approve(actor=leader, batch_id=own.pk)
    assert refused.value.code == "approver_is_preparer"
    with pytest.raises(PermissionDenied) as refused:
        destruction_batch_approve(actor=legal_officer, batch_id=batch.pk)
    assert refused.value.code == "not_retention_approver"


def test_batch_above_the_brake_needs_a_second_approver(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.FV_DESTRUCTION_BRAKE_SHARE = 0.25
    for _ in range(3):
        due_recording(store_recording)
    store_recording()  # not due: part of the holdings
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin)
    assert batch.item_count == 3 and batch.share == pytest.approx(0.75)
    assert batch.approvals_required == 2
    first, second = make_approver(), make_approver()
    destruction_batch_approve(actor=first, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == BatchState.PREPARED  # one approval is not enough above the brake
    with pytest.raises(Conflict) as again:
        destruction_batch_approve(actor=first, batch_id=batch.pk)
    assert again.value.code == "already_approved"
    destruction_batch_approve(actor=second, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == BatchState.QUEUED and batch.executes_after is not None

    # Below the brake one approval queues it.
    settings.FV_DESTRUCTION_BRAKE_SHARE = 0.9
    late = due_recording(store_recording)
    wait_for_locks()
    small = destruction_batch_prepare(actor=storage_admin, recording_ids=[late.pk])
    assert small.approvals_required == 1


def test_queue_destroys_all_versions_and_derivatives_and_registers_permanently(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    legal_officer: User,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.FV_DESTRUCTION_QUEUE_DAYS = 7
    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    gone = due_recording(store_recording)
    recovered = due_recording(store_recording)
    held_later = due_recording(store_recording)
    client = object_store().client
    derivative = f"derivatives/{gone.sha256[:2]}/{gone.sha256}/proxy-720p-v1.mp4"
    client.put_object(Bucket=settings.FV_DERIVATIVES_BUCKET, Key=derivative, Body=b"proxy")
    wait_for_locks()
    batch = destruction_batch_prepare(
        actor=storage_admin, recording_ids=[gone.pk, recovered.pk, held_later.pk]
    )
    item = batch.items.get(recording_id=gone.pk)
    assert item.size_bytes == gone.size_bytes and "已届满" in item.reason_due
    approver = make_approver()
    destruction_batch_approve(actor=approver, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.state == BatchState.QUEUED
    # Within the 7-day queue nothing happens, and an item can be taken back.
    assert destruction_execute_due() == []
    destruction_item_recover(
        actor=storage_admin,
        item_id=batch.items.get(recording_id=recovered.pk).pk,
        reason="发现关联投诉",
    )
    legal_hold_place(
        actor=legal_officer,
        target_kind="recording",
        recording_id=held_later.pk,
        reason="排队期间提起诉讼",
    )
    settings.FV_DESTRUCTION_QUEUE_DAYS = 0
    from django.utils import timezone

    batch.refresh_from_db()
    assert destruction_execute_due(now=batch.executes_after + timezone.timedelta(days=1)) == [
        batch.pk
    ]
    states = dict(batch.items.values_list("recording_id", "state"))
    assert states == {
        gone.pk: ItemState.DESTROYED,
        recovered.pk: ItemState.RECOVERED,
        held_later.pk: ItemState.SKIPPED,
    }
    batch.refresh_from_db()
    assert batch.state == BatchState.EXECUTED
    versions = client.list_object_versions(
        Bucket=settings.FV_ORIGINALS_BUCKET, Prefix=gone.storage_key
    )
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    assert (
        client.list_objects_v2(
            Bucket=settings.FV_DERIVATIVES_BUCKET, Prefix=f"derivatives/{gone.sha256[:2]}/"
        ).get("KeyCount")
        == 0
    )
    assert object_store().head(settings.FV_ORIGINALS_BUCKET, recovered.storage_key) is not None
    assert object_store().head(settings.FV_ORIGINALS_BUCKET, held_later.storage_key) is not None

    entry = DestructionRegisterEntry.objects.get()
    assert entry.recording_id == gone.pk and entry.sha256 == gone.sha256
    assert entry.size_bytes == gone.size_bytes
    assert storage_admin.username in entry.prepared_by and approver.username in entry.approved_by
    assert entry.object_versions and entry.derivatives == [derivative]
    event = AuditEvent.objects.get(sequence=entry.audit_sequence)
    assert event.action == "destruction.item_destroyed" and event.data["sha256"] == gone.sha256
    assert audit_verify().intact
    assert retention_of(gone).destroyed_at is not None

    # Exports: XLSX and a printable page.
    sheet = load_workbook(io.BytesIO(register_xlsx([entry]))).active
    assert sheet["A1"].value == "序号" and sheet["G2"].value == gone.sha256
    assert gone.sha256 in register_print_html([entry])
    # Kept permanently: the database refuses to change or delete a register row.
    with pytest.raises(DatabaseError), transaction.atomic():
        DestructionRegisterEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        DestructionRegisterEntry.objects.filter(pk=entry.pk).update(sha256="0" * 64)
    assert DestructionRegisterEntry.objects.get().sha256 == gone.sha256


def test_shared_content_keeps_the_object_until_the_last_recording_goes(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
) -> None:
    import os

    data = os.urandom(4096)
    first = due_recording(store_recording, data=data)
    store_recording(data=data)  # same bytes, not due
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[first.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)
    destruction_execute_due()
    entry = DestructionRegisterEntry.objects.get()
    assert entry.object_shared and entry.object_versions == []
    assert object_store().head(settings.FV_ORIGINALS_BUCKET, first.storage_key) is not None


def test_an_object_still_locked_in_s3_is_never_destroyed_and_stays_queued(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The database says due, but the object's COMPLIANCE lock was extended behind the
    database's back: SeaweedFS refuses the deletion, the item stays queued (retried next
    run), nothing enters the register, and the check command reports the disagreement."""
    import datetime

    from backend.retention.services import retention_check_locks

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    recording = due_recording(store_recording)
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[recording.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)
    client = object_store().client
    bucket, key = settings.FV_ORIGINALS_BUCKET, recording.storage_key
    version = client.head_object(Bucket=bucket, Key=key)["VersionId"]
    from django.utils import timezone

    client.put_object_retention(
        Bucket=bucket,
        Key=key,
        VersionId=version,
        Retention={
            "Mode": "COMPLIANCE",
            "RetainUntilDate": timezone.now().replace(microsecond=0) + datetime.timedelta(hours=1),
        },
    )
    assert destruction_execute_due() == [batch.pk]
    item = batch.items.get()
    assert item.state == ItemState.QUEUED and item.state_reason
    batch.refresh_from_db()
    assert batch.state == BatchState.QUEUED
    assert not DestructionRegisterEntry.objects.exists()
    assert retention_of(recording).destroyed_at is None
    assert client.head_object(Bucket=bucket, Key=key, VersionId=version)["ContentLength"] > 0
    problems = retention_check_locks()
    assert [p.recording_ids for p in problems] == [[str(recording.pk)]]
    assert "晚于" in problems[0].problem


def test_destruction_removes_the_derivative_rows(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from backend.footage.models import RecordingDerivative

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0

    recording = due_recording(store_recording)
    key = f"derivatives/{recording.sha256[:2]}/{recording.sha256}/poster-v1.jpg"
    object_store().client.put_object(Bucket=settings.FV_DERIVATIVES_BUCKET, Key=key, Body=b"jpg")
    RecordingDerivative.objects.create(
        recording=recording,
        profile="poster",
        profile_version=1,
        bucket=settings.FV_DERIVATIVES_BUCKET,
        key=key,
        content_type="image/jpeg",
        size_bytes=3,
        sha256="0" * 64,
    )
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[recording.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)
    destruction_execute_due()
    assert not RecordingDerivative.objects.filter(recording=recording).exists()
    entry = DestructionRegisterEntry.objects.get()
    assert entry.derivatives == [key]
    event = AuditEvent.objects.get(sequence=entry.audit_sequence)
    assert event.data["derivative_rows_removed"] == [key]


@pytest.mark.clock
def test_destruction_pages_prepare_preview_approve_and_refuse_the_preparer(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from django.test import Client

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    recording = due_recording(store_recording)
    wait_for_locks()
    admin = Client()
    admin.force_login(storage_admin)
    listing = admin.get("/retention/destruction/")
    assert listing.status_code == 200 and "到期可销毁" in listing.content.decode()
    prepared = admin.post("/retention/destruction/", {"note": "2026 年第一批"})
    from backend.retention.models import DestructionBatch

    batch = DestructionBatch.objects.get()
    # POST-redirect-GET to the batch's page (a reload never prepares a second batch).
    assert prepared.status_code == 302
    assert prepared["Location"] == f"/retention/destruction/{batch.pk}/"
    html = admin.get(prepared["Location"]).content.decode()
    assert str(recording.pk) in html and "已届满" in html and "已提请销毁批次" in html
    # The preparer's approval is refused on the page with the service's reason and status.
    own = admin.post(f"/retention/destruction/{batch.pk}/approve/")
    assert own.status_code == 403 and "提请人不能审批" in own.content.decode()
    leader = Client()
    leader.force_login(make_approver())
    preview = leader.get(f"/retention/destruction/{batch.pk}/")
    assert preview.status_code == 200 and "批准销毁" in preview.content.decode()
    approved = leader.post(f"/retention/destruction/{batch.pk}/approve/")
    assert approved.status_code == 302
    assert "已批准销毁" in leader.get(approved["Location"]).content.decode()
    batch.refresh_from_db()
    assert batch.state == BatchState.QUEUED
    again = leader.post(f"/retention/destruction/{batch.pk}/approve/")
    assert again.status_code == 409
    no_reason = leader.post(f"/retention/destruction/{batch.pk}/cancel/", {"reason": ""})
    assert no_reason.status_code == 400
    assert leader.post(f"/retention/destruction/{batch.pk}/explode/").status_code == 404
    assert leader.get("/retention/destruction/999999/").status_code == 404
    # Nothing due any more: preparing again is refused with the reason.
    nothing = admin.post("/retention/destruction/", {})
    assert nothing.status_code == 400 and "没有到期" in nothing.content.decode()


# -- the recording's own state: `destroyed` -----------------------------------------------


def _destroy(
    store_recording: StoreRecording, storage_admin: User, make_approver: Callable[[], User]
) -> tuple[object, object]:
    """A due recording destroyed through the whole workflow; returns (recording, batch)."""
    recording = due_recording(store_recording)
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[recording.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)
    destruction_execute_due()
    return recording, batch


def test_a_destroyed_recording_says_destroyed_with_a_history_row_naming_the_destruction(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from django.utils import translation

    from backend.footage.models import Recording, RecordingState, RecordingStateChange

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    kept = store_recording()  # not due: stays stored
    recording, batch = _destroy(store_recording, storage_admin, make_approver)
    row = Recording.objects.get(pk=recording.pk)
    assert row.state == RecordingState.DESTROYED == "destroyed"
    assert row.get_state_display() == "已销毁"
    with translation.override("en"):
        assert str(row.get_state_display()) == "Destroyed"
    assert Recording.objects.get(pk=kept.pk).state == RecordingState.STORED
    entry = DestructionRegisterEntry.objects.get()
    item = batch.items.get()
    change = RecordingStateChange.objects.filter(recording_id=row.pk).order_by("-id").first()
    assert change is not None
    assert (change.from_state, change.to_state) == ("stored", "destroyed")
    assert change.detail["destruction_batch"] == batch.pk
    assert change.detail["destruction_item"] == item.pk
    assert change.detail["register_number"] == entry.number
    assert change.detail["audit_sequence"] == entry.audit_sequence
    event = AuditEvent.objects.get(sequence=entry.audit_sequence)
    assert event.data["recording_state"] == "destroyed"
    assert audit_verify().intact


def test_the_state_commits_with_the_destruction_bookkeeping_or_not_at_all(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The state change fails: the register entry, the retention row and the item roll back
    with it; the next run (objects already gone) finishes the job with all of them."""
    from backend.footage.models import Recording, RecordingState
    from backend.retention import destruction

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    recording = due_recording(store_recording)
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[recording.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)

    def broken(**kwargs: object) -> None:
        raise RuntimeError("state change refused")

    monkeypatch.setattr(destruction, "recording_transition", broken)
    with pytest.raises(RuntimeError):
        destruction_execute_due()
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.STORED
    assert not DestructionRegisterEntry.objects.exists()
    assert retention_of(recording).destroyed_at is None
    assert batch.items.get().state == ItemState.QUEUED
    assert not AuditEvent.objects.filter(action="destruction.item_destroyed").exists()

    monkeypatch.undo()
    assert destruction_execute_due() == [batch.pk]
    assert Recording.objects.get(pk=recording.pk).state == RecordingState.DESTROYED
    assert DestructionRegisterEntry.objects.get().recording_id == recording.pk
    assert retention_of(recording).destroyed_at is not None


def test_shared_content_destroys_the_recording_though_the_object_stays(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
) -> None:
    import os

    from backend.footage.models import Recording, RecordingState

    data = os.urandom(4096)
    first = due_recording(store_recording, data=data)
    second = store_recording(data=data)  # same bytes, not due
    wait_for_locks()
    batch = destruction_batch_prepare(actor=storage_admin, recording_ids=[first.pk])
    destruction_batch_approve(actor=make_approver(), batch_id=batch.pk)
    destruction_execute_due()
    assert Recording.objects.get(pk=first.pk).state == RecordingState.DESTROYED
    assert Recording.objects.get(pk=second.pk).state == RecordingState.STORED


def test_a_destroyed_clip_is_answered_stored_to_its_device_and_never_taken_again(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    """The device still holds a clip the server destroyed: the manifest answers `stored`
    (the mobile contract has no other word for "the server is done with it": the device
    may delete it and must not send it again), and an upload of it is refused."""
    import datetime

    from django.utils import timezone

    from backend.footage.models import Recording
    from sync.models import Upload
    from sync.schemas import ClipIn
    from sync.services import manifest_sync
    from sync.tus.protocol import TusError
    from sync.uploads import upload_open

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    destroyed, _batch = _destroy(store_recording, storage_admin, make_approver)
    row = Recording.objects.select_related("device").get(pk=destroyed.pk)

    def clip(sha256: str) -> ClipIn:
        return ClipIn(
            clip_id=row.clip_id,
            file_name=row.file_name,
            size=row.size_bytes,
            sha256=sha256,
            recorded_start=row.device_started_at,
            recorded_end=row.device_ended_at,
            media_kind="video",
        )

    answer = manifest_sync(device=row.device, device_time=timezone.now(), clips=[clip(row.sha256)])
    (same,) = answer.clips
    assert same.status == "stored" and same.recording_id == str(row.pk)
    assert same.upload_url is None
    assert not Upload.objects.filter(recording_id=row.pk).exists()
    # Different bytes under the same clip id: as for a stored clip, keep it.
    answer = manifest_sync(device=row.device, device_time=timezone.now(), clips=[clip("f" * 64)])
    assert answer.clips[0].status == "mismatch"
    assert Recording.objects.get(pk=row.pk).sha256 == row.sha256  # never re-declared
    with pytest.raises(TusError) as refused:
        upload_open(
            device_key=str(row.device_id),
            length=row.size_bytes,
            metadata={"clip_id": row.clip_id},
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        )
    assert refused.value.status == 409 and refused.value.code == "clip_already_received"


def test_fixity_skips_and_refuses_a_destroyed_recording(
    store_recording: StoreRecording,
    short_retention: None,
    storage_admin: User,
    make_approver: Callable[[], User],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from backend.config.errors import Gone
    from backend.retention.fixity import fixity_check_recording, fixity_sweep
    from backend.retention.models import FixityAlert, FixityCheck

    settings.FV_DESTRUCTION_BRAKE_SHARE = 1.0
    kept = store_recording()
    destroyed, _batch = _destroy(store_recording, storage_admin, make_approver)
    report = fixity_sweep(limit=100)
    assert report.checked == 1 and report.failed == []
    assert FixityCheck.objects.get().recording_id == kept.pk
    with pytest.raises(Gone) as refused:
        fixity_check_recording(recording_id=destroyed.pk)
    assert refused.value.status == 410 and refused.value.code == "recording_destroyed"
    assert not FixityCheck.objects.filter(recording_id=destroyed.pk).exists()
    assert not FixityAlert.objects.exists()


def test_recordings_destroyed_before_the_state_existed_are_backfilled(
    store_recording: StoreRecording,
) -> None:
    """footage migration 0003: a retention row with destroyed_at but a recording still
    `stored` (destroyed by the older code) gets the state and its history row."""
    import importlib

    from django.apps import apps
    from django.utils import timezone

    from backend.footage.models import Recording, RecordingState, RecordingStateChange
    from backend.retention.models import RecordingRetention

    migration = importlib.import_module("backend.footage.migrations.0003_recording_destroyed")
    old = store_recording()
    live = store_recording()
    RecordingRetention.objects.filter(recording_id=old.pk).update(destroyed_at=timezone.now())
    migration.mark_destroyed(apps, None)
    migration.mark_destroyed(apps, None)  # running twice changes nothing more
    assert Recording.objects.get(pk=old.pk).state == RecordingState.DESTROYED
    assert Recording.objects.get(pk=live.pk).state == RecordingState.STORED
    (change,) = RecordingStateChange.objects.filter(recording_id=old.pk)
    assert (change.from_state, change.to_state) == ("stored", "destroyed")
    assert change.detail["backfilled_by"] == "footage.0003_recording_destroyed"
