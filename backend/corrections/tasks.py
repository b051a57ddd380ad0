"""Jobs (django.tasks API): thin and idempotent."""

from __future__ import annotations

import logging
import uuid

from django_tasks import task

from backend.corrections.services import contact_activity_link, overdue_scan

logger = logging.getLogger(__name__)


@task()
def link_contact_activities(contact_ids: list[str]) -> int:
    """Create the coverage activities of these contacts (idempotent by external ref)."""
    linked = 0
    for contact_id in contact_ids:
        try:
            if contact_activity_link(uuid.UUID(contact_id)) is not None:
                linked += 1
        except Exception:  # one bad contact must not block the others; re-run is safe
            logger.exception("could not link contact %s to an activity", contact_id)
    return linked


@task()
def scan_overdue() -> int:
    return len(overdue_scan())
