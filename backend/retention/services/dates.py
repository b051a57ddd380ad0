"""Each recording's retention row: its dates from the policies and facts, refreshed and
backfilled."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store, original_version
from backend.retention.facts import (
    retention_facts_bulk,
)
from backend.retention.models import (
    RecordingRetention,
    RetentionPolicy,
)
from backend.retention.services.base import whole_seconds
from backend.retention.services.holds import recordings_held
from backend.retention.services.locks import retention_sync_locks
from backend.retention.services.policies import policy_rules, winning_rule
from media.object_store import ObjectStoreError

logger = logging.getLogger(__name__)


# -- per-recording retention ------------------------------------------------------------
def _initial_lock(recording: Recording) -> datetime.datetime | None:
    """The lock this recording's own storage put on the object (None when deduplicated:
    the object was already there, locked for another recording)."""
    from backend.audit.models import AuditEvent

    stored = (
        AuditEvent.objects.filter(
            action="recording.stored", object_type="recording", object_id=str(recording.pk)
        )
        .order_by("sequence")
        .first()
    )
    if stored is None or stored.data.get("deduplicated"):
        return None
    try:
        head = object_store().head(
            settings.FV_ORIGINALS_BUCKET,
            recording.storage_key,
            version_id=original_version(recording),
        )
    except ObjectStoreError:
        head = None
    if head and head.get("ObjectLockRetainUntilDate"):
        return whole_seconds(head["ObjectLockRetainUntilDate"])
    retain = stored.data.get("retain_until")
    return whole_seconds(datetime.datetime.fromisoformat(retain)) if retain else None


def retention_refresh(*, recording_ids: Iterable[uuid.UUID]) -> list[RecordingRetention]:
    """(Re)compute the retention of some recordings from their facts and the policies.

    Creates missing rows (reading the initial object lock as a floor). Never moves a date
    below the floor; a destroyed recording is left alone."""
    ids = list(recording_ids)
    recordings = list(
        Recording.objects.filter(pk__in=ids, state=RecordingState.STORED).only(
            "id", "ended_at", "storage_key"
        )
    )
    known = set(
        RecordingRetention.objects.filter(recording_id__in=ids).values_list(
            "recording_id", flat=True
        )
    )
    # Network reads first, outside the lock below.
    floors = {r.pk: _initial_lock(r) for r in recordings if r.pk not in known}
    result = []
    with transaction.atomic():
        # Serialised with policy changes: a row is never computed from rules that a
        # concurrent retention_policy_set is replacing.
        list(RetentionPolicy.objects.select_for_update().values_list("pk", flat=True))
        rules = policy_rules()
        facts = retention_facts_bulk([r.pk for r in recordings])
        existing = {
            r.pk: r
            for r in RecordingRetention.objects.select_for_update().filter(recording_id__in=ids)
        }
        held_ids = recordings_held(ids)
        for recording in recordings:
            fact = facts[recording.pk]
            row = existing.get(recording.pk)
            if row is not None and row.destroyed_at is not None:
                continue
            if row is None:
                row = RecordingRetention(
                    recording=recording,
                    anchor_at=whole_seconds(recording.ended_at),
                    lock_floor_until=floors.get(recording.pk),
                )
                row.lock_until_applied = row.lock_floor_until
            rule = winning_rule(fact.categories, rules)
            row.categories = fact.categories_key
            row.activity_refs = sorted(fact.activity_refs)
            row.case_refs = sorted(fact.case_refs)
            row.policy_until = rule.until(row.anchor_at)
            row.permanent = rule.permanent
            row.policy_id = rule.policy_id
            row.reason = rule.describe()[:300]
            # Never below a lock the object already has (COMPLIANCE cannot be shortened):
            # the initial lock, or a later one applied when the facts said more.
            dates: list[datetime.datetime] = [row.policy_until]
            dates += [d for d in (row.lock_floor_until, row.lock_until_applied) if d]
            row.retention_until = max(dates)
            row.held = recording.pk in held_ids
            row.save()
            result.append(row)
    return result


def retention_after_stored(recording_id: uuid.UUID) -> None:
    """AFTER_STORED hook: give a newly stored recording its retention and lock."""
    try:
        retention_refresh(recording_ids=[recording_id])
        retention_sync_locks(recording_ids=[recording_id])
    except Exception:  # must never break storage; the periodic job catches up
        logger.exception("retention for stored recording %s failed", recording_id)


def retention_backfill(*, limit: int = 5000) -> int:
    """Create retention rows for stored recordings that have none (e.g. stored before this
    app was installed)."""
    missing = list(
        Recording.objects.filter(state=RecordingState.STORED, retention__isnull=True).values_list(
            "pk", flat=True
        )[:limit]
    )
    retention_refresh(recording_ids=missing)
    return len(missing)
