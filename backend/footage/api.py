"""The API shapes of a recording (its detail, processing, metadata, time corrections).

The operations that answer with them live with the app that decides them: reading a
recording registers a content view (backend/review/recordings_api.py), correcting its time
re-checks coverage (backend/coverage/api.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from backend.footage.models import (
    Recording,
    RecordingMetadata,
    RecordingProcessing,
    RecordingTimeCorrection,
)
from backend.footage.schemas import (
    DerivativeOut,
    MetadataOut,
    ProcessingOut,
    RecordingDetailOut,
    StateChangeOut,
    TimeCorrectionOut,
)
from backend.footage.selectors import (
    DerivativeLink,
)


def _related(recording: Recording, name: str) -> Any:
    try:
        return getattr(recording, name)
    except ObjectDoesNotExist:
        return None


def _processing_out(processing: RecordingProcessing | None) -> ProcessingOut | None:
    if processing is None:
        return None
    return ProcessingOut(
        state=processing.state,
        state_label=str(processing.get_state_display()),
        attempts=processing.attempts,
        reason_code=processing.reason_code,
        reason_message=str(processing.reason.get("message_zh", "")),
        reason=processing.reason,
        warnings=processing.warnings,
        salvage=processing.salvage,
        last_error=processing.last_error,
        finished_at=processing.finished_at,
    )


def _metadata_out(metadata: RecordingMetadata | None) -> MetadataOut | None:
    if metadata is None:
        return None
    return MetadataOut(
        kind=metadata.kind,
        container=metadata.container,
        video_codec=metadata.video_codec,
        audio_codec=metadata.audio_codec,
        duration_seconds=metadata.duration_seconds,
        width=metadata.width,
        height=metadata.height,
        fps=metadata.fps,
        decode_errors=metadata.decode_errors,
        file_created_at=metadata.file_created_at,
        file_time_source=metadata.file_time_source,
        file_time_offset_seconds=metadata.file_time_offset_seconds,
        file_time_disagrees=metadata.file_time_disagrees,
        gps_latitude=metadata.gps_latitude,
        gps_longitude=metadata.gps_longitude,
        gps_altitude_m=metadata.gps_altitude_m,
    )


def _time_correction_out(correction: RecordingTimeCorrection) -> TimeCorrectionOut:
    return TimeCorrectionOut(
        batch_id=str(correction.batch_id),
        previous_started_at=correction.previous_started_at,
        previous_ended_at=correction.previous_ended_at,
        new_started_at=correction.new_started_at,
        new_ended_at=correction.new_ended_at,
        offset_seconds=correction.offset.total_seconds(),
        reason=correction.reason,
        corrected_by=correction.corrected_by.username if correction.corrected_by else None,
        corrected_at=correction.corrected_at,
    )


def recording_detail_out(
    recording: Recording, *, links: list[DerivativeLink], content_allowed: bool
) -> RecordingDetailOut:
    return RecordingDetailOut(
        id=str(recording.pk),
        device_id=str(recording.device_id),
        clip_id=recording.clip_id,
        file_name=recording.file_name,
        media_kind=recording.media_kind,
        size_bytes=recording.size_bytes,
        sha256=recording.sha256,
        state=recording.state,
        officer_id=recording.officer_id,
        device_started_at=recording.device_started_at,
        device_ended_at=recording.device_ended_at,
        clock_offset_ms=recording.clock_offset_ms,
        started_at=recording.started_at,
        ended_at=recording.ended_at,
        latitude=recording.latitude,
        longitude=recording.longitude,
        stored_at=recording.stored_at,
        state_history=[
            StateChangeOut(from_state=c.from_state, to_state=c.to_state, occurred_at=c.occurred_at)
            for c in recording.state_changes.all()
        ],
        processing=_processing_out(_related(recording, "processing")),
        metadata=_metadata_out(_related(recording, "media_metadata")),
        derivatives=[
            DerivativeOut(
                profile=link.derivative.profile,
                content_type=link.derivative.content_type,
                size_bytes=link.derivative.size_bytes,
                width=link.derivative.width,
                height=link.derivative.height,
                url=link.url if content_allowed else None,
                url_expires_at=link.expires_at if content_allowed else None,
            )
            for link in links
        ],
        time_corrections=[_time_correction_out(c) for c in recording.time_corrections.all()],
    )
