"""Jobs (django.tasks API): thin and idempotent."""

from __future__ import annotations

from django_tasks import task

from backend.cases.services.case_file import archive_overdue_alerts_raise


@task()
def raise_archive_overdue_alerts() -> int:
    """Alert the case files closed more than 30 days ago and not archived (once each)."""
    return len(archive_overdue_alerts_raise())
