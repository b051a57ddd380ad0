"""Writing to and verifying the audit chain."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.audit.models import ActorKind, AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    kind: str
    identifier: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM, "")

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(ActorKind.USER, str(user.pk))

    @classmethod
    def device(cls, device: Any) -> Actor:
        return cls(ActorKind.DEVICE, str(device.pk))


def _entry_hash(
    *,
    sequence: int,
    occurred_at: str,
    actor_kind: str,
    actor_id: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any],
    previous_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "sequence": sequence,
            "occurred_at": occurred_at,
            "actor_kind": actor_kind,
            "actor_id": actor_id,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "data": data,
            "previous_hash": previous_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    # Store exactly what was hashed: a JSON round trip turns dates, UUIDs and Decimals into
    # the same strings the verifier will see when it reads the row back.
    normalised: dict[str, Any] = json.loads(json.dumps(data, default=str, ensure_ascii=False))
    return normalised


@dataclass(frozen=True)
class AuditEntry:
    """One event to append with :func:`audit_record_many`."""

    actor: Actor
    action: str
    object_type: str = ""
    object_id: object = ""
    data: dict[str, Any] | None = None


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: object = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Runs inside the caller's transaction when there is one,
    so an event exists exactly when the change it describes was committed."""
    return audit_record_many(
        [
            AuditEntry(
                actor=actor, action=action, object_type=object_type, object_id=object_id, data=data
            )
        ]
    )[0]


def audit_record_many(entries: Iterable[AuditEntry]) -> list[AuditEvent]:
    """Append events to the chain in the given order, as consecutive entries: the chain
    head is locked and updated once and the events are inserted in one statement (a
    re-check that links 10,000 recordings writes 10,000 events). Same guarantees as
    :func:`audit_record`: inside the caller's transaction, each entry hashed over the
    previous one."""
    pending = list(entries)
    if not pending:
        return []
    # No savepoint inside the caller's transaction (two round trips saved per call): an
    # audit append that fails must roll the whole change back anyway.
    with transaction.atomic(savepoint=False):
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(singleton=1)
        occurred = timezone.now()  # UTC; its ISO text is hashed and read back identically
        occurred_text = occurred.isoformat()
        sequence, previous = head.sequence, head.entry_hash
        events = []
        for entry in pending:
            sequence += 1
            payload = _normalise(entry.data or {})
            object_id = str(entry.object_id)
            entry_hash = _entry_hash(
                sequence=sequence,
                occurred_at=occurred_text,
                actor_kind=entry.actor.kind,
                actor_id=entry.actor.identifier,
                action=entry.action,
                object_type=entry.object_type,
                object_id=object_id,
                data=payload,
                previous_hash=previous,
            )
            events.append(
                AuditEvent(
                    sequence=sequence,
                    occurred_at=occurred,
                    actor_kind=entry.actor.kind,
                    actor_id=entry.actor.identifier,
                    action=entry.action,
                    object_type=entry.object_type,
                    object_id=object_id,
                    data=payload,
                    previous_hash=previous,
                    entry_hash=entry_hash,
                )
            )
            previous = entry_hash
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        AuditChainHead.objects.filter(singleton=1).update(sequence=sequence, entry_hash=previous)
    return events


@dataclass
class ChainReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH

    @property
    def intact(self) -> bool:
        return not self.problems


def audit_verify_events(
    events: Iterable[AuditEvent], *, head: AuditChainHead | None
) -> ChainReport:
    report = ChainReport()
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    for event in events:
        report.checked += 1
        if event.sequence != expected_sequence:
            report.problems.append(
                f"entry #{expected_sequence}..#{event.sequence - 1} missing (deleted?)"
            )
        if event.previous_hash != expected_previous:
            report.problems.append(f"entry #{event.sequence}: previous hash does not match")
        recomputed = _entry_hash(
            sequence=event.sequence,
            occurred_at=event.occurred_at.astimezone(datetime.UTC).isoformat(),
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            data=event.data,
            previous_hash=event.previous_hash,
        )
        if recomputed != event.entry_hash:
            report.problems.append(f"entry #{event.sequence}: content was altered")
        expected_previous = event.entry_hash
        expected_sequence = event.sequence + 1
        report.head_sequence = event.sequence
        report.head_hash = event.entry_hash
    if head is not None and (
        head.sequence != report.head_sequence or head.entry_hash != report.head_hash
    ):
        report.problems.append(
            f"chain head says #{head.sequence} but the last entry is #{report.head_sequence} "
            "(entries at the end deleted?)"
        )
    return report


def audit_verify() -> ChainReport:
    head = AuditChainHead.objects.filter(singleton=1).first()
    return audit_verify_events(
        AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000), head=head
    )
