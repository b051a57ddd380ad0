"""The recordings list page: filters a person needs, keyset pages, and per page a fixed
number of queries whatever its length (the rows; their posters; their activities).

Every filter narrows by a condition an index answers: the officer and device filters
resolve to ids first (small tables), the day range and the keyset bound hit
``(started_at, id)``, the state ``(state, started_at, id)``, the activity number the
link table's ``(activity, recording)`` key; the text search on PostgreSQL a trigram
index on the file name.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from backend.accounts.models import Officer, User
from backend.coverage.models import RecordingLink
from backend.devices.models import Device
from backend.footage.models import Recording, RecordingState
from backend.review import selectors
from backend.review.keyset import KeysetPage, keyset_page
from backend.review.playback import poster_urls

PAGE_SIZE = 25
MAX_TEXT = 100


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RecordingFilters:
    q: str = ""
    state: str = ""
    device: str = ""
    activity: str = ""
    day_from: datetime.date | None = None
    day_to: datetime.date | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> RecordingFilters:
        state = query.get("state", "")
        return cls(
            q=query.get("q", "").strip()[:MAX_TEXT],
            state=state if state in RecordingState.values else "",
            device=query.get("device", "").strip()[:MAX_TEXT],
            activity=query.get("activity", "").strip()[:MAX_TEXT],
            day_from=_day(query.get("from", "")),
            day_to=_day(query.get("to", "")),
        )

    def query(self) -> str:
        """The filters as a query string (for the newer/older links)."""
        params = QueryDict(mutable=True)
        for key, value in (
            ("q", self.q),
            ("state", self.state),
            ("device", self.device),
            ("activity", self.activity),
            ("from", self.day_from.isoformat() if self.day_from else ""),
            ("to", self.day_to.isoformat() if self.day_to else ""),
        ):
            if value:
                params[key] = value
        return params.urlencode()


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def recordings_filtered(user: User, filters: RecordingFilters) -> QuerySet[Recording]:
    recordings = selectors.recordings_readable_by(user).select_related("processing")
    if filters.state:
        recordings = recordings.filter(state=filters.state)
    if filters.q:
        officers = Officer.objects.filter(name__icontains=filters.q).values("pk")
        recordings = recordings.filter(
            Q(file_name__icontains=filters.q) | Q(officer_id__in=officers)
        )
    if filters.device:
        devices = Device.objects.filter(serial__iexact=filters.device).values("pk")
        recordings = recordings.filter(device_id__in=devices)
    if filters.activity:
        recordings = recordings.filter(
            Exists(
                RecordingLink.objects.filter(
                    recording_id=OuterRef("pk"),
                    excluded=False,
                    activity__external_ref=filters.activity,
                )
            )
        )
    if filters.day_from:
        recordings = recordings.filter(started_at__gte=_local_midnight(filters.day_from))
    if filters.day_to:
        end = _local_midnight(filters.day_to + datetime.timedelta(days=1))
        recordings = recordings.filter(started_at__lt=end)
    return recordings


def duration_text(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class RecordingRow:
    recording: Recording
    poster: str | None
    duration: str
    activities: list[Any] = field(default_factory=list)


def _linked_activities(user: User, recordings: list[Recording]) -> dict[Any, list[Any]]:
    """The visible activities each recording counts for, in two queries: the page's links
    (by the link table's recording key), then which of their activities the user may see
    (by primary key). One query with the visibility as a semi-join let the planner, misled
    by the unit-path estimate, walk every activity of the unit (65 ms at 8,000 recordings,
    growing with the table)."""
    from backend.enforcement.selectors import activities_visible_to

    if not recordings:
        return {}
    links = list(
        RecordingLink.objects.filter(
            recording_id__in=[r.pk for r in recordings],
            excluded=False,
        )
        .select_related("activity")
        .order_by("activity__started_at", "activity_id")
    )
    if not links:
        return {}
    visible = set(
        activities_visible_to(user)
        .filter(pk__in={link.activity_id for link in links})
        .values_list("pk", flat=True)
    )
    found: dict[Any, list[Any]] = {}
    for link in links:
        if link.activity_id in visible:
            found.setdefault(link.recording_id, []).append(link.activity)
    return found


def recording_list_page(
    user: User,
    filters: RecordingFilters,
    *,
    older: str | None = None,
    newer: str | None = None,
    size: int = PAGE_SIZE,
) -> tuple[KeysetPage[Recording], list[RecordingRow]]:
    page = keyset_page(recordings_filtered(user, filters), older=older, newer=newer, size=size)
    posters = poster_urls(page.rows)
    activities = _linked_activities(user, page.rows)
    rows = [
        RecordingRow(
            recording=r,
            poster=posters.get(r.pk),
            duration=duration_text((r.ended_at - r.started_at).total_seconds()),
            activities=activities.get(r.pk, []),
        )
        for r in page.rows
    ]
    return page, rows
