"""Activities for the supervisors' pages: scoped lists (enforcement.selectors decides
who sees which) and the server-drawn timeline picture of one activity."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, Unit, User
from backend.coverage.models import CoverageEvaluation, GapExplanation, RecordingLink
from backend.enforcement.models import Activity, ActivityOfficer, RecordRule
from backend.enforcement.selectors import activities_visible_to
from backend.review.keyset import KeysetPage, keyset_page
from coverage_core.evaluation import Verdict
from coverage_core.wording import VERDICT_LABELS_EN, VERDICT_LABELS_ZH

PAGE_SIZE = 25


def verdict_label(verdict: str | None, *, language: str = "zh-hans") -> str:
    if not verdict:
        return _("未检查")
    try:
        labels = VERDICT_LABELS_EN if language.startswith("en") else VERDICT_LABELS_ZH
        return labels[Verdict(verdict)]
    except ValueError:
        return verdict


def _with_details(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    return activities.select_related("unit", "coverage").prefetch_related(
        Prefetch("participants", queryset=ActivityOfficer.objects.select_related("officer")),
        "explanations",
    )


def today_for(user: User) -> list[Activity]:
    """Activities that started today (Asia/Shanghai) with their verdicts."""
    zone = timezone.get_default_timezone()
    start = datetime.datetime.combine(timezone.localdate(), datetime.time.min, tzinfo=zone)
    return list(
        _with_details(activities_visible_to(user))
        .filter(started_at__gte=start, started_at__lt=start + datetime.timedelta(days=1))
        .order_by("-started_at")[:30]
    )


MAX_TEXT = 100


def _day(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ActivityFilters:
    unit: int | None = None
    officer: str = ""
    category: str = ""
    stage: str = ""
    verdict: str = ""
    day: datetime.date | None = None
    number: str = ""  # the activity's number (external_ref), exact

    @classmethod
    def from_query(cls, query: QueryDict) -> ActivityFilters:
        unit = query.get("unit", "")
        return cls(
            unit=int(unit) if unit.isdigit() and len(unit) < 12 else None,
            officer=query.get("officer", "").strip()[:MAX_TEXT],
            category=query.get("category", "")[:50],
            stage=query.get("stage", "")[:50],
            verdict=query.get("verdict", "")[:30],
            day=_day(query.get("day", "")),
            number=query.get("number", "").strip()[:MAX_TEXT],
        )

    def query(self) -> str:
        """The filters as a query string (for the newer/older links)."""
        params = QueryDict(mutable=True)
        for key, value in (
            ("unit", "" if self.unit is None else str(self.unit)),
            ("officer", self.officer),
            ("category", self.category),
            ("stage", self.stage),
            ("verdict", self.verdict),
            ("day", self.day.isoformat() if self.day else ""),
            ("number", self.number),
        ):
            if value:
                params[key] = value
        return params.urlencode()


def activity_search(user: User, filters: ActivityFilters) -> QuerySet[Activity]:
    """The visible activities matching ``filters``, newest first, one row per activity
    without DISTINCT: every many-valued condition (participant, officer name) is an EXISTS
    semi-join, so a page is an index range scan on ``(started_at, id)`` whatever the size."""
    activities = _with_details(activities_visible_to(user))
    if filters.unit is not None:
        # A unit means the unit and its sub-units (a bureau includes its justice offices).
        chosen = Unit.objects.filter(pk=filters.unit).values_list("path", flat=True).first()
        activities = (
            activities.filter(unit__path__startswith=chosen) if chosen else activities.none()
        )
    if filters.officer:
        officers = Officer.objects.filter(name__icontains=filters.officer).values("pk")
        activities = activities.filter(
            Exists(
                ActivityOfficer.objects.filter(activity_id=OuterRef("pk"), officer_id__in=officers)
            )
        )
    if filters.number:
        activities = activities.filter(external_ref=filters.number)
    if filters.category:
        activities = activities.filter(category=filters.category)
    if filters.stage:
        activities = activities.filter(stage=filters.stage)
    if filters.verdict == "unchecked":
        activities = activities.filter(coverage__isnull=True)
    elif filters.verdict:
        activities = activities.filter(coverage__verdict=filters.verdict)
    if filters.day is not None:
        zone = timezone.get_default_timezone()
        start = datetime.datetime.combine(filters.day, datetime.time.min, tzinfo=zone)
        activities = activities.filter(
            started_at__gte=start, started_at__lt=start + datetime.timedelta(days=1)
        )
    return activities.order_by("-started_at", "-pk")


def activity_list_page(
    user: User,
    filters: ActivityFilters,
    *,
    older: str | None = None,
    newer: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage[Activity]:
    """One keyset page (newer/older links, no OFFSET, no count of everything)."""
    return keyset_page(activity_search(user, filters), older=older, newer=newer, size=size)


def filter_choices(user: User) -> dict[str, list[Any]]:
    """The filters' choices from the small tables (the record list's rules, the units in
    the user's scope), never a DISTINCT over every activity."""
    rules = RecordRule.objects.all()
    units = Unit.objects.all()
    if user.role != Role.SYSTEM_ADMIN:
        scope = user.unit.path if user.unit_id and user.unit else None
        units = units.filter(path__startswith=scope) if scope else units.none()
    return {
        "categories": sorted(set(rules.values_list("category", flat=True).distinct()[:200])),
        "stages": sorted(set(rules.values_list("stage", flat=True).distinct()[:200])),
        "units": sorted(set(units.values_list("pk", "name")[:200]), key=lambda pair: pair[1]),
        "verdicts": [(v.value, VERDICT_LABELS_ZH[v]) for v in Verdict],
    }


# -- the timeline picture -------------------------------------------------------------------


@dataclass
class OfficerRow:
    officer_id: int
    name: str
    certificate_problem: str
    bars: list[tuple[datetime.datetime, datetime.datetime, str, str]] = field(default_factory=list)
    gaps: list[tuple[datetime.datetime, datetime.datetime]] = field(default_factory=list)
    late_start_seconds: float | None = None
    early_stop_seconds: float | None = None
    explanations: list[GapExplanation] = field(default_factory=list)


@dataclass
class Timeline:
    svg: SafeString
    rows: list[OfficerRow]
    window_start: datetime.datetime
    window_end: datetime.datetime | None


def _parse(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def activity_timeline(
    activity: Activity, *, recording_url: Any = None, now: datetime.datetime | None = None
) -> Timeline:
    """Rows per participating officer with their recordings as bars, the uncovered pieces
    of the required window, late start and early stop, and the explanations given."""
    evaluation: CoverageEvaluation | None = getattr(activity, "coverage", None)
    detail = evaluation.detail if evaluation else {}
    officer_details = {str(o.get("officer_id")): o for o in detail.get("officers", [])}
    rows: dict[int, OfficerRow] = {}
    for participant in activity.participants.select_related("officer").order_by("officer__name"):
        row = OfficerRow(
            participant.officer_id, participant.officer.name, participant.certificate_problem
        )
        found = officer_details.get(str(participant.officer_id), {})
        for gap in found.get("gaps", []):
            start, end = _parse(gap.get("from")), _parse(gap.get("to"))
            if start and end:
                row.gaps.append((start, end))
        row.late_start_seconds = found.get("late_start_seconds")
        row.early_stop_seconds = found.get("early_stop_seconds")
        rows[participant.officer_id] = row
    links = (
        RecordingLink.objects.filter(activity=activity, excluded=False)
        .select_related("recording", "officer")
        .order_by("recording__started_at")
    )
    for link in links:
        officer_id = link.officer_id or link.recording.officer_id
        if officer_id is None:
            continue
        if officer_id not in rows:
            name = link.officer.name if link.officer else str(officer_id)
            rows[officer_id] = OfficerRow(officer_id, name, "")
        rows[officer_id].bars.append(
            (
                link.recording.started_at,
                link.recording.ended_at,
                str(link.recording_id),
                link.recording.file_name,
            )
        )
    for explanation in GapExplanation.objects.filter(activity=activity).order_by("submitted_at"):
        if explanation.officer_id in rows:
            rows[explanation.officer_id].explanations.append(explanation)
    window_start = (evaluation.window_start if evaluation else None) or activity.started_at
    window_end = activity.stopped_at or (evaluation.window_end if evaluation else None)
    ordered = list(rows.values())
    svg = _draw(
        ordered,
        window_start=window_start,
        window_end=window_end,
        start_label=(detail.get("rule") or {}).get("start_text", ""),
        stop_label=(detail.get("rule") or {}).get("stop_text", ""),
        recording_url=recording_url,
        now=now or timezone.now(),
    )
    return Timeline(svg, ordered, window_start, window_end)


WIDTH = 960
LEFT = 150
RIGHT = 30
ROW_HEIGHT = 64
TOP = 62


def _draw(
    rows: list[OfficerRow],
    *,
    window_start: datetime.datetime,
    window_end: datetime.datetime | None,
    start_label: str,
    stop_label: str,
    recording_url: Any,
    now: datetime.datetime,
) -> SafeString:
    end = window_end or now
    moments = [window_start, end]
    for row in rows:
        for bar_start, bar_end, _id, _name in row.bars:
            moments.extend([bar_start, bar_end])
    lo, hi = min(moments), max(moments)
    span = max((hi - lo).total_seconds(), 60.0)
    lo -= datetime.timedelta(seconds=span * 0.04)
    hi += datetime.timedelta(seconds=span * 0.04)
    total = (hi - lo).total_seconds()
    plot = WIDTH - LEFT - RIGHT

    def x(moment: datetime.datetime) -> float:
        return round(LEFT + (moment - lo).total_seconds() / total * plot, 1)

    height = TOP + ROW_HEIGHT * max(len(rows), 1) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="group" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-label="{escape(_("执法活动时间轴"))}">',
        '<defs><pattern id="gap-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="3" height="6" fill="#d93025" '
        'fill-opacity="0.55"/></pattern></defs>',
    ]
    window_x0, window_x1 = x(window_start), x(end)
    parts.append(
        f'<rect class="window" x="{window_x0}" y="{TOP - 14}" width="{window_x1 - window_x0}" '
        f'height="{ROW_HEIGHT * max(len(rows), 1) + 14}" fill="#e8f0fe" />'
    )
    for moment, label, anchor, kind in (
        (
            window_start,
            _("开始时刻") + (f"：{start_label}" if start_label else ""),
            "start",
            "start",
        ),
        (
            end,
            (_("结束时刻") + (f"：{stop_label}" if stop_label else ""))
            if window_end
            else _("进行中"),
            "end",
            "stop",
        ),
    ):
        mx = x(moment)
        parts.append(
            f'<line class="moment-{kind}" x1="{mx}" x2="{mx}" y1="{TOP - 20}" '
            f'y2="{height - 30}" stroke="#1a73e8" stroke-width="2" />'
        )
        parts.append(
            f'<text x="{mx}" y="{TOP - 26}" text-anchor="{anchor}" font-size="14" '
            f'fill="#1a73e8">{escape(label)} '
            f"{escape(timezone.localtime(moment).strftime('%H:%M:%S'))}</text>"
        )
    for index, row in enumerate(rows):
        y = TOP + index * ROW_HEIGHT
        name = row.name + (" ⚠" if row.certificate_problem else "")
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 24}" text-anchor="end" font-size="16">'
            f"{escape(name)}</text>"
        )
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y + ROW_HEIGHT - 4}" '
            f'y2="{y + ROW_HEIGHT - 4}" stroke="#ddd" />'
        )
        for gap_start, gap_end in row.gaps:
            parts.append(
                f'<rect class="gap" x="{x(gap_start)}" y="{y + 6}" '
                f'width="{max(x(gap_end) - x(gap_start), 1.5)}" height="28" '
                f'fill="url(#gap-hatch)" stroke="#d93025"><title>'
                f"{escape(_('未覆盖'))} {escape(_fmt_span(gap_start, gap_end))}</title></rect>"
            )
        for explanation in row.explanations:
            if explanation.gap_from is None or explanation.gap_to is None:
                continue
            # An explained span: an amber bracket under the bars, the text as its tooltip.
            parts.append(
                f'<rect class="explained" x="{x(explanation.gap_from)}" y="{y + 36}" '
                f'width="{max(x(explanation.gap_to) - x(explanation.gap_from), 2)}" height="4" '
                f'fill="#f9ab00"><title>{escape(_("说明"))}: '
                f"{escape(str(explanation.get_reason_display()))} {escape(explanation.text)} "
                f"{escape(_fmt_span(explanation.gap_from, explanation.gap_to))}</title></rect>"
            )
        for bar_start, bar_end, recording_id, file_name in row.bars:
            bar = (
                f'<rect class="recording" x="{x(bar_start)}" y="{y + 10}" '
                f'width="{max(x(bar_end) - x(bar_start), 2)}" height="20" rx="3" '
                f'fill="#188038"><title>{escape(file_name)} '
                f"{escape(_fmt_span(bar_start, bar_end))}</title></rect>"
            )
            if recording_url is not None:
                bar = f'<a href="{escape(recording_url(recording_id))}">{bar}</a>'
            parts.append(bar)
        marks = []
        if row.late_start_seconds:
            marks.append(_("开始过晚 %(s)s") % {"s": _fmt_seconds(row.late_start_seconds)})
        if row.early_stop_seconds:
            marks.append(_("提前停止 %(s)s") % {"s": _fmt_seconds(row.early_stop_seconds)})
        if not row.bars:
            marks.append(_("无记录"))
        if row.explanations:
            marks.append(_("有说明 %(n)d 条") % {"n": len(row.explanations)})
        if marks:
            parts.append(
                f'<text class="marks" x="{LEFT}" y="{y + ROW_HEIGHT - 12}" font-size="14" '
                f'fill="#d93025">{escape("；".join(marks))}</text>'
            )
    axis_y = height - 18
    steps = 6
    for step in range(steps + 1):
        moment = lo + datetime.timedelta(seconds=total * step / steps)
        parts.append(
            f'<text x="{x(moment)}" y="{axis_y}" text-anchor="middle" font-size="13" '
            f'fill="#555">{timezone.localtime(moment).strftime("%H:%M")}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _fmt_seconds(seconds: float) -> str:
    seconds = round(seconds)
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}′{rest:02d}″" if minutes else f"{rest}″"


def _fmt_span(start: datetime.datetime, end: datetime.datetime) -> str:
    return (
        f"{timezone.localtime(start).strftime('%H:%M:%S')}–"
        f"{timezone.localtime(end).strftime('%H:%M:%S')}"
    )
