"""The yearly tallies (PublicationTally): incremented by the item services in their own
transaction, rebuilt from the items by :func:`tallies_rebuild` (which reports whether the
kept counts equalled the recount)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.publication.models import ItemState, PublicationTally, PublicItem, TallyMeasure

Key = tuple[int, int, str, str]  # year, unit id, category, measure


def tally_add(*, year: int, unit_id: int, category: str, measure: str, by: int = 1) -> None:
    """Add to one tally (inside the caller's transaction; no read-modify-write)."""
    updated = PublicationTally.objects.filter(
        year=year, unit_id=unit_id, category=category, measure=measure
    ).update(count=F("count") + by)
    if not updated:
        _, created = PublicationTally.objects.get_or_create(
            year=year, unit_id=unit_id, category=category, measure=measure, defaults={"count": by}
        )
        if not created:  # a concurrent first increment won the insert
            PublicationTally.objects.filter(
                year=year, unit_id=unit_id, category=category, measure=measure
            ).update(count=F("count") + by)


def recount() -> Counter[Key]:
    """What the tallies should say, counted from the items (the proof, not the page)."""
    counts: Counter[Key] = Counter()
    rows = PublicItem.objects.values_list(
        "unit_id", "category", "state", "decided_on", "published_at", "publish_by", "ended_at"
    )
    for unit_id, category, state, decided_on, published_at, publish_by, ended_at in rows.iterator():
        counts[(decided_on.year, unit_id, category, TallyMeasure.OFFERED)] += 1
        if state == ItemState.EXCLUDED:
            counts[(decided_on.year, unit_id, category, TallyMeasure.EXCLUDED)] += 1
        if published_at is not None:
            year = timezone.localtime(published_at).year
            counts[(year, unit_id, category, TallyMeasure.PUBLISHED)] += 1
            if timezone.localtime(published_at).date() <= publish_by:
                counts[(year, unit_id, category, TallyMeasure.ON_TIME)] += 1
        if state in (ItemState.WITHDRAWN, ItemState.EXPIRED) and ended_at is not None:
            measure = (
                TallyMeasure.WITHDRAWN if state == ItemState.WITHDRAWN else TallyMeasure.EXPIRED
            )
            counts[(timezone.localtime(ended_at).year, unit_id, category, measure)] += 1
    return counts


def kept() -> Counter[Key]:
    counts: Counter[Key] = Counter()
    for row in PublicationTally.objects.values_list(
        "year", "unit_id", "category", "measure", "count"
    ):
        if row[4]:
            counts[(row[0], row[1], row[2], row[3])] = row[4]
    return counts


def tallies_rebuild() -> tuple[bool, int]:
    """Replace the tallies with a recount; (whether they were equal before, rows written)."""
    with transaction.atomic():
        PublicationTally.objects.select_for_update().all()
        counts = recount()
        equal = counts == kept()
        PublicationTally.objects.all().delete()
        PublicationTally.objects.bulk_create(_rows(counts.items()))
    return equal, len(counts)


def _rows(items: Iterable[tuple[Key, int]]) -> list[PublicationTally]:
    return [
        PublicationTally(year=y, unit_id=u, category=c, measure=m, count=n)
        for (y, u, c, m), n in items
    ]
