"""Pages of community correction (correction officers first, on a tablet; supervisors of the
offices above): the subjects, one subject's schedule and contacts on a timeline, logging a
check-in, visit or talk, the overdue queue (live) and the office's monthly figures.

Views parse, authorize through the selectors, call one service and render; the same reads
as the JSON API under /api/corrections/.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.corrections.forms import BROWSER_KINDS, ContactForm
from backend.corrections.models import (
    Contact,
    ContactKind,
    CrossCheckStatus,
    OverdueAlert,
    Subject,
)
from backend.corrections.selectors import (
    CORRECTION_READ_ROLES,
    LOCATED_DEFINITION,
    LOCATED_TARGET,
    OfficeMonthFigures,
    alerts_visible_to,
    contacts_of_subject,
    office_month_figures,
    offices_visible_to,
    subject_get_visible,
    subjects_visible_to,
)
from backend.corrections.services import ContactInput, contact_log, track_in_scope
from backend.web.pages import page

PAGE_SIZE = 25
CHART_MONTHS = 6
ALERTS_SHOWN = 100

FINDINGS = {
    "identity_by_video_call": gettext_lazy("以视频通话核验身份，报到须本人到场"),
    "no_footage": gettext_lazy("未关联音像记录"),
    "time_mismatch": gettext_lazy("关联音像记录的时间与报到时间不符"),
    "reported_place_without_gps": gettext_lazy("报到未记录定位"),
    "footage_without_gps": gettext_lazy("关联音像记录无定位，无法核对地点"),
    "place_mismatch": gettext_lazy("关联音像记录的定位与报到地点不符"),
}
KIND_ROWS = [
    ContactKind.CHECK_IN,
    ContactKind.HOME_VISIT,
    ContactKind.TALK,
    ContactKind.PHONE_REPORT,
]
KIND_COLOURS = {
    ContactKind.CHECK_IN: "#1a73e8",
    ContactKind.HOME_VISIT: "#188038",
    ContactKind.TALK: "#9334e6",
    ContactKind.PHONE_REPORT: "#5f6368",
}


def _reader(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    if user.role not in CORRECTION_READ_ROLES:
        raise PermissionDenied(_("只有矫正工作人员和监督人员可以查看社区矫正"), code="forbidden")
    return user


def _month_arg(value: str, today: datetime.date) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in value.split("-", 1))
        datetime.date(year, month, 1)
    except ValueError:
        return today.year, today.month
    if (year, month) > (today.year, today.month) or year < 2000:
        return today.year, today.month
    return year, month


def _months_back(year: int, month: int, count: int) -> list[tuple[int, int]]:
    months = []
    for _step in range(count):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


# -- the month chart (SVG, drawn here: no script) ---------------------------------------------


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: str
    cls: str
    label_x: float


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: list[tuple[float, str]]
    bars: list[ChartBar]
    target_y: float
    target_label: str


def _month_chart(rows: list[OfficeMonthFigures]) -> MonthChart:
    width, height, left, right, top, bottom = 440, 230, 50, 10, 14, 188
    plot_w = width - left - right
    slot = plot_w / max(len(rows), 1)

    def y_of(share: float) -> float:
        return bottom - share * (bottom - top)

    bars = []
    for index, row in enumerate(rows):
        x = left + index * slot + slot * 0.2
        share = row.located_share
        value = f"{share * 100:.1f} %" if share is not None else _("无在册对象")
        bars.append(
            ChartBar(
                x=round(x, 1),
                y=round(y_of(share or 0.0), 1),
                w=round(slot * 0.6, 1),
                h=round((bottom - y_of(share or 0.0)), 1),
                label=row.month,
                value=value,
                cls="bar ok" if row.located_meets_target else "bar low",
                label_x=round(x + slot * 0.3, 1),
            )
        )
    ticks = [(round(y_of(p / 100), 1), f"{p} %") for p in (0, 25, 50, 75, 100)]
    return MonthChart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=bottom,
        ticks=ticks,
        bars=bars,
        target_y=round(y_of(LOCATED_TARGET), 1),
        target_label=_("目标 %(p)s %%") % {"p": round(LOCATED_TARGET * 100)},
    )


def _figures(office: Unit | None, year: int, month: int) -> dict[str, Any]:
    if office is None:
        return {}
    rows = [
        office_month_figures(office=office, year=y, month=m)
        for y, m in _months_back(year, month, CHART_MONTHS)
    ]
    share = rows[-1].located_share
    return {
        "figures": rows[-1],
        "figures_rows": rows,
        "chart": _month_chart(rows),
        "located_pct": "—" if share is None else f"{share * 100:.1f} %",
        "located_definition": LOCATED_DEFINITION,
    }


# -- the subject list, the overdue queue, the figures ----------------------------------------


def _office_choice(user: User, wanted: str) -> tuple[list[Unit], Unit | None]:
    offices = list(offices_visible_to(user).filter(kind=UnitKind.OFFICE).order_by("path")[:500])
    chosen = next((o for o in offices if str(o.pk) == wanted), None)
    if chosen is None and offices:
        own = next((o for o in offices if o.pk == user.unit_id), None)
        chosen = own or offices[0]
    return offices, chosen


@require_GET
@page
def subject_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    today = timezone.localdate()
    query = request.GET.get("q", "").strip()[:100]
    open_alerts = (
        OverdueAlert.objects.filter(subject=OuterRef("pk"), resolved_at__isnull=True)
        .values("subject")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_contact = (
        Contact.objects.filter(subject=OuterRef("pk"), deleted_at__isnull=True)
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    subjects = subjects_visible_to(user).annotate(
        open_alerts=Subquery(open_alerts, output_field=IntegerField()),
        last_contact=Subquery(last_contact),
    )
    if query:
        subjects = subjects.filter(Q(name__icontains=query) | Q(address__icontains=query))
    offices, office = _office_choice(user, request.GET.get("office", ""))
    if request.GET.get("office") and office is not None:
        subjects = subjects.filter(office=office)
    year, month = _month_arg(request.GET.get("month", ""), today)
    context: dict[str, Any] = {
        "page_obj": Paginator(subjects.order_by("name", "pk"), PAGE_SIZE).get_page(
            request.GET.get("page")
        ),
        "query": query,
        "offices": offices,
        "office": office,
        "month": f"{year:04d}-{month:02d}",
        "alerts": _alert_rows(user),
        "today": today,
        **_figures(office, year, month),
    }
    return render(request, "corrections/subject_list.html", context)


def _alert_rows(user: User) -> list[dict[str, Any]]:
    alerts = list(alerts_visible_to(user)[:ALERTS_SHOWN])
    named = set(
        subjects_visible_to(user)
        .filter(pk__in={a.subject_id for a in alerts})
        .values_list("pk", flat=True)
    )
    officer_id = Officer.objects.filter(user=user).values_list("pk", flat=True).first()
    today = timezone.localdate()
    return [
        {
            "alert": a,
            "named": a.subject_id in named,
            "mine": a.officer_id == officer_id,
            "days": (today - a.due_date).days,
        }
        for a in alerts
    ]


@require_GET
@page
def alert_queue(request: HttpRequest) -> HttpResponse:
    """The overdue queue alone: htmx reloads it every 30 s and on a `correction.overdue`
    event of /ws/corrections/."""
    user = _reader(request)
    return render(request, "corrections/_alerts.html", {"alerts": _alert_rows(user)})


# -- one subject -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    colour: str
    title: str
    flagged: bool


@dataclass(frozen=True)
class ContactTimeline:
    width: int
    height: int
    left: int
    right: int
    rows: list[tuple[float, str]]
    ticks: list[tuple[float, str]]
    marks: list[Mark]
    alerts: list[Mark]
    start: datetime.date
    end: datetime.date


def _contact_timeline(
    subject: Subject, contacts: list[Contact], alerts: list[OverdueAlert], today: datetime.date
) -> ContactTimeline:
    """Contacts by kind (one row each) along the term so far: the last twelve months at most."""
    end = min(today, subject.term_end)
    start = max(subject.term_start, end - datetime.timedelta(days=365))
    if (end - start).days < 30:
        end = start + datetime.timedelta(days=30)
    width, left, right, row_h, top = 760, 84, 744, 26, 12
    span = (end - start).days or 1

    def x_of(day: datetime.date) -> float:
        return round(left + (right - left) * min(max((day - start).days, 0), span) / span, 1)

    rows = [(top + row_h * i + row_h / 2, str(kind.label)) for i, kind in enumerate(KIND_ROWS)]
    row_y = {kind: rows[i][0] for i, kind in enumerate(KIND_ROWS)}
    height = top + row_h * len(KIND_ROWS) + 28
    ticks = []
    month = datetime.date(start.year, start.month, 1)
    while month <= end:
        if month >= start:
            ticks.append((x_of(month), f"{month:%Y-%m}"))
        month = datetime.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    if len(ticks) > 7:
        ticks = ticks[:: (len(ticks) + 6) // 7]
    marks = []
    for contact in contacts:
        day = timezone.localdate(contact.started_at)
        if not start <= day <= end:
            continue
        flagged = contact.crosscheck_status == CrossCheckStatus.MISMATCH
        marks.append(
            Mark(
                x_of(day),
                row_y[ContactKind(contact.kind)],
                KIND_COLOURS[ContactKind(contact.kind)],
                f"{day:%Y-%m-%d} {contact.get_kind_display()}"
                + (f" · {_('核验不一致')}" if flagged else ""),
                flagged,
            )
        )
    alert_marks = [
        Mark(
            x_of(a.due_date),
            row_y[ContactKind(a.kind)],
            "#c5221f",
            _("%(kind)s 逾期：应于 %(due)s 前完成")
            % {"kind": a.get_kind_display(), "due": f"{a.due_date:%Y-%m-%d}"},
            True,
        )
        for a in alerts
        if start <= a.due_date <= end
    ]
    return ContactTimeline(width, height, left, right, rows, ticks, marks, alert_marks, start, end)


def _findings(contact: Contact) -> list[str]:
    words = []
    for finding in contact.crosscheck_findings or []:
        code = finding.get("code", "")
        text = str(FINDINGS.get(code, finding.get("message", code)))
        if finding.get("distance_m") is not None:
            text += _("（相距 %(m)s 米）") % {"m": finding["distance_m"]}
        words.append(text)
    return words


def _may_log(user: User, subject: Subject) -> bool:
    return user.role == Role.CORRECTION_OFFICER and (
        Officer.objects.filter(user=user, unit_id=subject.office_id).exists()
    )


def _subject_page(
    request: HttpRequest, user: User, subject: Subject, form: ContactForm, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    contacts = contacts_of_subject(subject)
    alerts = list(
        OverdueAlert.objects.filter(subject=subject)
        .filter(Q(resolved_at__isnull=True) | Q(due_date__gte=today - datetime.timedelta(days=365)))
        .order_by("-due_date")[:50]
    )
    entries = [{"contact": c, "findings": _findings(c)} for c in contacts]
    context = {
        "subject": subject,
        "schedules": list(subject.schedules.all()),
        "team": list(subject.team.all()),
        "entries": entries,
        "open_alerts": [a for a in alerts if a.resolved_at is None],
        "timeline": _contact_timeline(
            subject, contacts, [a for a in alerts if a.resolved_at is None], today
        ),
        "form": form,
        "may_log": _may_log(user, subject),
        "flagged": sum(1 for c in contacts if c.crosscheck_status == CrossCheckStatus.MISMATCH),
        "may_track": track_in_scope(user, subject),
        **_steps_context(subject),
    }
    return render(request, "corrections/subject_detail.html", context, status=status)


def _steps_context(subject: Subject) -> dict[str, Any]:
    """The steps from 宣告 to 解除, the approvals and the open position alerts (3 queries)."""
    from backend.corrections.models import (
        AlertHandling,
        CorrectionStep,
        PermissionKind,
        PermissionRequest,
        PositionAlert,
        StepKind,
    )

    steps = list(CorrectionStep.objects.filter(subject=subject).order_by("on_date", "pk"))
    kinds = {s.kind for s in steps}
    return {
        "steps": steps,
        "announced": StepKind.ANNOUNCEMENT in kinds,
        "released": StepKind.RELEASE in kinds,
        "step_kinds": StepKind.choices,
        "permissions": list(
            PermissionRequest.objects.filter(subject=subject)
            .select_related("requested_by", "decided_by")
            .order_by("-starts_at", "-pk")[:20]
        ),
        "permission_kinds": PermissionKind.choices,
        "position_alerts": list(
            PositionAlert.objects.filter(subject=subject, closed_at__isnull=True).order_by(
                "first_at"
            )
        ),
        "handlings": AlertHandling.choices,
        "today_iso": f"{timezone.localdate():%Y-%m-%d}",
    }


def _subject(user: User, subject_id: str) -> Subject:
    subject = subject_get_visible(user=user, subject_id=subject_id)
    if subject is None:
        raise NotFound(_("没有该矫正对象"), code="subject_not_found")
    return subject


@require_GET
@page
def subject_detail(request: HttpRequest, subject_id: str) -> HttpResponse:
    user = _reader(request)
    subject = _subject(user, subject_id)
    kind = request.GET.get("kind", ContactKind.CHECK_IN)
    form = ContactForm(
        initial={
            "kind": kind if kind in dict(BROWSER_KINDS) else ContactKind.CHECK_IN,
            "started_at": timezone.localtime().replace(second=0, microsecond=0),
            "minutes": 15,
        }
    )
    return _subject_page(request, user, subject, form)


@require_POST
@page
def contact_create(request: HttpRequest, subject_id: str) -> HttpResponse:
    """Log a check-in, visit or talk (POST-redirect-GET; an invalid form comes back with
    its errors and what was typed, status 400)."""
    user = _reader(request)
    subject = _subject(user, subject_id)
    if not _may_log(user, subject):
        raise PermissionDenied(
            _("只有本司法所的矫正工作人员可以登记工作记录"), code="not_a_correction_officer"
        )
    form = ContactForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        started: datetime.datetime = data["started_at"]
        values = ContactInput(
            subject_id=subject.pk,
            started_at=started,
            ended_at=started + datetime.timedelta(minutes=data["minutes"]),
            device_started_at=None,
            device_ended_at=None,
            place=data["place"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            notes=data["notes"],
            identity_method=data["identity_method"],
            photo_recording_id=None,
            recording_ids=(),
        )
        try:
            contact = contact_log(actor=user, kind=data["kind"], subject=subject, values=values)
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("已登记%(kind)s：%(when)s")
                % {
                    "kind": contact.get_kind_display(),
                    "when": f"{timezone.localtime(contact.started_at):%Y-%m-%d %H:%M}",
                },
            )
            url = reverse("corrections:subject", args=[subject.pk])
            return HttpResponseRedirect(f"{url}#contact-{contact.pk}")
    return _subject_page(request, user, subject, form, status=400)
