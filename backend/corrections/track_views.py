"""A subject's track (定位轨迹) of one day and the register of who viewed tracks.

Only correction officers and supervisors of the subject's office and the units above it
see a track (the system administrator does not); the track is shown only after the view
is entered in the register with its purpose (backend.corrections.services.privacy).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.accounts.models import User
from backend.config.errors import NotFound, PermissionDenied
from backend.corrections.models import Position, Subject, TrackView
from backend.corrections.selectors import subject_get_visible
from backend.corrections.services import may_view_tracks, track_in_scope, track_view
from backend.web.pages import page
from backend.web.requests import client_ip

REGISTER_PAGE = 50


def _track_reader(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if not may_view_tracks(user):
        raise PermissionDenied(
            _("只有矫正对象所在司法所及其上级的矫正工作人员、监督人员可以查看定位轨迹"),
            code="track_forbidden",
        )
    return user


def _path(positions: list[Position]) -> dict[str, Any] | None:
    """An SVG polyline of the day's positions, scaled to a 400×300 box (no map tiles: the
    track never leaves the server)."""
    if not positions:
        return None
    lons = [p.longitude for p in positions]
    lats = [p.latitude for p in positions]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    span = max(east - west, north - south, 1e-4)
    width, height, pad = 400, 300, 10

    def xy(p: Position) -> tuple[float, float]:
        x = pad + (p.longitude - west) / span * (width - 2 * pad)
        y = height - pad - (p.latitude - south) / span * (height - 2 * pad)
        return round(x, 1), round(y, 1)

    points = [xy(p) for p in positions]
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{x},{y}" for x, y in points),
        "dots": points,
        "outside": [pt for pt, p in zip(points, positions, strict=True) if p.outside_area],
        "start": points[0],
        "end": points[-1],
    }


@require_GET
@page
def track(request: HttpRequest, subject_id: str) -> HttpResponse:
    user = _track_reader(request)
    subject: Subject | None = subject_get_visible(user=user, subject_id=subject_id)
    if subject is None or not track_in_scope(user, subject):
        raise NotFound(_("没有该矫正对象"), code="subject_not_found")
    today = timezone.localdate()
    raw_day = request.GET.get("day", "").strip()
    try:
        day = parse_date(raw_day) if raw_day else today
    except ValueError:
        day = None
    if day is None or day > today or day < datetime.date(2000, 1, 1):
        day = today
    purpose = request.GET.get("purpose", "").strip()[:300]
    context: dict[str, Any] = {
        "subject": subject,
        "day": day,
        "today": today,
        "purpose": purpose,
        "shown": False,
    }
    if purpose:
        shown = track_view(
            user=user, subject=subject, day=day, purpose=purpose, ip_address=client_ip(request)
        )
        context.update(
            shown=True,
            entry=shown.entry,
            positions=shown.positions,
            truncated=shown.truncated,
            path=_path(shown.positions),
        )
    return render(request, "corrections/track.html", context)


@require_GET
@page
def track_register(request: HttpRequest) -> HttpResponse:
    """Who viewed which subject's track, when and why: views of subjects of the user's unit
    and below, newest first (keyset: ?before=<id>)."""
    user = _track_reader(request)
    assert user.unit is not None
    rows = TrackView.objects.filter(office_path__startswith=user.unit.path).select_related(
        "subject"
    )
    before = request.GET.get("before", "")
    if before.isdigit() and len(before) < 19:
        rows = rows.filter(pk__lt=int(before))
    entries = list(rows.order_by("-pk")[: REGISTER_PAGE + 1])
    more = len(entries) > REGISTER_PAGE
    entries = entries[:REGISTER_PAGE]
    return render(
        request,
        "corrections/track_register.html",
        {"entries": entries, "next_before": entries[-1].pk if more else None},
    )
