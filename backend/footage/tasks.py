"""Jobs (django.tasks API): thin and idempotent. They take ids and call a service; the
service's own claim makes a duplicate or late job a no-op."""

from __future__ import annotations

import uuid

from django_tasks import task

from backend.footage.processing import recording_process
from backend.footage.services import recording_store


@task(queue_name="media")
def process_recording(recording_id: str) -> str:
    """Process one stored recording (probe, integrity, derivatives) if it is due."""
    return recording_process(recording_id=uuid.UUID(recording_id))


@task(queue_name="storage")
def store_recording(recording_id: str) -> str:
    """Store one verified recording's original in the originals bucket if it is due."""
    return recording_store(recording_id=uuid.UUID(recording_id))
