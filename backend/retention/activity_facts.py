"""Retention facts from activities: a recording linked (by the coverage check, or by hand)
to an activity takes the activity's enforcement category (`enforcement:<执法类别>`) and the
activity's coverage verdict (`verdict:<结论>`, e.g. `verdict:late_start`) as categories; a
hold on an activity covers the recordings linked to it.

Reads the enforcement and coverage models, never writes them. Connected to
facts.FACT_PROVIDERS / REFERENCE_RESOLVERS in backend/wiring/registry.py, so facts.py stays
free of those imports.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q

from backend.coverage.models import CoverageEvaluation, RecordingLink
from backend.retention.facts import RetentionFacts

logger = logging.getLogger(__name__)


def activity_facts_provider(facts: dict[uuid.UUID, RetentionFacts]) -> None:
    links = (
        RecordingLink.objects.filter(recording_id__in=list(facts), excluded=False)
        .values_list(
            "recording_id",
            "activity_id",
            "activity__external_ref",
            "activity__category",
            "activity__stage",
            "activity__coverage__verdict",
        )
        .order_by("activity__started_at", "activity_id")
    )
    for recording_id, activity_id, external_ref, category, stage, verdict in links:
        item = facts[recording_id]
        if category:
            item.categories.add(f"enforcement:{category}")
        if verdict:
            item.categories.add(f"verdict:{verdict}")
        item.activity_refs.add(str(activity_id))
        if external_ref:
            item.activity_refs.add(external_ref)
        item.links.append(f"活动 {external_ref or activity_id}（{category}/{stage}）")


def activity_reference_resolver(kind: str, reference: str) -> Iterable[uuid.UUID]:
    """Recordings linked to the activity whose id or external reference is `reference`."""
    if kind != "activity":
        return []
    match = Q(activity__external_ref=reference)
    with contextlib.suppress(ValueError):
        match |= Q(activity_id=uuid.UUID(reference))
    return RecordingLink.objects.filter(match, excluded=False).values_list(
        "recording_id", flat=True
    )


def recordings_with_changed_activity_facts(*, limit: int = 5000) -> list[uuid.UUID]:
    """Live recordings whose links or whose activities' coverage verdicts changed after
    their retention was last computed (computed_at moves only when facts are re-read)."""
    link_changed = RecordingLink.objects.filter(
        recording__retention__destroyed_at__isnull=True,
        updated_at__gt=F("recording__retention__computed_at"),
    ).values_list("recording_id", flat=True)
    ids = list(dict.fromkeys(link_changed[:limit]))
    if len(ids) < limit:
        verdict_changed = (
            CoverageEvaluation.objects.filter(
                activity__recording_links__recording__retention__destroyed_at__isnull=True,
                evaluated_at__gt=F("activity__recording_links__recording__retention__computed_at"),
            )
            .values_list("activity__recording_links__recording_id", flat=True)
            .distinct()
        )
        for rid in verdict_changed[: limit - len(ids)]:
            if rid not in ids:
                ids.append(rid)
    return ids


def retention_on_activity_changed(activity_id: uuid.UUID) -> None:
    """ACTIVITY_CHANGED_HOOKS entry, after coverage re-linked and re-checked the activity:
    once that commits, recompute the linked recordings and extend their locks."""
    ids = list(
        RecordingLink.objects.filter(activity_id=activity_id).values_list("recording_id", flat=True)
    )
    if not ids:
        return

    def refresh() -> None:
        from backend.retention.services import retention_refresh, retention_sync_locks

        try:
            retention_refresh(recording_ids=ids)
            retention_sync_locks(recording_ids=ids)
        except Exception:  # never break the activity's own write; the periodic pass catches up
            logger.exception("retention refresh after activity %s failed", activity_id)

    transaction.on_commit(refresh)
