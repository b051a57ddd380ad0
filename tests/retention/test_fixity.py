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
from backend.footage.storage import object_store
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
