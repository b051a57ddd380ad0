"""Links and exclusions made by a person, and gap explanations with their decision."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.coverage.models import (
    ExplanationReason,
    ExplanationState,
    GapExplanation,
    LinkSource,
    RecordingLink,
)
from backend.coverage.services.aggregates import monthly_counts_follow
from backend.coverage.services.evaluation import _activities_locked
from backend.coverage.services.linking import _evaluate_all, _lock_activities
from backend.enforcement.models import Activity, ActivityOfficer
from backend.footage.models import Recording

# ------------------------------------------------------------ manual linking


def recording_link_add(
    *,
    user: User,
    activity: Activity,
    recording: Recording,
    reason: str,
    officer: Officer | None = None,
) -> RecordingLink:
    """A person links a recording to an activity (for ``officer``, by default the
    recording's). The officer must take part in the activity. Re-checks the activity."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("人工关联必须说明原因"), code="reason_required")
    officer_id = officer.pk if officer is not None else recording.officer_id
    if officer_id is None:
        raise InvalidInput(_("请指定该记录计入哪名执法人员"), code="officer_required")
    if not ActivityOfficer.objects.filter(activity=activity, officer_id=officer_id).exists():
        raise InvalidInput(
            _("该执法人员未参与此执法活动"),
            code="officer_not_participant",
            details={"officer_id": officer_id},
        )
    with transaction.atomic():
        _activities_locked().filter(pk=activity.pk).first()
        link, created = RecordingLink.objects.select_for_update().get_or_create(
            activity=activity,
            recording=recording,
            defaults={
                "officer_id": officer_id,
                "source": LinkSource.MANUAL,
                "reason": reason,
                "changed_by": user,
            },
        )
        if not created:
            if not link.excluded and link.officer_id == officer_id:
                raise Conflict(_("该记录已关联到此执法活动"), code="already_linked")
            link.excluded = False
            link.officer_id = officer_id
            link.source = LinkSource.MANUAL
            link.reason = reason
            link.changed_by = user
            link.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.link_added",
            object_type="activity",
            object_id=activity.pk,
            data={
                "recording_id": str(recording.pk),
                "officer_id": officer_id,
                "source": LinkSource.MANUAL,
                "reason": reason,
            },
        )
        _evaluate_all(_lock_activities([activity.pk]))
    return link


def recording_link_remove(
    *, user: User, activity: Activity, recording: Recording, reason: str
) -> RecordingLink:
    """A person unlinks a recording (kept as an exclusion, so auto-linking won't re-add it)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("取消关联必须说明原因"), code="reason_required")
    with transaction.atomic():
        _activities_locked().filter(pk=activity.pk).first()
        link = (
            RecordingLink.objects.select_for_update()
            .filter(activity=activity, recording=recording, excluded=False)
            .first()
        )
        if link is None:
            raise NotFound(_("该记录未关联到此执法活动"), code="link_not_found")
        link.excluded = True
        link.reason = reason
        link.changed_by = user
        link.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.link_removed",
            object_type="activity",
            object_id=activity.pk,
            data={"recording_id": str(recording.pk), "reason": reason},
        )
        _evaluate_all(_lock_activities([activity.pk]))
    return link


# ---------------------------------------------------------------- explanations


def explanation_submit(
    *,
    user: User,
    activity: Activity,
    reason: str,
    text: str = "",
    gap_from: datetime.datetime | None = None,
    gap_to: datetime.datetime | None = None,
) -> GapExplanation:
    """The officer (a participant) explains a gap or a missing recording."""
    officer = getattr(user, "officer", None)
    if (
        officer is None
        or not ActivityOfficer.objects.filter(activity=activity, officer=officer).exists()
    ):
        raise PermissionDenied(
            _("只有参与该执法活动的执法人员可以提交说明"), code="not_a_participant"
        )
    if reason not in ExplanationReason.values:
        raise InvalidInput(
            _("未知的说明原因"),
            code="unknown_explanation_reason",
            details={"allowed": ExplanationReason.values},
        )
    if reason == ExplanationReason.OTHER and not text.strip():
        raise InvalidInput(_("选择“其他”时必须填写说明"), code="explanation_text_required")
    if gap_from is not None and gap_to is not None and gap_to < gap_from:
        raise InvalidInput(_("中断结束时间早于开始时间"), code="gap_ends_before_start")
    with transaction.atomic():
        explanation = GapExplanation.objects.create(
            activity=activity,
            officer=officer,
            reason=reason,
            text=text.strip(),
            gap_from=gap_from,
            gap_to=gap_to,
            submitted_by=user,
        )
        audit_record(
            actor=Actor.user(user),
            action="coverage.explanation_submitted",
            object_type="activity",
            object_id=activity.pk,
            data={
                "explanation_id": explanation.pk,
                "reason": reason,
                "gap_from": gap_from.isoformat() if gap_from else None,
                "gap_to": gap_to.isoformat() if gap_to else None,
            },
        )
    return explanation


def explanation_decide(
    *, user: User, explanation: GapExplanation, accept: bool, note: str = ""
) -> GapExplanation:
    """A supervisor accepts or rejects an explanation (not their own); once only."""
    with transaction.atomic():
        # The activity first (as every verdict writer does): the monthly figures count
        # its accepted explanations, and two decisions on one activity must not both
        # count the first acceptance.
        _activities_locked().filter(pk=explanation.activity_id).first()
        locked = GapExplanation.objects.select_for_update().get(pk=explanation.pk)
        if locked.state != ExplanationState.PENDING:
            raise Conflict(
                _("该说明已审核"),
                code="explanation_already_decided",
                details={"state": locked.state},
            )
        if locked.submitted_by_id == user.pk:
            raise PermissionDenied(_("不能审核自己提交的说明"), code="own_explanation")
        locked.state = ExplanationState.ACCEPTED if accept else ExplanationState.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        # An acceptance may move the activity (and the officer) into "explained".
        with monthly_counts_follow(
            [locked.activity_id] if accept else [], explanations_change=True
        ):
            locked.save()
        audit_record(
            actor=Actor.user(user),
            action="coverage.explanation_decided",
            object_type="activity",
            object_id=locked.activity_id,
            data={"explanation_id": locked.pk, "state": locked.state, "note": locked.decision_note},
        )
    return locked
