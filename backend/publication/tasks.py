"""Jobs (django.tasks API): thin and idempotent."""

from __future__ import annotations

from django_tasks import task

from backend.publication.services.items import public_items_take_down_due
from backend.publication.sources import publication_sources_redrive


@task()
def take_down_due() -> int:
    """Items whose 公开期限 ran out leave the public site (idempotent)."""
    return public_items_take_down_due()


@task()
def redrive_sources() -> int:
    """Offer every concluded inspection a lost hook call missed (idempotent)."""
    return publication_sources_redrive()
