"""Reads of the cases app, scoped by the reader's unit (the unit and its sub-units; the
system administrator everything). `decisions_made` is the public read other apps (the
publication of decisions, 公示) build on."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.cases.models import (
    Case,
    CaseActivity,
    CaseRecording,
    CaseStage,
    Decision,
    LegalReview,
    ReviewCatalogueEntry,
    ReviewState,
)
from backend.cases.services.common import CASE_ROLES
from backend.coverage.models import RecordingLink
from backend.footage.models import Recording
from coverage_core.evaluation import Verdict
from coverage_core.wording import VERDICT_LABELS_ZH

PAGE_SIZE = 50


def may_see_cases(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in CASE_ROLES)


def cases_visible_to(user: User) -> QuerySet[Case]:
    if not may_see_cases(user):
        return Case.objects.none()
    return Case.objects.filter(unit_scope_q(user, unit_field="unit"))


def cases_page(
    user: User, *, before: tuple[datetime.datetime, uuid.UUID] | None = None, mine: bool = False
) -> list[Case]:
    """Newest first, one page by keyset (created_at, id); `mine`: the caller handles it."""
    qs = cases_visible_to(user).select_related("unit")
    if mine:
        qs = qs.filter(officers__user=user)
    if before is not None:
        qs = qs.filter(Q(created_at__lt=before[0]) | Q(created_at=before[0], id__lt=before[1]))
    open_review = LegalReview.objects.filter(case=OuterRef("pk")).exclude(state=ReviewState.CLOSED)
    return list(
        qs.annotate(in_review=Exists(open_review)).order_by("-created_at", "-id")[: PAGE_SIZE + 1]
    )


def case_detail(user: User, case_id: uuid.UUID) -> Case | None:
    return (
        cases_visible_to(user)
        .select_related("unit", "opened_by", "decision")
        .prefetch_related(
            "officers",
            "stage_entries",
            "documents",
            Prefetch(
                "activity_links",
                queryset=CaseActivity.objects.select_related(
                    "activity", "activity__coverage"
                ).order_by("activity__started_at"),
            ),
            Prefetch(
                "recording_links",
                queryset=CaseRecording.objects.select_related("recording").order_by("linked_at"),
            ),
            Prefetch("reviews", queryset=LegalReview.objects.order_by("-pk")),
        )
        .filter(pk=case_id)
        .first()
    )


@dataclass
class CoverageSummary:
    """One view a reviewer reads: each activity's verdict, whether every required moment
    was recorded, and which handling officers lacked a valid certificate."""

    rows: list[dict[str, object]] = field(default_factory=list)
    all_recorded: bool = True
    uncertified: list[str] = field(default_factory=list)


def case_coverage(case: Case) -> CoverageSummary:
    """From a case loaded by :func:`case_detail`, plus one query: the recordings of all its
    activities (a join on the case, not an IN list of every activity and recording)."""
    summary = CoverageSummary()
    by_activity: dict[uuid.UUID, list[Recording]] = {}
    links = (
        RecordingLink.objects.filter(activity__case_links__case=case, excluded=False)
        .select_related("recording")
        .only(
            "activity_id",
            "recording__id",
            "recording__file_name",
            "recording__sha256",
            "recording__started_at",
        )
        .order_by("recording__started_at", "recording_id")
    )
    for rl in links:
        by_activity.setdefault(rl.activity_id, []).append(rl.recording)
    for link in case.activity_links.all():
        activity = link.activity
        evaluation = getattr(activity, "coverage", None)
        verdict = evaluation.verdict if evaluation else ""
        label = VERDICT_LABELS_ZH[Verdict(verdict)] if verdict else "未检查"
        compliant = verdict == Verdict.COMPLIANT if verdict else False
        if evaluation is None or (evaluation.required and not compliant):
            summary.all_recorded = False
        summary.rows.append(
            {
                "activity": activity,
                "verdict": verdict,
                "label": label,
                "recordings": by_activity.get(activity.pk, []),
            }
        )
    day = case.filed_on
    summary.uncertified = [o.name for o in case.officers.all() if not o.certificate_valid_on(day)]
    return summary


def reviews_queue(user: User) -> QuerySet[LegalReview]:
    """Open reviews in the caller's scope, the nearest due date first: what a legal officer
    takes and a leader watches."""
    if user.role not in (Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN):
        return LegalReview.objects.none()
    return (
        LegalReview.objects.filter(unit_scope_q(user, unit_field="case__unit"))
        .exclude(state=ReviewState.CLOSED)
        .select_related("case", "reviewer")
        .order_by("due_on", "pk")
    )


def review_detail(user: User, review_id: int) -> LegalReview | None:
    if user.role not in CASE_ROLES:
        return None
    return (
        LegalReview.objects.filter(unit_scope_q(user, unit_field="case__unit"), pk=review_id)
        .select_related("case", "reviewer", "extended_by", "head_decided_by")
        .prefetch_related("pauses")
        .first()
    )


def reviews_overdue(user: User, *, today: datetime.date | None = None) -> QuerySet[LegalReview]:
    day = today or timezone.localdate()
    return reviews_queue(user).filter(state=ReviewState.SUBMITTED, due_on__lt=day)


def cases_archive_overdue(user: User, *, today: datetime.date | None = None) -> QuerySet[Case]:
    """Closed more than 30 days ago and not archived: an alert (执法案卷管理制度)."""
    day = today or timezone.localdate()
    return cases_visible_to(user).filter(
        stage=CaseStage.CLOSED, archived_at__isnull=True, archive_by__lt=day
    )


def decisions_made(
    *, since: datetime.date | None = None, unit_path: str | None = None
) -> QuerySet[Decision]:
    """Every decision recorded, oldest first, with its case (number, party, minor flag):
    the public read the publication of decisions (公示) builds on. Not scoped by a user:
    callers that show it to a user scope it with `unit_path`."""
    qs = Decision.objects.select_related("case", "case__unit").order_by("decided_on", "pk")
    if since is not None:
        qs = qs.filter(decided_on__gte=since)
    if unit_path is not None:
        qs = qs.filter(case__unit__path__startswith=unit_path)
    return qs


def decision_get(decision_id: int) -> Decision | None:
    """One decision with its case (what a `cases.decision_made` receiver loads)."""
    return Decision.objects.select_related("case", "case__unit").filter(pk=decision_id).first()


def archive_register(
    user: User, *, before: tuple[datetime.datetime, uuid.UUID] | None = None, limit: int = PAGE_SIZE
) -> list[Case]:
    """The case register (案卷登记簿, 入档登记): archived files, newest first, by keyset."""
    qs = cases_visible_to(user).filter(archived_at__isnull=False)
    if before is not None:
        qs = qs.filter(Q(archived_at__lt=before[0]) | Q(archived_at=before[0], id__lt=before[1]))
    return list(qs.prefetch_related("officers").order_by("-archived_at", "-id")[: limit + 1])


def catalogue_for(user: User) -> QuerySet[ReviewCatalogueEntry]:
    """The review catalogue that applies to the user: the entries of the user's unit and of
    the units above it (a bureau's catalogue covers its offices), in catalogue order."""
    if user.unit is None:
        return ReviewCatalogueEntry.objects.none()
    path = user.unit.path
    ancestors = [path[: i + 1] for i, char in enumerate(path) if char == "/" and i > 0]
    return (
        ReviewCatalogueEntry.objects.filter(unit__path__in=ancestors)
        .select_related("unit")
        .order_by("unit__path", "sequence", "pk")
    )
