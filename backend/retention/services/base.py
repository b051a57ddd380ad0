"""Small helpers every retention sub-domain uses."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from backend.retention.models import RecordingRetention


def whole_seconds(moment: datetime.datetime) -> datetime.datetime:
    """A moment floored to the second (object-lock dates are stored to the second)."""
    return moment.replace(microsecond=0)


def live_retentions() -> QuerySet[RecordingRetention]:
    """Retention rows of recordings not destroyed yet."""
    return RecordingRetention.objects.filter(destroyed_at__isnull=True)
