"""Search across activities and recordings by the identifiers people use: an activity's
number (XZ-2026-1204-02) or a recording's, an officer's name, a device's serial, a date.
Scoped by the same visibility as the lists (EXISTS semi-joins, no DISTINCT, no COUNT);
at most RESULTS_LIMIT of each, newest first."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.enforcement.models import Activity, ActivityOfficer
from backend.enforcement.selectors import activities_visible_to
from backend.footage.models import Recording
from backend.footage.selectors import recordings_visible_to

RESULTS_LIMIT = 25


class SearchForm(forms.Form):
    q = forms.CharField(label=_("编号、文件名或地点"), required=False, max_length=100)
    officer = forms.CharField(label=_("执法人员"), required=False, max_length=50)
    device = forms.CharField(label=_("设备序列号"), required=False, max_length=64)
    day = forms.DateField(label=_("日期"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["day"].widget.input_type = "date"  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "off")


@dataclass
class SearchResults:
    activities: list[Activity]
    recordings: list[Recording]
    searched: bool


def _day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return start, start + datetime.timedelta(days=1)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def search_activities(
    user: User, *, q: str, officer: str, device: str, day: Any
) -> QuerySet[Activity]:
    found = activities_visible_to(user)
    if q:
        key = _uuid(q)
        found = found.filter(
            Q(pk=key)
            if key
            else Q(external_ref__iexact=q)
            | Q(external_ref__icontains=q)
            | Q(place__icontains=q)
            | Q(category__icontains=q)
        )
    if officer:
        found = found.filter(
            Exists(
                ActivityOfficer.objects.filter(
                    activity=OuterRef("pk"), officer__name__icontains=officer
                )
            )
        )
    if device:
        found = found.filter(
            Exists(
                Recording.objects.filter(
                    activity_links__activity=OuterRef("pk"),
                    activity_links__excluded=False,
                    device__serial__icontains=device,
                )
            )
        )
    if day:
        start, end = _day_range(day)
        found = found.filter(started_at__gte=start, started_at__lt=end)
    return found.select_related("unit", "coverage").order_by("-started_at", "-pk")


def search_recordings(
    user: User, *, q: str, officer: str, device: str, day: Any
) -> QuerySet[Recording]:
    found = recordings_visible_to(user)
    if q:
        key = _uuid(q)
        found = found.filter(
            Q(pk=key)
            if key
            else Q(file_name__icontains=q)
            | Q(clip_id__iexact=q)
            | Exists(
                Activity.objects.filter(
                    recording_links__recording=OuterRef("pk"),
                    recording_links__excluded=False,
                    external_ref__iexact=q,
                )
            )
        )
    if officer:
        found = found.filter(officer__name__icontains=officer)
    if device:
        found = found.filter(device__serial__icontains=device)
    if day:
        start, end = _day_range(day)
        found = found.filter(started_at__gte=start, started_at__lt=end)
    return found.order_by("-started_at", "-pk")


def search(user: User, form: SearchForm) -> SearchResults:
    if not form.is_valid():
        return SearchResults([], [], False)
    data = form.cleaned_data
    terms = {
        "q": data["q"].strip(),
        "officer": data["officer"].strip(),
        "device": data["device"].strip(),
        "day": data["day"],
    }
    if not any(terms.values()):
        return SearchResults([], [], False)
    return SearchResults(
        activities=list(search_activities(user, **terms)[:RESULTS_LIMIT]),
        recordings=list(search_recordings(user, **terms)[:RESULTS_LIMIT]),
        searched=True,
    )
