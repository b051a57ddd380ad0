"""Reads of the case library, scoped: before acceptance a case is seen only by its author
unit and the reviewers of the levels it has reached (EXISTS); the library (accepted cases)
by every signed-in staff member, searched by category, 主题词 and full text."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.caselibrary.models import (
    LibraryCase,
    LibraryCategory,
    LibraryState,
    ReviewEntry,
    SubjectTerm,
)
from backend.caselibrary.search import query_tokens, tsquery
from backend.caselibrary.services.common import AUTHOR_ROLES, REVIEWER_ROLES, confidential_q

PAGE_SIZE = 30


def may_author(user: User) -> bool:
    return bool(user.is_authenticated and user.role in AUTHOR_ROLES and user.unit_id)


def may_review(user: User) -> bool:
    return bool(user.is_authenticated and user.role in REVIEWER_ROLES and user.unit_id)


def library_case_get(user: User, case_id: uuid.UUID) -> LibraryCase | None:
    return (
        LibraryCase.objects.filter(confidential_q(user), pk=case_id)
        .select_related("category", "author_unit", "author")
        .prefetch_related("terms", "redactions", "evidence", "levels__unit")
        .first()
    )


def history_of(case: LibraryCase) -> list[ReviewEntry]:
    return list(case.history.select_related("unit").order_by("at", "pk"))


def categories() -> list[LibraryCategory]:
    return list(LibraryCategory.objects.filter(active=True).order_by("position", "pk"))


def vocabulary() -> list[SubjectTerm]:
    return list(SubjectTerm.objects.filter(active=True).order_by("term"))


def drafts_of_unit(user: User, *, limit: int = PAGE_SIZE) -> list[LibraryCase]:
    """The author unit's cases not yet in the library, the latest change first."""
    if not may_author(user):
        return []
    return list(
        LibraryCase.objects.filter(author_unit_id=user.unit_id)
        .exclude(state=LibraryState.ACCEPTED)
        .select_related("category")
        .order_by("-updated_at", "-id")[:limit]
    )


def review_queue(user: User, *, limit: int = PAGE_SIZE) -> list[LibraryCase]:
    """Cases waiting at the caller's level: in review, at the level whose unit is theirs."""
    if not may_review(user) or user.unit_id is None:
        return []
    return list(
        LibraryCase.objects.filter(
            state=LibraryState.IN_REVIEW,
            levels__unit_id=user.unit_id,
            levels__level=F("level"),
        )
        .select_related("category", "author_unit")
        .order_by("submitted_at", "id")[:limit]
    )


@dataclass(frozen=True)
class LibraryCursor:
    accepted_at: datetime.datetime
    case_id: uuid.UUID

    def token(self) -> str:
        return f"{self.accepted_at.isoformat()}_{self.case_id}"

    @classmethod
    def parse(cls, token: str) -> LibraryCursor | None:
        try:
            stamp, key = token.rsplit("_", 1)
            return cls(datetime.datetime.fromisoformat(stamp), uuid.UUID(key))
        except ValueError:
            return None


def _full_text(qs: QuerySet[LibraryCase], query: str) -> QuerySet[LibraryCase]:
    tokens = query_tokens(query)
    if not tokens:
        return qs
    if connection.vendor == "postgresql":
        return qs.filter(
            Q(
                RawSQL(
                    'to_tsvector(\'simple\', "caselibrary_librarycase"."search_terms") '
                    "@@ to_tsquery('simple', %s)",
                    (tsquery(tokens),),
                    output_field=BooleanField(),
                )
            )
        )
    for token in tokens:
        qs = qs.filter(search_terms__contains=token)
    return qs


def library_search(
    user: User,
    *,
    category_code: str = "",
    term_id: int | None = None,
    query: str = "",
    after: LibraryCursor | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[LibraryCase], LibraryCursor | None]:
    """One page of accepted cases, the latest accepted first (keyset on accepted_at, id);
    a category includes its sub-categories."""
    if not user.is_authenticated:
        return [], None
    qs = LibraryCase.objects.filter(state=LibraryState.ACCEPTED)
    if category_code:
        category = LibraryCategory.objects.filter(code=category_code).first()
        if category is None:
            return [], None
        qs = qs.filter(Q(category=category) | Q(category__parent=category))
    if term_id is not None:
        qs = qs.filter(terms__pk=term_id)
    qs = _full_text(qs, query)
    if after is not None:
        qs = qs.filter(
            Q(accepted_at__lt=after.accepted_at)
            | Q(accepted_at=after.accepted_at, id__lt=after.case_id)
        )
    rows = list(
        qs.select_related("category", "author_unit")
        .prefetch_related("terms")
        .order_by("-accepted_at", "-id")[: limit + 1]
    )
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        assert last.accepted_at is not None
        cursor = LibraryCursor(last.accepted_at, last.pk)
    return rows, cursor


QUOTA_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN}


@dataclass(frozen=True)
class QuotaRow:
    category: LibraryCategory
    accepted: int
    in_review: int

    @property
    def gap(self) -> int:
        return max(0, self.category.quota - self.accepted)


def quota_report(user: User, *, since: datetime.date, until: datetime.date) -> list[QuotaRow]:
    """Per category (the tree in its order): cases of the caller's units accepted in the
    period (local days, inclusive) and those still in review, against the category's quota;
    one grouped count, no rows read. Counts only: no confidential text."""
    if user.role not in QUOTA_ROLES:
        return []
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min)
    )
    scoped = LibraryCase.objects.filter(unit_scope_q(user, unit_field="author_unit"))
    counts: dict[int, tuple[int, int]] = {
        row["category_id"]: (row["accepted"], row["in_review"])
        for row in scoped.values("category_id").annotate(
            accepted=Count(
                "pk",
                filter=Q(state=LibraryState.ACCEPTED, accepted_at__gte=start, accepted_at__lt=end),
            ),
            in_review=Count("pk", filter=Q(state=LibraryState.IN_REVIEW)),
        )
    }
    return [
        QuotaRow(
            category,
            *counts.get(category.pk, (0, 0)),
        )
        for category in categories()
    ]


def packable_cases(user: User, *, limit: int = 200) -> list[LibraryCase]:
    """Accepted cases of the caller's units, the latest first: what a package may hold."""
    return list(
        LibraryCase.objects.filter(
            unit_scope_q(user, unit_field="author_unit"), state=LibraryState.ACCEPTED
        )
        .select_related("category")
        .order_by("-accepted_at", "-id")[:limit]
    )
