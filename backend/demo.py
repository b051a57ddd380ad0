"""The demo `make run` loads: real work for each of the seven demo users on first sign-in.

Idempotent: a second run on the same database finds what the first made (fixed external
references, fixed record ids, one draw per item and period) and adds nothing twice; the
demo's times are fixed by the first run, so the demo camera's clips of a second run are
the same clips (same clip ids, bytes and times) and are already stored.

- the sample record list (音像记录事项清单) in force from 2020-01-01;
- the demo body camera held by the demo field officer for a week, and six clips it
  "recorded offline" two hours ago (the camera syncs them through the real protocol once
  the stack is up, see ops/embedded.py);
- three activities of the field officer: a service of documents (送达) his clips cover, an
  on-site inspection (全过程) with a ten-minute hole, and an evidence collection (调查取证)
  that needs two officers where only one recorded;
- a correction subject of his office with a check-in logged in every past period and
  home visits never made (overdue alerts for the correction officer and supervisor);
- the random-inspection item list, three law firms and a verifiable random draw;
- an access-request approver (the demo supervisor, bureau head) and two destruction
  leaders; after the sync, the legal officer's request to copy the demo clips
  (:func:`demo_access_request`), waiting for the supervisor's decision.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.audit.services import Actor
from backend.workcalendar.selectors import working_calendar

# The official sample lists, as tests/data/official holds them (shipped with the package).
ROOT_DATA = Path(__file__).resolve().parents[1] / "mobile_contract" / "examples"
DEMO_NAMESPACE = uuid.UUID("5f0c8a52-4a55-4c1f-9a53-8e0c2b0d7e11")
CLIP_SECONDS = 2
REF_COVERED = "demo-activity-covered"
REF_GAP = "demo-activity-gap"
REF_TWO = "demo-activity-two-officers"
SUBJECT_NAME = "演示对象·李某"
DRAW_PERIOD_PREFIX = "演示"
ACCESS_PURPOSE = "法制审核：核对送达过程的音像记录（演示）"
LEADERS = (("demo-leader-1", "分管副局长"), ("demo-leader-2", "局长"))
TARGETS = (
    "名称,类型,统一社会信用代码,地址\n"
    "青山律师事务所,律师事务所和律师,31140000MD0000001A,示范县青山镇人民路1号\n"
    "柳河律师事务所,律师事务所和律师,31140000MD0000002B,示范县柳河乡建设街8号\n"
    "明理律师事务所,律师事务所和律师,31140000MD0000003C,示范县城关镇府前街6号\n"
)


@dataclass
class DemoReport:
    clip_starts: list[datetime.datetime] = field(default_factory=list)
    work: list[str] = field(default_factory=list)


def _local_noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 0)))


def demo_officers() -> tuple[Officer, Officer]:
    """The field officer and a colleague of the same justice office, both certified today."""
    today = timezone.localdate()
    linked = Officer.objects.filter(user__username="demo-field-officer").first()
    candidates = [
        o
        for o in Officer.objects.filter(unit__kind=UnitKind.OFFICE).order_by("unit_id", "pk")
        if o.certificate_valid_on(today)
    ]
    field_officer = linked or (candidates[0] if candidates else None)
    if field_officer is None:
        raise RuntimeError("the roster has no certified officer of a justice office (司法所)")
    colleagues = [
        o for o in candidates if o.unit_id == field_officer.unit_id and o != field_officer
    ]
    if not colleagues:
        colleagues = [
            o
            for o in Officer.objects.filter(unit__path__startswith=field_officer.unit.path)
            .exclude(pk=field_officer.pk)
            .order_by("pk")
            if o.certificate_valid_on(today)
        ]
    if not colleagues:
        raise RuntimeError(f"{field_officer.unit} has a single certified officer")
    return field_officer, colleagues[0]


def demo_times() -> datetime.datetime:
    """T, the demo's anchor: fixed by the first run (the covered activity's start)."""
    from backend.enforcement.models import Activity

    existing = Activity.objects.filter(external_ref=REF_COVERED).first()
    if existing is not None:
        return existing.started_at
    return (timezone.now() - datetime.timedelta(hours=2)).replace(second=0, microsecond=0)


def clip_schedule(anchor: datetime.datetime) -> list[datetime.datetime]:
    """Start times of the demo camera's six clips: three back to back over the covered
    activity, two at both ends of the on-site inspection (the hole between them), one at
    the start of the evidence collection."""
    step = datetime.timedelta(seconds=CLIP_SECONDS + 1)
    minute = datetime.timedelta(minutes=1)
    return [
        anchor,
        anchor + step,
        anchor + 2 * step,
        anchor + 10 * minute,
        anchor + 20 * minute - datetime.timedelta(seconds=CLIP_SECONDS),
        anchor + 30 * minute,
    ]


def _activity(
    *,
    ref: str,
    category: str,
    stage: str,
    officers: list[Officer],
    start: datetime.datetime,
    stop: datetime.datetime,
    place: str,
) -> None:
    from backend.enforcement.services import MomentIn, activity_create

    reason = "演示数据"
    activity_create(
        actor=Actor.system(),
        category=category,
        stage=stage,
        item=stage,
        unit=officers[0].unit,
        officers=officers,
        start=MomentIn(occurred_at=start, source="manual", reason=reason),
        stop=MomentIn(occurred_at=stop, source="manual", reason=reason),
        place=place,
        external_ref=ref,
    )


def _record_list(source: Path) -> None:
    from backend.enforcement.models import RecordList
    from backend.enforcement.services import record_list_import

    if not RecordList.objects.exists():
        record_list_import(
            source=source,
            effective_from=datetime.date(2020, 1, 1),
            actor=Actor.system(),
            name="示范县司法局音像记录事项清单（演示）",
        )


def _corrections(officer: Officer, colleague: Officer, admin: User, report: DemoReport) -> None:
    from backend.corrections.models import Contact, ContactKind, Subject
    from backend.corrections.schedules import ScheduleSpec, periods_due
    from backend.corrections.services import (
        ContactInput,
        ScheduleInput,
        contact_write,
        overdue_scan,
        subject_create,
    )

    today = timezone.localdate()
    subject = Subject.objects.filter(name=SUBJECT_NAME, office=colleague.unit).first()
    if subject is None:
        subject = subject_create(
            actor=admin,
            name=SUBJECT_NAME,
            sentence_kind="probation",
            term_start=today - datetime.timedelta(days=75),
            term_end=today + datetime.timedelta(days=290),
            office=colleague.unit,
            responsible_officer=colleague,
            team=[officer],
            schedules=[
                ScheduleInput(kind=ContactKind.CHECK_IN, frequency="monthly"),
                ScheduleInput(kind=ContactKind.HOME_VISIT, frequency="monthly"),
            ],
            address="示范县青山镇幸福里3号",
        )
    # A check-in in every period so far (as the product counts periods), no home visit.
    spec = ScheduleSpec(ContactKind.CHECK_IN, "monthly", 1, 0)
    periods = periods_due(
        spec,
        term_start=subject.term_start,
        term_end=subject.term_end,
        due_from=subject.term_start,
        due_to=subject.term_end,
        working_days=working_calendar(),
    )
    for number, due in enumerate(periods):
        if due.period_start > today:
            break
        record_id = uuid.uuid5(DEMO_NAMESPACE, f"check-in/{subject.pk}/{number}")
        if Contact.objects.filter(pk=record_id).exists():
            continue
        started = min(_local_noon(due.period_start), timezone.now() - datetime.timedelta(hours=3))
        contact_write(
            kind=ContactKind.CHECK_IN,
            record_id=record_id,
            officer=colleague,
            device=None,
            values=ContactInput(
                subject_id=subject.pk,
                started_at=started,
                ended_at=started + datetime.timedelta(minutes=15),
                device_started_at=None,
                device_ended_at=None,
                place="青山镇司法所",
                latitude=None,
                longitude=None,
                notes="按期报到（演示）",
                identity_method="id_card",
                photo_recording_id=None,
                recording_ids=(),
            ),
            existing=False,
        )
    alerts = overdue_scan()
    report.work.append(
        f"correction subject {SUBJECT_NAME}: check-ins logged, home visits overdue "
        f"({len(alerts)} new alert(s))"
    )


def _inspections(bureau: Unit, supervisor: User, report: DemoReport) -> None:
    from backend.inspections.models import InspectionItem, InspectionTarget, RandomDraw
    from backend.inspections.services import (
        draw_create,
        inspection_items_import,
        inspection_targets_import,
    )

    items = ROOT_DATA / "random_inspection_items.csv"
    if not InspectionItem.objects.filter(unit=bureau).exists():
        inspection_items_import(unit=bureau, source=items, actor=None)
    if not InspectionTarget.objects.filter(unit=bureau).exists():
        inspection_targets_import(
            unit=bureau, source=TARGETS.encode(), actor=None, file_name="targets.csv"
        )
    item = InspectionItem.objects.filter(unit=bureau, target_type="律师事务所和律师").first()
    if item is None:
        return
    period = f"{DRAW_PERIOD_PREFIX}{timezone.localdate().year}"
    draw = RandomDraw.objects.filter(item=item, period=period).first()
    if draw is None:
        draw = draw_create(item=item, period=period, actor=supervisor)
    report.work.append(f"random draw {draw.pk} for {item.name} ({period})")


def _approvers(bureau: Unit, users: dict[str, User], report: DemoReport) -> None:
    from backend.review.designations import access_approver_name, destruction_leader_name
    from backend.review.models import ApprovalAuthority

    admin = users[Role.SYSTEM_ADMIN]
    access_approver_name(
        actor=admin,
        user=users[Role.SUPERVISOR],
        authority=ApprovalAuthority.BUREAU_HEAD,
        unit=bureau,
    )
    for username, title in LEADERS:
        leader, _ = User.objects.get_or_create(
            username=username, defaults={"role": Role.SUPERVISOR, "unit": bureau}
        )
        users[username] = leader  # the password is set with the others
        destruction_leader_name(actor=admin, user=leader, title=title)
    report.work.append(
        "approvers: demo-supervisor (bureau head, access requests); destruction leaders "
        + ", ".join(name for name, _ in LEADERS)
    )


def demo_build(*, bureau: Unit, users: dict[str, User]) -> DemoReport:
    """Everything but the clips (which the demo camera syncs) and the access request
    (which names the stored clips, see :func:`demo_access_request`)."""
    report = DemoReport()
    officer, colleague = demo_officers()
    with transaction.atomic():
        field_user = users[Role.FIELD_OFFICER]
        if officer.user_id is None and not Officer.objects.filter(user=field_user).exists():
            officer.user = field_user
            officer.save(update_fields=["user"])
        correction_user = users[Role.CORRECTION_OFFICER]
        if colleague.user_id is None and not Officer.objects.filter(user=correction_user).exists():
            colleague.user = correction_user
            colleague.save(update_fields=["user"])
        for user, unit in ((field_user, officer.unit), (correction_user, colleague.unit)):
            if user.unit_id != unit.pk:
                user.unit = unit
                user.save(update_fields=["unit"])
    _record_list(ROOT_DATA / "record_list.csv")
    anchor = demo_times()
    report.clip_starts = clip_schedule(anchor)
    minute = datetime.timedelta(minutes=1)
    clips_end = report.clip_starts[2] + datetime.timedelta(seconds=CLIP_SECONDS)
    _activity(
        ref=REF_COVERED,
        category="行政处罚",
        stage="送达",
        officers=[officer],
        start=anchor,
        stop=clips_end,
        place="示范县青山镇人民路1号",
    )
    _activity(
        ref=REF_GAP,
        category="行政检查",
        stage="现场检查",
        officers=[officer],
        start=anchor + 10 * minute,
        stop=anchor + 20 * minute,
        place="青山律师事务所",
    )
    _activity(
        ref=REF_TWO,
        category="行政检查",
        stage="调查取证",
        officers=[officer, colleague],
        start=anchor + 30 * minute,
        stop=anchor + 30 * minute + datetime.timedelta(seconds=CLIP_SECONDS),
        place="柳河律师事务所",
    )
    report.work.append(
        f"activities of {officer.name}: one covered, one with a gap, one needing two officers"
    )
    _corrections(officer, colleague, users[Role.SYSTEM_ADMIN], report)
    bureau_root = Unit.objects.filter(parent__isnull=True).order_by("pk").first() or bureau
    _inspections(bureau_root, users[Role.SUPERVISOR], report)
    _approvers(bureau_root, users, report)
    return report


def demo_access_request() -> str:
    """The legal officer asks to copy the field officer's demo clips (once): it waits for
    the demo supervisor, who approves access requests as bureau head."""
    from backend.footage.models import Recording
    from backend.review.models import AccessRequest, RequesterKind
    from backend.review.services import access_request_create

    legal = User.objects.get(username="demo-legal-officer")
    existing = AccessRequest.objects.filter(requester=legal, purpose=ACCESS_PURPOSE).first()
    if existing is not None:
        return str(existing.pk)
    officer = Officer.objects.filter(user__username="demo-field-officer").first()
    recordings = list(
        Recording.objects.filter(officer=officer)
        .order_by("started_at")
        .values_list("pk", flat=True)[:3]
    )
    if not recordings:
        raise RuntimeError("the demo field officer has no recordings to ask for")
    request = access_request_create(
        requester=legal,
        requester_kind=RequesterKind.LEGAL_OFFICER,
        purpose=ACCESS_PURPOSE,
        recording_ids=[str(pk) for pk in recordings],
        want_copy=True,
    )
    return str(request.pk)
