"""Reconciliation of the database with the originals bucket, against the real SeaweedFS:
clean when they agree; a recording whose object (or version) is gone, altered bytes, and an
object that no row knows (what a lost commit leaves) are each reported."""

from __future__ import annotations

import datetime
import hashlib
import os

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.footage.models import Recording
from backend.footage.storage import object_store
from backend.retention.models import StorageReconciliation
from backend.retention.reconcile import storage_reconcile
from tests.retention.conftest import StoreRecording

pytestmark = pytest.mark.django_db


def test_agreeing_database_and_bucket_are_clean(store_recording: StoreRecording) -> None:
    stored = [store_recording() for _ in range(3)]
    run = storage_reconcile(trigger="after_restore", rehash_sample=3)
    assert run.is_clean, (run.problems, run.orphans)
    assert run.recordings_checked == run.recordings_ok == 3
    assert run.objects_listed == 3 and run.rehashed == 3
    assert run.audit_chain_intact and run.audit_events_checked >= 3
    event = AuditEvent.objects.get(action="storage.reconciled")
    assert event.data["clean"] is True and event.data["trigger"] == "after_restore"
    call_command("storage_reconcile", "--rehash", "1")  # the command form exits 0
    assert StorageReconciliation.objects.count() == 2
    call_command("storage_reconcile", "--trigger", "scheduled", "--due-days", "7")
    assert StorageReconciliation.objects.count() == 2  # the weekly pass: not due yet
    StorageReconciliation.objects.update(finished_at=timezone.now() - datetime.timedelta(days=8))
    call_command("storage_reconcile", "--trigger", "scheduled", "--due-days", "7")
    assert StorageReconciliation.objects.filter(trigger="scheduled").count() == 1
    assert {r.storage_key for r in stored} == {
        r.storage_key for r in Recording.objects.exclude(storage_key="")
    }


def test_lost_object_wrong_version_altered_bytes_and_orphans_are_reported(
    store_recording: StoreRecording,
) -> None:
    intact = store_recording()
    lost = store_recording(put=False)  # the row says stored; the bucket never had it
    wrong_version = store_recording()
    Recording.objects.filter(pk=wrong_version.pk).update(storage_version_id="no-such-version")
    altered = store_recording(put=False)
    object_store().client.put_object(  # other bytes under its key, around the system
        Bucket=settings.FV_ORIGINALS_BUCKET, Key=altered.storage_key, Body=b"not the original"
    )
    forgotten = store_recording()  # a lost commit: the object is there, the row is not
    forgotten_key = forgotten.storage_key
    from backend.retention.models import RecordingRetention

    RecordingRetention.objects.filter(recording_id=forgotten.pk).delete()
    forgotten.state_changes.all().delete()
    Recording.objects.filter(pk=forgotten.pk).delete()

    run = storage_reconcile(rehash_sample=10)
    assert not run.is_clean
    by_recording = {p.get("recording"): p["problem"] for p in run.problems}
    assert by_recording[str(lost.pk)] == "missing"
    assert by_recording[str(wrong_version.pk)] == "version_missing"
    assert by_recording[str(altered.pk)] == "hash_mismatch"
    assert str(intact.pk) not in by_recording
    assert run.missing_count == 2 and run.mismatch_count == 1 and run.recordings_ok == 1
    # The forgotten object, and the real version under the wrong-version row's key.
    assert run.orphan_count == 2
    orphans = {o["key"]: o for o in run.orphans}
    assert set(orphans) == {forgotten_key, wrong_version.storage_key}
    assert orphans[forgotten_key]["sha256"] == forgotten.sha256
    with pytest.raises(SystemExit):
        call_command("storage_reconcile")


def test_an_empty_bucket_and_database_reconcile_clean(s3: object) -> None:
    run = storage_reconcile()
    assert run.is_clean and run.recordings_checked == 0 and run.objects_listed == 0


def _put_with_metadata(recording: Recording) -> None:
    """Store the recording's bytes as the ingest path does: with original_metadata."""
    import tempfile
    from pathlib import Path

    from backend.footage.storage import original_metadata

    payload = os.urandom(recording.size_bytes)
    digest = hashlib.sha256(payload).hexdigest()
    Recording.objects.filter(pk=recording.pk).update(sha256=digest)
    recording.refresh_from_db()
    with tempfile.NamedTemporaryFile() as handle:
        Path(handle.name).write_bytes(payload)
        stored = object_store().put_original(
            bucket=settings.FV_ORIGINALS_BUCKET,
            path=Path(handle.name),
            sha256_hex=digest,
            retain_until=timezone.now() + datetime.timedelta(hours=1),
            metadata=original_metadata(recording),
        )
    Recording.objects.filter(pk=recording.pk).update(
        storage_key=stored.key, storage_version_id=stored.version_id or ""
    )


def test_after_a_restore_lost_stored_commits_are_reattached(
    store_recording: StoreRecording,
) -> None:
    """Two ways a restore loses a `stored`: the row went back to `verified` (the stored
    commit lost), or the whole row is gone (announced and stored after the last backup)."""
    from backend.footage.models import RecordingState, RecordingStateChange
    from backend.retention.models import RecordingRetention

    kept = store_recording(put=False)
    _put_with_metadata(kept)
    went_back = store_recording(put=False)
    _put_with_metadata(went_back)
    went_back.refresh_from_db()
    Recording.objects.filter(pk=went_back.pk).update(
        state=RecordingState.VERIFIED, storage_key="", storage_version_id="", stored_at=None
    )
    gone = store_recording(put=False)
    Recording.objects.filter(pk=gone.pk).update(file_name="执法记录-01.mp4")
    gone.refresh_from_db()
    _put_with_metadata(gone)
    gone.refresh_from_db()
    RecordingRetention.objects.filter(recording_id=gone.pk).delete()
    RecordingStateChange.objects.filter(recording_id=gone.pk).delete()
    Recording.objects.filter(pk=gone.pk).delete()
    no_metadata = store_recording()  # stored without the metadata (before it was written)
    Recording.objects.filter(pk=no_metadata.pk).update(storage_key="", state="verified")

    manual = storage_reconcile(rehash_sample=0)  # not after a restore: listed only
    assert manual.orphan_count == 3 and manual.reattached_count == 0

    run = storage_reconcile(trigger="after_restore", rehash_sample=0)
    assert run.reattached_count == 2 and run.orphan_count == 1
    assert run.orphans[0]["not_reattached"] == "insufficient_metadata"
    back = Recording.objects.get(pk=went_back.pk)
    assert back.state == RecordingState.STORED and back.storage_key == went_back.storage_key
    assert back.storage_version_id == went_back.storage_version_id
    recreated = Recording.objects.get(device_id=gone.device_id, clip_id=gone.clip_id)
    assert recreated.pk != gone.pk and recreated.state == RecordingState.STORED
    assert recreated.sha256 == gone.sha256 and recreated.file_name == "执法记录-01.mp4"
    assert recreated.started_at == gone.started_at and recreated.ended_at == gone.ended_at
    assert recreated.officer_id == gone.officer_id and recreated.size_bytes == gone.size_bytes
    assert recreated.storage_version_id == gone.storage_version_id
    outcomes = sorted(
        e.data["outcome"]
        for e in AuditEvent.objects.filter(action="recording.recovered_after_restore")
    )
    assert outcomes == ["attached_existing", "recreated"]
    again = storage_reconcile(trigger="after_restore", rehash_sample=2)
    assert again.reattached_count == 0 and again.orphan_count == 1
    assert kept.pk and again.missing_count == 0 and again.mismatch_count == 0
