"""Fixity checks against the real SeaweedFS: intact, missing behind our back, altered."""

from __future__ import annotations

import datetime

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management import call_command
from django.test import TestCase

from backend.audit.models import AuditEvent
from backend.footage.models import Recording
from backend.footage.storage import destruction_store, object_store
from backend.retention.fixity import fixity_sweep
from backend.retention.models import FixityAlert, FixityCheck, RecordingRetention
from backend.retention.periodic import retention_periodic
from sync.events import ALL_UNITS_GROUP
from tests.retention.conftest import StoreRecording, retention_of

pytestmark = pytest.mark.django_db


def test_sweep_checks_oldest_first_and_keeps_results(store_recording: StoreRecording) -> None:
    first, second, third = (store_recording() for _ in range(3))
    RecordingRetention.objects.filter(recording_id=second.pk).update(
        last_fixity_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    RecordingRetention.objects.filter(recording_id=third.pk).update(
        last_fixity_at=datetime.datetime.now(datetime.UTC)  # checked just now: not due
    )
    report = fixity_sweep(limit=10)
    assert report.checked == 2 and report.ok == 2 and not report.failed
    order = list(FixityCheck.objects.order_by("pk").values_list("recording_id", flat=True))
    assert order == [first.pk, second.pk]  # never checked, then the oldest check
    assert report.bytes_read == first.size_bytes + second.size_bytes
    assert retention_of(first).last_fixity_outcome == "ok"
    assert fixity_sweep(limit=10).checked == 0  # a full sweep is done for this period


def test_object_deleted_behind_our_back_is_found_and_alerted(
    store_recording: StoreRecording,
) -> None:
    # The storage key points to an object that is not there (lost outside the system).
    missing = store_recording(put=False)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(ALL_UNITS_GROUP, channel)
    with TestCase.captureOnCommitCallbacks(execute=True):
        report = fixity_sweep(limit=10)
    assert report.failed == [f"{missing.pk}:missing"]
    alert = FixityAlert.objects.get()
    assert alert.recording_id == missing.pk and alert.outcome == "missing"
    event = AuditEvent.objects.get(action="fixity.alert")
    assert event.object_id == str(missing.pk) and event.data["outcome"] == "missing"
    message = async_to_sync(layer.receive)(channel)
    assert message["event"]["type"] == "fixity_alert"
    assert message["event"]["recording_id"] == str(missing.pk)
    assert retention_of(missing).last_fixity_outcome == "missing"


def test_altered_bytes_are_a_mismatch(store_recording: StoreRecording) -> None:
    recording = store_recording(put=False)
    # Different bytes under the recording's key, written around the system (no lock).
    object_store().client.put_object(
        Bucket=settings.FV_ORIGINALS_BUCKET, Key=recording.storage_key, Body=b"not the original"
    )
    with pytest.raises(SystemExit):
        call_command("fixity_sweep", "--limit", "5")
    check = FixityCheck.objects.get(recording_id=recording.pk)
    assert check.outcome == "mismatch" and check.actual_sha256 != recording.sha256
    assert FixityAlert.objects.filter(recording_id=recording.pk, outcome="mismatch").exists()


def test_periodic_pass_runs_fixity(store_recording: StoreRecording) -> None:
    store_recording()
    summary = retention_periodic()
    assert summary["fixity_checked"] == 1 and summary["fixity_failed"] == 0


def test_plain_delete_behind_our_back_is_found_with_how_to_recover(
    store_recording: StoreRecording,
) -> None:
    """Someone with delete rights (the destruction identity; the application's own has
    none) deletes a locked original around the system. S3 accepts a plain DELETE (it
    writes a delete marker). An original stored before versions were recorded is read by
    key: the sweep finds it missing, alerts, and says the locked version is still there.
    One read by its recorded version is not hidden by the marker at all."""
    recording = store_recording(lock_seconds=3600)
    by_version = store_recording(lock_seconds=3600)
    assert recording.storage_version_id and by_version.storage_version_id
    Recording.objects.filter(pk=recording.pk).update(storage_version_id="")
    client = destruction_store().client
    version = recording.storage_version_id
    for hidden in (recording, by_version):
        client.delete_object(Bucket=settings.FV_ORIGINALS_BUCKET, Key=hidden.storage_key)
    report = fixity_sweep(limit=10)
    assert report.failed == [f"{recording.pk}:missing"]
    check = FixityCheck.objects.get(recording_id=recording.pk)
    assert check.outcome == "missing" and "删除标记" in check.detail and version in check.detail
    assert FixityAlert.objects.filter(recording_id=recording.pk, outcome="missing").exists()
    assert AuditEvent.objects.filter(action="fixity.alert", object_id=str(recording.pk)).exists()
    assert FixityCheck.objects.get(recording_id=by_version.pk).outcome == "ok"


def test_sweep_is_paced_to_finish_within_the_period(
    store_recording: StoreRecording,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from backend.retention.fixity import fixity_quota

    for _ in range(3):
        store_recording(size=64)
    settings.FV_FIXITY_RUN_LIMIT = 1
    settings.FV_FIXITY_PERIOD_DAYS = 1
    # Runs every 12 h over a 1-day period: 2 runs must cover 3 originals (+10 %).
    assert fixity_quota(interval_seconds=12 * 3600) == 2
    assert fixity_quota(interval_seconds=60) == 1  # never below the run limit
    summary = retention_periodic(interval_seconds=12 * 3600)
    assert summary["fixity_checked"] == 2 and summary["fixity_still_due"] == 1
    assert retention_periodic(interval_seconds=12 * 3600)["fixity_checked"] == 1


def test_periodic_command_runs_once_with_its_interval(store_recording: StoreRecording) -> None:
    import io

    store_recording()
    out = io.StringIO()
    call_command("retention_periodic", "--interval", "900", stdout=out)
    assert "'fixity_checked': 1" in out.getvalue() and "'refreshed': 0" in out.getvalue()
