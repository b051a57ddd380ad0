"""Reads of the publication app: the public site (published items only, de-identified
columns only), the staff queue (scoped to the user's unit and the units below it) and the
yearly tallies."""

from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.config.errors import NotFound
from backend.publication.models import (
    ErrorReport,
    ItemState,
    PublicationTally,
    PublicItem,
    ReportState,
)

PUBLICATION_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
# 第八条: not publishing needs a leader's approval — the supervisor (or the administrator).
EXCLUSION_ROLES = (Role.SUPERVISOR, Role.SYSTEM_ADMIN)
PAGE_SIZE = 50
# The only columns the public site reads: nothing internal (party_name, fields,
# withheld_texts) is ever loaded by a public page.
PUBLIC_COLUMNS = (
    "id",
    "category",
    "unit__name",
    "public_title",
    "public_party",
    "public_fields",
    "published_at",
    "decided_on",
)


def may_manage_publication(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in PUBLICATION_ROLES)


def may_file_report(user: User) -> bool:
    """第四条: the legal officer files the unit's yearly report (or the administrator)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.role in (Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
        and user.unit_id is not None
    )


def may_exclude(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in EXCLUSION_ROLES)


@dataclass(frozen=True)
class PublicCursor:
    published_at: datetime.datetime
    item_id: uuid.UUID

    def token(self) -> str:
        return f"{self.published_at.isoformat()}_{self.item_id}"

    @classmethod
    def parse(cls, token: str) -> PublicCursor | None:
        at, _sep, item = token.rpartition("_")
        try:
            moment = datetime.datetime.fromisoformat(at)
            return cls(moment, uuid.UUID(item)) if moment.tzinfo else None
        except ValueError:
            return None


def public_items(
    *,
    year: int | None = None,
    category: str | None = None,
    search: str = "",
    after: PublicCursor | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[dict[str, object]], PublicCursor | None]:
    """One page of the public index, newest first (keyset on published_at, id)."""
    rows = PublicItem.objects.filter(state=ItemState.PUBLISHED)
    if year is not None:
        start = timezone.make_aware(datetime.datetime(year, 1, 1))
        rows = rows.filter(published_at__gte=start, published_at__lt=start.replace(year=year + 1))
    if category:
        rows = rows.filter(category=category)
    if search:
        rows = rows.filter(public_search__icontains=search)
    if after is not None:
        rows = rows.filter(
            Q(published_at__lt=after.published_at)
            | Q(published_at=after.published_at, id__lt=after.item_id)
        )
    page = list(rows.order_by("-published_at", "-id").values(*PUBLIC_COLUMNS)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    cursor = None
    if more and page:
        last = page[-1]
        cursor = PublicCursor(last["published_at"], last["id"])  # type: ignore[arg-type]
    return page, cursor


def public_item(item_id: uuid.UUID) -> dict[str, object]:
    """A published item, or what the site says in place of a withdrawn one (an item
    withdrawn before it was ever published does not exist for the public)."""
    shown = Q(state=ItemState.PUBLISHED) | Q(state=ItemState.WITHDRAWN, published_at__isnull=False)
    row = (
        PublicItem.objects.filter(shown, pk=item_id)
        .values(*PUBLIC_COLUMNS, "state", "end_reason", "ended_at")
        .first()
    )
    if row is None:
        raise NotFound("No such item.", code="not_found")
    if row["state"] == ItemState.WITHDRAWN:
        # The notice only: what was withdrawn is no longer shown.
        row.update(public_title="", public_party="", public_fields=[])
    return row


# Read at most once a second per process: another worker's change shows within a second,
# this process's own at once (public_generation_forget after its commits).
GENERATION_SECONDS = 1.0
_generation: tuple[float, str] | None = None


def public_generation() -> str:
    """The last change of any item (indexed): what the public pages' cache keys hold."""
    global _generation
    now = time.monotonic()
    if _generation is not None and now - _generation[0] < GENERATION_SECONDS:
        return _generation[1]
    last = PublicItem.objects.order_by("-updated_at").values_list("updated_at", flat=True)[:1]
    found = list(last)
    value = found[0].isoformat() if found else "empty"
    _generation = (now, value)
    return value


def public_generation_forget() -> None:
    global _generation
    _generation = None


ROSTER_COLUMNS = (
    "id",
    "name",
    "unit__name",
    "enforcement_type",
    "certificate_number",
    "certificate_valid_until",
)


def public_roster(
    *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, object]], int | None]:
    """Certified officers (a certificate valid today), keyset on id; public columns only."""
    from backend.accounts.models import Officer

    rows = (
        Officer.objects.filter(certificate_valid_until__gte=timezone.localdate())
        .exclude(certificate_number__isnull=True)
        .exclude(certificate_number="")
    )
    if after is not None:
        rows = rows.filter(id__gt=after)
    page = list(rows.order_by("id").values(*ROSTER_COLUMNS)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (int(str(page[-1]["id"])) if more and page else None)


def roster_generation() -> str:
    """The roster's last change and today (a certificate lapses at midnight)."""
    from django.db.models import Max

    from backend.accounts.models import Officer

    last = Officer.objects.aggregate(last=Max("updated_at"))["last"]
    return f"{timezone.localdate().isoformat()}|{last.isoformat() if last else 'empty'}"


def public_years() -> list[int]:
    """Years that have published items, from the tallies (no scan of the items)."""
    return sorted(
        set(
            PublicationTally.objects.filter(measure="published", count__gt=0).values_list(
                "year", flat=True
            )
        ),
        reverse=True,
    )


def queue_for(
    user: User, *, states: tuple[str, ...] = (ItemState.PENDING,)
) -> QuerySet[PublicItem]:
    """The staff queue: items of the user's unit and the units below, deadline first."""
    if not may_manage_publication(user):
        return PublicItem.objects.none()
    return (
        PublicItem.objects.filter(unit_scope_q(user, unit_field="unit"), state__in=states)
        .select_related("unit")
        .order_by("publish_by", "id")
    )


def published_for(user: User, *, limit: int = PAGE_SIZE) -> list[PublicItem]:
    if not may_manage_publication(user):
        return []
    return list(
        PublicItem.objects.filter(unit_scope_q(user, unit_field="unit"), state=ItemState.PUBLISHED)
        .select_related("unit")
        .order_by("-published_at", "-id")[:limit]
    )


def item_for_manager(user: User, item_id: uuid.UUID) -> PublicItem:
    """An item the user may act on; another unit's is 404 (revealing nothing)."""
    found = (
        PublicItem.objects.filter(unit_scope_q(user, unit_field="unit"), pk=item_id)
        .select_related("unit")
        .first()
    )
    if found is None:
        raise NotFound("No such item.", code="not_found")
    return found


def tallies_for_year(year: int, user: User | None = None) -> dict[tuple[str, str], int]:
    """(category, measure) → count for the year, within the user's units when given."""
    rows = PublicationTally.objects.filter(year=year)
    if user is not None:
        rows = rows.filter(unit_scope_q(user, unit_field="unit"))
    return {
        (row["category"], row["measure"]): int(row["total"] or 0)
        for row in rows.values("category", "measure").annotate(total=Sum("count"))
    }


def open_reports_for(user: User, *, limit: int = 100) -> list[ErrorReport]:
    """Open reports on the user's units' items, oldest first (a short queue: no count)."""
    return list(
        ErrorReport.objects.filter(unit_scope_q(user, unit_field="item__unit"))
        .filter(state=ReportState.OPEN)
        .select_related("item")
        .order_by("submitted_at", "pk")[:limit]
    )


MATTER_COLUMNS = ("id", "unit__name", "sequence", "name", "category", "body", "basis", "target")
ITEM_COLUMNS = (
    "id",
    "unit__name",
    "sequence",
    "name",
    "inspecting_body",
    "legal_basis",
    "target_type",
    "ratio_percent",
    "frequency",
)


def _keyset_page(
    rows: QuerySet[Any], columns: tuple[str, ...], after: int | None, limit: int
) -> tuple[list[dict[str, object]], int | None]:
    if after is not None:
        rows = rows.filter(id__gt=after)
    page = list(rows.order_by("id").values(*columns)[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (int(str(page[-1]["id"])) if more and page else None)


def public_matters(
    *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, object]], int | None]:
    """The enforcement-matters lists of every unit (事前公开), keyset on id."""
    from backend.enforcement.models import EnforcementMatter

    return _keyset_page(EnforcementMatter.objects.all(), MATTER_COLUMNS, after, limit)


def public_inspection_items(
    *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, object]], int | None]:
    """The random-inspection item lists of every unit (随机抽查事项清单), keyset on id."""
    from backend.inspections.models import InspectionItem

    return _keyset_page(InspectionItem.objects.all(), ITEM_COLUMNS, after, limit)


def public_record_list(day: datetime.date) -> tuple[Any, list[dict[str, object]]]:
    """The record list in force on `day` (音像记录事项清单) and its rows (a list has tens)."""
    from backend.enforcement.models import RecordList

    version = RecordList.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if version is None:
        return None, []
    rows: list[dict[str, object]] = [
        dict(row)
        for row in version.rules.order_by("sequence", "id").values(
            "sequence", "category", "stage", "item", "start_text", "stop_text", "full_process"
        )[:1000]
    ]
    return version, rows


def public_notices(
    *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, object]], int | None]:
    """Each unit's 救济途径 and 投诉举报渠道 (事前公开), keyset on id."""
    from backend.publication.models import PublicNotice

    return _keyset_page(
        PublicNotice.objects.all(),
        ("id", "unit__name", "remedies", "complaints", "updated_at"),
        after,
        limit,
    )
