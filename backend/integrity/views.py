"""/integrity/: day roots, their timestamps and the gaps (any signed-in user; the same
facts are public at /api/integrity/roots)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from backend.integrity.selectors import integrity_overview
from backend.integrity.services.leaves import day_bounds
from backend.web.pages import page


@require_GET
@page
def integrity_page(request: HttpRequest) -> HttpResponse:
    overview = integrity_overview()
    rows = []
    for root in overview.roots:
        _start, end = day_bounds(root.day)
        delay = (root.stamp_gen_time - end).total_seconds() / 3600 if root.stamp_gen_time else None
        rows.append({"root": root, "delay_hours": delay, "late": delay is not None and delay > 24})
    return render(request, "integrity/overview.html", {"overview": overview, "rows": rows})
