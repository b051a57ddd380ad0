"""The legal reviews a dashboard shows: due today or overdue, in the viewer's scope (the
dashboard belongs to the review app; it loads this tag, it does not import this app)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from backend.cases.models import ReviewState
from backend.cases.selectors import reviews_queue

register = template.Library()

DASHBOARD_ROWS = 20


@register.simple_tag
def reviews_due(user: Any) -> dict[str, Any]:
    """Running reviews whose due date is today or past (at most 20, nearest first)."""
    if not getattr(user, "is_authenticated", False):
        return {"rows": [], "today": None}
    today = timezone.localdate()
    rows = list(
        reviews_queue(user).filter(state=ReviewState.SUBMITTED, due_on__lte=today)[:DASHBOARD_ROWS]
    )
    return {"rows": rows, "today": today}
