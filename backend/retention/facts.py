"""What a recording's retention depends on, gathered in one place.

`retention_facts_bulk` is the single entry point for categories, the linked-as-evidence
flag, incident flags and activity/case references. Today it reads the manual marks kept in
this app; the activities app (enforcement category, verdict, evidence links) plugs in as a
receiver of `FACT_PROVIDERS` (wired in backend/wiring/registry.py), without this module
importing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from backend.hooks import HookPoint
from backend.retention.models import EvidenceMark, FactCategory, MarkKind


@dataclass
class RetentionFacts:
    categories: set[str] = field(default_factory=lambda: {FactCategory.DEFAULT.value})
    evidence: bool = False
    activity_refs: set[str] = field(default_factory=set)
    case_refs: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)

    @property
    def categories_key(self) -> str:
        return categories_key(self.categories)


def categories_key(categories: Iterable[str]) -> str:
    """Canonical text of a category set: ",a,b," sorted; the empty set is ",default,"."""
    items = sorted({c for c in categories if c} | {FactCategory.DEFAULT.value})
    return "," + ",".join(items) + ","


def categories_from_key(key: str) -> list[str]:
    return [c for c in key.split(",") if c]


# A provider adds facts for a batch of recordings (mutating the dict's values).
FactProvider = Callable[[dict[uuid.UUID, RetentionFacts]], None]
# A resolver lists the recordings linked to an activity or case reference.
ReferenceResolver = Callable[[str, str], Iterable[uuid.UUID]]

FACT_PROVIDERS: HookPoint[[dict[uuid.UUID, RetentionFacts]], None] = HookPoint(
    "retention.fact_providers", "add facts for a batch of recordings (mutating the dict)"
)
REFERENCE_RESOLVERS: HookPoint[[str, str], Iterable[uuid.UUID]] = HookPoint(
    "retention.reference_resolvers", "recordings linked to an activity or case reference"
)


def _marks_provider(facts: dict[uuid.UUID, RetentionFacts]) -> None:
    marks = EvidenceMark.objects.filter(
        recording_id__in=list(facts), withdrawn_at__isnull=True
    ).values_list("recording_id", "kind", "activity_ref", "case_ref")
    for recording_id, kind, activity_ref, case_ref in marks:
        item = facts[recording_id]
        if kind != MarkKind.LINK:
            item.categories.add(kind)
        if kind == MarkKind.EVIDENCE:
            item.evidence = True
        if activity_ref:
            item.activity_refs.add(activity_ref)
            item.links.append(f"活动 {activity_ref}")
        if case_ref:
            item.case_refs.add(case_ref)
            item.links.append(f"案件 {case_ref}")


def retention_facts_bulk(recording_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, RetentionFacts]:
    facts = {rid: RetentionFacts() for rid in recording_ids}
    if not facts:
        return facts
    _marks_provider(facts)
    FACT_PROVIDERS.fire(facts)
    return facts


def retention_facts_for(recording_id: uuid.UUID) -> RetentionFacts:
    return retention_facts_bulk([recording_id])[recording_id]


def recordings_for_reference(kind: str, reference: str) -> set[uuid.UUID]:
    """Recordings linked to an activity (kind "activity") or a case (kind "case")."""
    field_name = "activity_ref" if kind == "activity" else "case_ref"
    found = set(
        EvidenceMark.objects.filter(
            **{field_name: reference}, withdrawn_at__isnull=True
        ).values_list("recording_id", flat=True)
    )
    for recordings in REFERENCE_RESOLVERS.fire(kind, reference):
        found.update(recordings)
    return found
