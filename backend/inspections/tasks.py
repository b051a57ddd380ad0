"""Jobs (django.tasks API): thin and idempotent."""

from __future__ import annotations

import uuid

from django_tasks import task

from backend.inspections.services import inspection_activity_link


@task()
def link_inspection_activity(inspection_id: str) -> str | None:
    """Create the coverage activity of a concluded inspection (idempotent)."""
    activity_id = inspection_activity_link(uuid.UUID(inspection_id))
    return str(activity_id) if activity_id else None
