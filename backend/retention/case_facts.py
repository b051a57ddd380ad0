"""Retention facts from case files (案卷): a recording in a case file carries the case's
number as a reference (so a hold on the case covers it), and once the case is decided it is
evidence (`evidence`, 作为证据使用): "a decided case's recordings are evidence".

A recording is in a case file when linked to the case by hand (CaseRecording) or through
one of the case's activities (CaseActivity → the coverage link, excluded links left out).
Reads the cases and coverage models, never writes them; connected in
backend/wiring/registry.py (FACT_PROVIDERS, REFERENCE_RESOLVERS, cases.decision_made).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable

from django.db.models import Q

from backend.cases.models import Case, CaseActivity, CaseRecording, Decision
from backend.coverage.models import RecordingLink
from backend.retention.facts import RetentionFacts
from backend.retention.models import FactCategory

logger = logging.getLogger(__name__)


def _case_memberships(recording_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(recording, case) pairs for the given recordings, by hand and through activities."""
    pairs = set(
        CaseRecording.objects.filter(recording_id__in=recording_ids).values_list(
            "recording_id", "case_id"
        )
    )
    via_activity = (
        RecordingLink.objects.filter(recording_id__in=recording_ids, excluded=False)
        .filter(activity__case_links__isnull=False)
        .values_list("recording_id", "activity__case_links__case_id")
    )
    pairs.update(via_activity)
    return pairs


def case_facts_provider(facts: dict[uuid.UUID, RetentionFacts]) -> None:
    pairs = _case_memberships(list(facts))
    if not pairs:
        return
    case_ids = {case_id for _, case_id in pairs}
    numbers = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "number"))
    decided = set(Decision.objects.filter(case_id__in=case_ids).values_list("case_id", flat=True))
    for recording_id, case_id in sorted(pairs, key=lambda pair: numbers.get(pair[1], "")):
        item = facts[recording_id]
        number = numbers.get(case_id, str(case_id))
        item.case_refs.update({number, str(case_id)})
        if case_id in decided:
            item.categories.add(FactCategory.EVIDENCE.value)
            item.evidence = True
            item.links.append(f"案件 {number}（已决定）")
        else:
            item.links.append(f"案件 {number}")


def case_reference_resolver(kind: str, reference: str) -> Iterable[uuid.UUID]:
    """Recordings in the case file whose number or id is `reference`."""
    if kind != "case":
        return []
    match = Q(case__number=reference)
    with contextlib.suppress(ValueError):
        match |= Q(case_id=uuid.UUID(reference))
    found = set(CaseRecording.objects.filter(match).values_list("recording_id", flat=True))
    activities = CaseActivity.objects.filter(match).values_list("activity_id", flat=True)
    found.update(
        RecordingLink.objects.filter(activity_id__in=activities, excluded=False).values_list(
            "recording_id", flat=True
        )
    )
    return found


def retention_on_decision_made(decision_id: int) -> None:
    """Receiver of ``cases.decision_made`` (after the decision committed): the case's
    recordings become evidence — recompute their retention and extend their locks. Failures
    are logged; the periodic pass recomputes every recording anyway."""
    try:
        case_id = Decision.objects.filter(pk=decision_id).values_list("case_id", flat=True).first()
        if case_id is None:
            return
        ids = list(case_reference_resolver("case", str(case_id)))
        if not ids:
            return
        from backend.retention.services import retention_refresh, retention_sync_locks

        retention_refresh(recording_ids=ids)
        retention_sync_locks(recording_ids=ids)
    except Exception:
        logger.exception("retention refresh after decision %s failed", decision_id)
