"""`{{ activity|explanation_line }}`: "已说明（已采纳）" beside a verdict (explanations
prefetched by the list's query)."""

from __future__ import annotations

from django import template

from backend.enforcement.models import Activity

register = template.Library()


@register.filter
def explanation_line(activity: Activity) -> str:
    from backend.coverage.views import status_line

    return status_line(list(activity.explanations.all()))  # type: ignore[attr-defined]
