"""The legal review of a major decision (法制审核, seed 003 重大行政执法决定法制审核办法):
submission with the 第五条 checklist, a qualified reviewer who did not handle the case, the
clock of 第八条 (10 working days from receipt, +10 once with the leader's approval, paused
while waiting for supplementary material, expert opinion, comments or interpretation), the
第七条 points, the opinion of 第十条 and the disagreement of 第十三条."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.audit.services import Actor, audit_record
from backend.cases.models import (
    Case,
    CaseStage,
    CaseStageEntry,
    DocumentKind,
    LegalReview,
    OpinionKind,
    PauseReason,
    ReviewerQualification,
    ReviewPause,
    ReviewState,
)
from backend.cases.services.common import (
    case_locked,
    certified_officer,
    handling_officer,
    refuse_if_archived,
    require_leader,
    today,
)
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.workcalendar.days import Deadline
from backend.workcalendar.selectors import working_calendar

REVIEW_WORKING_DAYS = 10  # 第八条
EXTENSION_WORKING_DAYS = 10  # 第八条: once, with the leader's approval
LATE_SUBMISSION_WORKING_DAYS = 15  # 第四条: not later than 15 working days before a deadline

# 第五条 (一)–(四) are always required; (五) only after a hearing or evaluation, (六) optional.
REQUIRED_MATERIALS = (
    DocumentKind.INVESTIGATION_REPORT,
    DocumentKind.DECISION_PROPOSAL,
    DocumentKind.DRAFT_DECISION,
    DocumentKind.EVIDENCE_BASIS,
)

# 第七条 review points, recorded one by one.
REVIEW_POINTS = {
    "authority": gettext_lazy("是否属于本机关职权范围，有无超越职权或滥用职权"),
    "facts": gettext_lazy("事实是否清楚，证据是否确凿"),
    "law": gettext_lazy("适用法律依据是否正确"),
    "procedure": gettext_lazy("是否符合法定程序"),
    "content": gettext_lazy("内容是否适当"),
    "documents": gettext_lazy("行政执法文书的制作是否规范"),
    "other": gettext_lazy("其他应当审核的内容"),
}


def review_deadline(review: LegalReview) -> Deadline:
    """Receipt + 10 (+10 when extended) + the working days spent paused (closed pauses)."""
    budget = REVIEW_WORKING_DAYS + (EXTENSION_WORKING_DAYS if review.extended_by_id else 0)
    return working_calendar().add_working_days(
        review.received_on, budget + review.paused_working_days
    )


def _recount(review: LegalReview) -> None:
    deadline = review_deadline(review)
    review.due_on = deadline.date
    review.due_provisional = deadline.provisional


def _review_locked(review_id: int | str, user: User) -> tuple[LegalReview, Case]:
    """Lock order: the case row, then its review."""
    found = (
        LegalReview.objects.filter(unit_scope_q(user, unit_field="case__unit"), pk=review_id)
        .values_list("case_id", flat=True)
        .first()
        if str(review_id).isdigit()
        else None
    )
    if found is None or user.role not in (
        Role.LEGAL_OFFICER,
        Role.SUPERVISOR,
        Role.SYSTEM_ADMIN,
        Role.FIELD_OFFICER,
    ):
        raise NotFound(_("没有该审核。"), code="review_not_found")
    case = case_locked(found, user)
    review = LegalReview.objects.select_for_update().get(pk=review_id)
    return review, case


def review_submit(
    *,
    actor: User,
    case_id: uuid.UUID | str,
    leader_agreed_by: str,
    hearing_held: bool = False,
    on: datetime.date | None = None,
) -> LegalReview:
    """送审 by a handling officer after the leader in charge agreed (第四条). Every missing
    material of 第五条 is named; a submission within 15 working days of the statutory
    deadline is flagged (not refused: the review still has to happen)."""
    day = on or today()
    if not leader_agreed_by.strip():
        raise InvalidInput(
            _("送审前须经分管局领导同意，请填写同意的领导。"), code="leader_agreement_required"
        )
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, day)
        if not case.needs_review:
            raise Conflict(_("本案不需要法制审核。"), code="review_not_needed")
        if case.stage not in (CaseStage.FILED, CaseStage.INVESTIGATING):
            raise Conflict(
                _("案件当前处于“%(stage)s”阶段，不能送审。")
                % {"stage": CaseStage(case.stage).label},
                code="stage_out_of_order",
            )
        present = set(case.documents.values_list("kind", flat=True))
        required = list(REQUIRED_MATERIALS) + (
            [DocumentKind.HEARING_RECORD] if hearing_held else []
        )
        missing = [kind for kind in required if kind not in present]
        if missing:
            names = [str(DocumentKind(kind).label) for kind in missing]
            raise InvalidInput(
                _("送审材料不齐，缺少：%(names)s") % {"names": "、".join(names)},
                code="materials_missing",
                details={"missing": [str(kind) for kind in missing], "names": names},
            )
        late = bool(
            case.statutory_deadline
            and working_calendar().working_days_between(day, case.statutory_deadline)
            < LATE_SUBMISSION_WORKING_DAYS
        )
        review = LegalReview(
            case=case,
            state=ReviewState.SUBMITTED,
            submitted_by=actor,
            leader_agreed_by=leader_agreed_by.strip(),
            received_on=day,
            late_submission=late,
        )
        _recount(review)
        review.save()
        case.stage = CaseStage.REVIEW
        case.save(update_fields=["stage"])
        CaseStageEntry.objects.create(case=case, stage=CaseStage.REVIEW, entered_on=day, by=actor)
        audit_record(
            actor=Actor.user(actor),
            action="case.review_submitted",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk, "late": late, "due_on": str(review.due_on)},
        )
    return review


def _require_reviewer(review: LegalReview, case: Case, user: User, day: datetime.date) -> None:
    """A legal officer, certified on the day, trained (任职培训), who did not handle it."""
    if user.role != Role.LEGAL_OFFICER:
        raise PermissionDenied(_("只有法制审核人员可以审核。"), code="reviewer_only")
    officer = certified_officer(user, day)
    qualification = ReviewerQualification.objects.filter(user=user).first()
    if qualification is None or qualification.suspended or qualification.trained_on > day:
        raise PermissionDenied(
            _("您尚未取得法制审核资格（任职培训考试合格）或资格已暂停。"),
            code="reviewer_not_qualified",
        )
    if (
        case.officers.filter(pk=officer.pk).exists()
        or case.opened_by_id == user.pk
        or review.submitted_by_id == user.pk
    ):
        raise PermissionDenied(_("您承办了本案，不能审核本案。"), code="reviewer_handled_case")
    if review.reviewer_id not in (None, user.pk):
        raise Conflict(_("本审核已由他人承担。"), code="review_taken")


def review_take(*, actor: User, review_id: int | str) -> LegalReview:
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        _require_reviewer(review, case, actor, today())
        if review.state in (ReviewState.CLOSED, ReviewState.OPINION, ReviewState.DISPUTED):
            raise Conflict(_("本审核已结束。"), code="review_finished")
        if review.reviewer_id is None:
            review.reviewer = actor
            review.save(update_fields=["reviewer"])
            audit_record(
                actor=Actor.user(actor),
                action="case.review_taken",
                object_type="case",
                object_id=case.pk,
                data={"review_id": review.pk},
            )
    return review


def review_pause(
    *,
    actor: User,
    review_id: int | str,
    reason: str,
    note: str,
    on: datetime.date | None = None,
) -> LegalReview:
    """Stop the clock (补充材料、专家论证、征求意见、提请解释); `supplement` is the
    request for more material sent to the handling office."""
    day = on or today()
    if reason not in PauseReason.values:
        raise InvalidInput(_("暂停理由无效。"), code="invalid_pause_reason")
    if not note.strip():
        raise InvalidInput(_("请写明需要什么。"), code="note_required")
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        refuse_if_archived(case)
        _require_reviewer(review, case, actor, day)
        if review.state != ReviewState.SUBMITTED:
            raise Conflict(_("只有审核中的案件可以暂停计时。"), code="review_not_running")
        if day < review.received_on:
            raise InvalidInput(_("暂停日期早于收到材料日期。"), code="pause_before_receipt")
        review.reviewer = actor
        review.state = ReviewState.PAUSED
        review.save(update_fields=["reviewer", "state"])
        ReviewPause.objects.create(
            review=review, reason=reason, note=note.strip(), started_on=day, by=actor
        )
        audit_record(
            actor=Actor.user(actor),
            action="case.review_paused",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk, "reason": reason, "note": note.strip()},
        )
    return review


def _resume(review: LegalReview, case: Case, actor: User, day: datetime.date) -> None:
    pause = ReviewPause.objects.select_for_update().get(review=review, ended_on__isnull=True)
    if day < pause.started_on:
        raise InvalidInput(_("恢复日期早于暂停日期。"), code="resume_before_pause")
    pause.ended_on = day
    pause.save(update_fields=["ended_on"])
    # The working days after the pause began, up to and including the day it ended, are
    # not counted (第八条: 补充材料…期间不计入审核期限).
    spent = working_calendar().working_days_between(pause.started_on, day)
    review.paused_working_days += spent
    review.state = ReviewState.SUBMITTED
    _recount(review)
    review.save(update_fields=["paused_working_days", "state", "due_on", "due_provisional"])
    audit_record(
        actor=Actor.user(actor),
        action="case.review_resumed",
        object_type="case",
        object_id=case.pk,
        data={"review_id": review.pk, "paused_working_days": spent, "due_on": str(review.due_on)},
    )


def review_resume(
    *, actor: User, review_id: int | str, on: datetime.date | None = None
) -> LegalReview:
    day = on or today()
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        _require_reviewer(review, case, actor, day)
        if review.state != ReviewState.PAUSED:
            raise Conflict(_("审核计时未暂停。"), code="review_not_paused")
        _resume(review, case, actor, day)
    return review


def review_resume_on_supplement(*, case: Case, actor: User) -> None:
    """The handling office delivered the supplementary material asked for: the clock runs
    again (called inside the document's transaction, case row already locked)."""
    review = (
        LegalReview.objects.select_for_update().filter(case=case, state=ReviewState.PAUSED).first()
    )
    if review is None:
        return
    if not review.pauses.filter(ended_on__isnull=True, reason=PauseReason.SUPPLEMENT).exists():
        return
    _resume(review, case, actor, today())


def review_extend(*, actor: User, review_id: int | str, reason: str) -> LegalReview:
    """情况复杂的，经分管局领导批准，可以延长10个工作日 — once."""
    require_leader(actor)
    if not reason.strip():
        raise InvalidInput(_("请写明延长理由。"), code="reason_required")
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        if review.extended_by_id is not None:
            raise Conflict(_("审核期限已延长过一次，不能再延长。"), code="already_extended")
        if review.state not in (ReviewState.SUBMITTED, ReviewState.PAUSED):
            raise Conflict(_("本审核已结束。"), code="review_finished")
        review.extended_by = actor
        review.extension_reason = reason.strip()
        _recount(review)
        review.save(update_fields=["extended_by", "extension_reason", "due_on", "due_provisional"])
        audit_record(
            actor=Actor.user(actor),
            action="case.review_extended",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk, "due_on": str(review.due_on), "reason": reason.strip()},
        )
    return review


def review_opinion(
    *,
    actor: User,
    review_id: int | str,
    opinion: str,
    reasons: str,
    points: dict[str, str],
) -> LegalReview:
    """The written opinion (第十条, 第十二条) with every 第七条 point recorded; the opinion
    letter (法制审核意见书) is generated and stored in the case file."""
    from backend.cases.printing import opinion_letter_pdf
    from backend.cases.services.case_file import generated_document_add

    if opinion not in OpinionKind.values:
        raise InvalidInput(_("审核意见类型无效。"), code="invalid_opinion")
    if not reasons.strip():
        raise InvalidInput(_("请写明审核意见的理由。"), code="reasons_required")
    cleaned = {key: str(points.get(key, "")).strip() for key in REVIEW_POINTS}
    unrecorded = [str(REVIEW_POINTS[key]) for key, value in cleaned.items() if not value]
    if unrecorded:
        raise InvalidInput(
            _("以下审核要点未记录：%(points)s") % {"points": "；".join(unrecorded)},
            code="review_points_missing",
            details={"missing": [k for k, v in cleaned.items() if not v]},
        )
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        refuse_if_archived(case)
        _require_reviewer(review, case, actor, today())
        if review.state != ReviewState.SUBMITTED:
            raise Conflict(
                _("审核计时暂停中或审核已结束，不能出具意见。"), code="review_not_running"
            )
        review.reviewer = actor
        review.opinion = opinion
        review.opinion_reasons = reasons.strip()
        review.points = cleaned
        review.opinion_at = timezone.now()
        review.state = ReviewState.OPINION
        review.save(
            update_fields=[
                "reviewer",
                "opinion",
                "opinion_reasons",
                "points",
                "opinion_at",
                "state",
            ]
        )
        letter = generated_document_add(
            case=case,
            kind=DocumentKind.OPINION_LETTER,
            title=str(_("重大行政执法决定法制审核意见书")),
            file_name=f"opinion-{review.pk}.pdf",
            data=opinion_letter_pdf(review, case),
            actor=actor,
        )
        audit_record(
            actor=Actor.user(actor),
            action="case.review_opinion",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk, "opinion": opinion, "letter_id": str(letter.pk)},
        )
    return review


def review_accept(*, actor: User, review_id: int | str) -> LegalReview:
    """The handling office adopts an opinion other than 同意 (第十三条): the case goes back
    to investigation; a new submission starts a new review."""
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
        if review.state != ReviewState.OPINION or review.opinion == OpinionKind.AGREE:
            raise Conflict(_("没有待研究的审核意见。"), code="no_opinion_to_accept")
        review.state = ReviewState.CLOSED
        review.save(update_fields=["state"])
        case.stage = CaseStage.INVESTIGATING
        case.save(update_fields=["stage"])
        CaseStageEntry.objects.create(
            case=case, stage=CaseStage.INVESTIGATING, entered_on=today(), by=actor
        )
        audit_record(
            actor=Actor.user(actor),
            action="case.review_opinion_adopted",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk},
        )
    return review


def review_object(*, actor: User, review_id: int | str, objection: str) -> LegalReview:
    """The handling office disagrees: both opinions go to the bureau head (第十三条)."""
    if not objection.strip():
        raise InvalidInput(_("请写明承办机构的意见。"), code="objection_required")
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
        if review.state != ReviewState.OPINION or review.opinion == OpinionKind.AGREE:
            raise Conflict(_("没有可提出异议的审核意见。"), code="no_opinion_to_object")
        review.state = ReviewState.DISPUTED
        review.handling_objection = objection.strip()
        review.save(update_fields=["state", "handling_objection"])
        audit_record(
            actor=Actor.user(actor),
            action="case.review_disputed",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk},
        )
    return review


def review_head_decide(
    *, actor: User, review_id: int | str, proceed: bool, note: str
) -> LegalReview:
    """The bureau head decides a disagreement: proceed (the decision may be recorded) or
    follow the legal unit (the case goes back to investigation)."""
    require_leader(actor)
    if not note.strip():
        raise InvalidInput(_("请写明处理意见。"), code="note_required")
    with transaction.atomic():
        review, case = _review_locked(review_id, actor)
        if review.state != ReviewState.DISPUTED:
            raise Conflict(_("没有待负责人处理的分歧。"), code="not_disputed")
        review.head_decision = ("proceed: " if proceed else "follow: ") + note.strip()
        review.head_decided_by = actor
        if proceed:
            review.state = ReviewState.OPINION
        else:
            review.state = ReviewState.CLOSED
            case.stage = CaseStage.INVESTIGATING
            case.save(update_fields=["stage"])
        review.save(update_fields=["head_decision", "head_decided_by", "state"])
        audit_record(
            actor=Actor.user(actor),
            action="case.review_head_decided",
            object_type="case",
            object_id=case.pk,
            data={"review_id": review.pk, "proceed": proceed},
        )
    return review


def review_allows_decision(case: Case) -> bool:
    """同意, or a disagreement the head decided to proceed with."""
    return (
        LegalReview.objects.filter(case=case, state=ReviewState.OPINION)
        .filter(opinion=OpinionKind.AGREE)
        .exists()
        or LegalReview.objects.filter(
            case=case, state=ReviewState.OPINION, head_decision__startswith="proceed: "
        ).exists()
    )


def review_require_qualification(*, user: User, trained_on: datetime.date) -> ReviewerQualification:
    """Record that a legal officer passed the 任职培训 (administration)."""
    qualification, _created = ReviewerQualification.objects.update_or_create(
        user=user, defaults={"trained_on": trained_on, "suspended": False}
    )
    return qualification


def reviews_case_of(review_id: int) -> Case:
    review = LegalReview.objects.select_related("case").filter(pk=review_id).first()
    if review is None:
        raise NotFound(_("没有该审核。"), code="review_not_found")
    return review.case


def review_deadlines_recompute(year: int | None, actor: Actor) -> int:
    """A year's arrangement was entered: recount every open review whose due date was
    provisional (a hook of backend.workcalendar). Idempotent; returns how many moved."""
    changed = 0
    with transaction.atomic():
        pending = (
            LegalReview.objects.select_for_update()
            .filter(due_provisional=True)
            .exclude(state=ReviewState.CLOSED)
            .order_by("pk")
        )
        for review in pending:
            old = review.due_on
            _recount(review)
            if review.due_on == old and review.due_provisional:
                continue
            LegalReview.objects.filter(pk=review.pk).update(
                due_on=review.due_on, due_provisional=review.due_provisional
            )
            audit_record(
                actor=actor,
                action="case.review_due_recomputed",
                object_type="case",
                object_id=review.case_id,
                data={"review_id": review.pk, "old": str(old), "new": str(review.due_on)},
            )
            changed += 1
    return changed
