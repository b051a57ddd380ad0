"""Jobs of the review app (django.tasks API): thin and idempotent."""

from __future__ import annotations

import uuid

from django_tasks import task

from backend.review.services import export_copies_withdraw, export_proxies_prepare


@task(queue_name="media")
def prepare_export_proxies(export_id: str) -> str:
    """Make the watermarked viewing copies of one export if they are still due and its
    grant still allows them (a grant revoked or expired meanwhile gets none)."""
    return export_proxies_prepare(export_id=uuid.UUID(export_id))


@task(queue_name="default")
def withdraw_export_copies(grant_id: str) -> int:
    """Remove the copies of a revoked grant's ready exports (queued by the revocation)."""
    return export_copies_withdraw(grant_id=uuid.UUID(grant_id))
