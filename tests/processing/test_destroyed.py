"""Processing leaves destroyed recordings alone: not queued, claimed, re-driven or
re-processed, and a recording destroyed mid-run keeps no derivatives."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.footage import processing
from backend.footage.models import (
    ProcessingState,
    Recording,
    RecordingDerivative,
    RecordingProcessing,
    RecordingState,
)
from backend.footage.processing import (
    recording_process,
    recording_processing_queue,
    recordings_for_reprocess,
    recordings_redrive_processing,
)
from tests.processing.conftest import derivative_keys_in_bucket

pytestmark = pytest.mark.django_db

Make = Callable[..., Recording]


def _destroyed(recording: Recording) -> None:
    # What retention/destruction.py leaves (its own tests run the whole workflow).
    Recording.objects.filter(pk=recording.pk).update(state=RecordingState.DESTROYED)


def test_destroyed_recordings_are_not_queued_claimed_redriven_or_reprocessed(
    s3: Any, clips: dict[str, Path], stored_recording: Make, settings: Any
) -> None:
    settings.FV_PROCESS_AFTER_STORE = True
    live = stored_recording(clips["text"])
    gone = stored_recording(clips["photo"], media_kind="photo")
    # Both queued (the job left to the re-drive), then one is destroyed before any worker.
    for recording in (live, gone):
        assert recording_processing_queue(recording_id=recording.pk, enqueue=False)
    _destroyed(gone)
    past = timezone.now() - datetime.timedelta(hours=1)
    RecordingProcessing.objects.update(queued_at=None, next_attempt_at=past)

    queued = recordings_redrive_processing()
    assert live.pk in queued and gone.pk not in queued
    assert recording_process(recording_id=gone.pk) == "not_claimed"
    assert RecordingProcessing.objects.get(pk=gone.pk).state == ProcessingState.PENDING
    assert not recording_processing_queue(recording_id=gone.pk, reset=True)
    every = recordings_for_reprocess(state="all")
    assert live.pk in every and gone.pk not in every
    assert recording_process(recording_id=live.pk) == "damaged"  # the live one still runs


def test_a_recording_destroyed_while_processing_keeps_no_derivatives(
    s3: Any, clips: dict[str, Path], stored_recording: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = stored_recording(clips["photo"], media_kind="photo")
    assert recording_processing_queue(recording_id=recording.pk, enqueue=False)
    real = processing.process_original

    def destroyed_meanwhile(*args: Any, **kwargs: Any) -> Any:
        outcome = real(*args, **kwargs)
        _destroyed(recording)  # destruction commits while the worker is busy
        return outcome

    monkeypatch.setattr(processing, "process_original", destroyed_meanwhile)
    assert recording_process(recording_id=recording.pk) == "destroyed"
    assert not RecordingDerivative.objects.filter(recording=recording).exists()
    assert not [k for k in derivative_keys_in_bucket() if recording.sha256 in k]
    state = RecordingProcessing.objects.get(pk=recording.pk)
    assert state.state == ProcessingState.FAILED and "destroyed" in state.last_error
    event = AuditEvent.objects.filter(
        object_id=str(recording.pk), action="recording.processing_failed"
    ).get()
    assert event.data["derivatives_removed"] and event.data["derivatives_left"] == []
