"""Destruction (销毁): a storage admin prepares a batch of recordings past retention, the
leader in charge approves it (never the preparer; a second approver above the brake),
approved items wait in a recoverable queue, then their objects (every version) and
derivatives are deleted and each gets a permanent entry in the destruction register."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.footage.models import Recording, RecordingDerivative, RecordingState
from backend.footage.services import recording_transition
from backend.footage.storage import destruction_store
from backend.retention import conf
from backend.retention.facts import retention_facts_bulk
from backend.retention.models import (
    BatchState,
    DestructionApproval,
    DestructionBatch,
    DestructionItem,
    DestructionRegisterEntry,
    ItemState,
    RecordingRetention,
)
from backend.retention.services import (
    recordings_held,
    user_is_retention_approver,
    user_is_storage_admin,
)
from sync.events import publish_recording_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    recording_id: str
    code: str
    message: str


def _holdings() -> tuple[int, int]:
    live = RecordingRetention.objects.filter(destroyed_at__isnull=True)
    total = live.aggregate(bytes=Sum("recording__size_bytes"))["bytes"] or 0
    return live.count(), int(total)


def destruction_refusals(
    recording_ids: Iterable[uuid.UUID], *, now: datetime.datetime
) -> list[Refusal]:
    """Why each of these recordings may not be destroyed now (empty when all may)."""
    ids = list(dict.fromkeys(recording_ids))
    rows = {r.recording_id: r for r in RecordingRetention.objects.filter(recording_id__in=ids)}
    facts = retention_facts_bulk(ids)
    held = recordings_held(ids)
    queued = set(
        DestructionItem.objects.filter(recording_id__in=ids, state=ItemState.QUEUED).values_list(
            "recording_id", flat=True
        )
    )
    refusals = []
    for rid in ids:
        row = rows.get(rid)
        if row is None:
            refusals.append(
                Refusal(str(rid), "recording_not_stored", _("该记录未入库或无保存期限"))
            )
        elif row.destroyed_at is not None:
            refusals.append(Refusal(str(rid), "recording_destroyed", _("该记录已销毁")))
        elif rid in held:
            refusals.append(Refusal(str(rid), "recording_held", _("该记录处于保全状态，不得销毁")))
        elif facts[rid].evidence:
            refusals.append(
                Refusal(str(rid), "recording_is_evidence", _("该记录已作为证据使用，不得销毁"))
            )
        elif row.retention_until > now:
            refusals.append(
                Refusal(
                    str(rid),
                    "retention_not_expired",
                    _("保存期限至 %(until)s，尚未届满")
                    % {"until": timezone.localtime(row.retention_until).date().isoformat()},
                )
            )
        elif rid in queued:
            refusals.append(Refusal(str(rid), "already_queued", _("该记录已在其他销毁批次中")))
    return refusals


def destruction_candidates(*, limit: int = 500) -> list[uuid.UUID]:
    """Recordings past retention, not held, not evidence, not already in a batch."""
    now = timezone.now()
    ids = list(
        RecordingRetention.objects.filter(
            destroyed_at__isnull=True, retention_until__lte=now, held=False
        )
        .exclude(categories__contains=",evidence,")
        .order_by("retention_until")
        .values_list("recording_id", flat=True)[: limit * 2]
    )
    refused = {r.recording_id for r in destruction_refusals(ids, now=now)}
    return [i for i in ids if str(i) not in refused][:limit]


def destruction_batch_prepare(
    *,
    actor: User,
    recording_ids: list[uuid.UUID] | None = None,
    limit: int = 500,
    note: str = "",
) -> DestructionBatch:
    """Prepare a batch. With explicit ids every one must be destroyable, else the whole
    request is refused (409 destruction_refused, one reason per recording); without ids the
    due recordings are picked (oldest retention date first)."""
    if not user_is_storage_admin(actor):
        raise PermissionDenied(_("只有存储管理员可以提请销毁"), code="not_storage_admin")
    now = timezone.now()
    with transaction.atomic():
        if recording_ids:
            refusals = destruction_refusals(recording_ids, now=now)
            if refusals:
                raise Conflict(
                    _("%(count)s 条记录不能销毁") % {"count": len(refusals)},
                    code="destruction_refused",
                    details={"refusals": [r.__dict__ for r in refusals]},
                )
            ids = list(dict.fromkeys(recording_ids))
        else:
            ids = destruction_candidates(limit=limit)
        if not ids:
            raise InvalidInput(_("没有到期可销毁的记录"), code="nothing_due")
        rows = {
            r.recording_id: r
            for r in RecordingRetention.objects.select_for_update()
            .filter(recording_id__in=ids)
            .select_related("recording")
        }
        facts = retention_facts_bulk(ids)
        holdings_count, holdings_bytes = _holdings()
        total = sum(rows[i].recording.size_bytes for i in ids)
        share = max(
            total / holdings_bytes if holdings_bytes else 1.0,
            len(ids) / holdings_count if holdings_count else 1.0,
        )
        needs_two = share > conf.destruction_brake_share()
        batch = DestructionBatch.objects.create(
            prepared_by=actor,
            note=note,
            item_count=len(ids),
            total_bytes=total,
            holdings_count=holdings_count,
            holdings_bytes=holdings_bytes,
            share=share,
            approvals_required=2 if needs_two else 1,
        )
        items = []
        for rid in ids:
            row = rows[rid]
            until = timezone.localtime(row.retention_until).date().isoformat()
            items.append(
                DestructionItem(
                    batch=batch,
                    recording_id=rid,
                    size_bytes=row.recording.size_bytes,
                    sha256=row.recording.sha256,
                    categories=row.categories,
                    links={
                        "links": facts[rid].links,
                        "activities": sorted(facts[rid].activity_refs),
                        "cases": sorted(facts[rid].case_refs),
                    },
                    retention_until=row.retention_until,
                    reason_due=(
                        _("保存期限 %(until)s 已届满；%(reason)s")
                        % {"until": until, "reason": row.reason}
                    )[:300],
                )
            )
        DestructionItem.objects.bulk_create(items)
        audit_record(
            actor=Actor.user(actor),
            action="destruction.prepared",
            object_type="destruction_batch",
            object_id=batch.pk,
            data={
                "items": [str(i) for i in ids],
                "total_bytes": total,
                "share": share,
                "approvals_required": batch.approvals_required,
            },
        )
    return batch


def destruction_batch_approve(*, actor: User, batch_id: int) -> DestructionBatch:
    """Approval by the leader in charge. The preparer can never approve; a batch above the
    brake share needs two different approvers. The last approval queues the batch for
    `FV_DESTRUCTION_QUEUE_DAYS`, during which it can still be recovered."""
    with transaction.atomic():
        batch = DestructionBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(_("没有该销毁批次"), code="batch_not_found")
        if batch.prepared_by_id == actor.pk:
            raise PermissionDenied(
                _("提请人不能审批自己提请的销毁批次"), code="approver_is_preparer"
            )
        if not user_is_retention_approver(actor):
            raise PermissionDenied(
                _("只有分管领导（销毁审批领导）可以批准销毁"), code="not_retention_approver"
            )
        if batch.state != BatchState.PREPARED:
            raise Conflict(
                _("该批次不在待审批状态"), code="batch_not_pending", details={"state": batch.state}
            )
        if batch.approvals.filter(approver=actor).exists():
            raise Conflict(_("您已批准过该批次，需要另一位领导批准"), code="already_approved")
        DestructionApproval.objects.create(batch=batch, approver=actor)
        count = batch.approvals.count()
        audit_record(
            actor=Actor.user(actor),
            action="destruction.approved",
            object_type="destruction_batch",
            object_id=batch.pk,
            data={"approval": count, "required": batch.approvals_required},
        )
        if count >= batch.approvals_required:
            now = timezone.now()
            batch.state = BatchState.QUEUED
            batch.approved_at = now
            batch.executes_after = now + datetime.timedelta(days=conf.destruction_queue_days())
            batch.save(update_fields=["state", "approved_at", "executes_after"])
            audit_record(
                actor=Actor.user(actor),
                action="destruction.queued",
                object_type="destruction_batch",
                object_id=batch.pk,
                data={"executes_after": batch.executes_after.isoformat()},
            )
    return batch


def destruction_batch_cancel(*, actor: User, batch_id: int, reason: str) -> DestructionBatch:
    """Recover a whole batch before its items are destroyed."""
    if not (user_is_storage_admin(actor) or user_is_retention_approver(actor)):
        raise PermissionDenied(_("无权撤销销毁批次"), code="not_allowed")
    with transaction.atomic():
        batch = DestructionBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(_("没有该销毁批次"), code="batch_not_found")
        if batch.state not in {BatchState.PREPARED, BatchState.QUEUED}:
            raise Conflict(_("该批次已执行或已撤销"), code="batch_closed")
        batch.state = BatchState.CANCELLED
        batch.cancelled_by = actor
        batch.cancelled_at = timezone.now()
        batch.cancel_reason = reason
        batch.save(update_fields=["state", "cancelled_by", "cancelled_at", "cancel_reason"])
        batch.items.filter(state=ItemState.QUEUED).update(
            state=ItemState.RECOVERED, state_reason=reason[:500]
        )
        audit_record(
            actor=Actor.user(actor),
            action="destruction.cancelled",
            object_type="destruction_batch",
            object_id=batch.pk,
            data={"reason": reason},
        )
    return batch


def destruction_item_recover(*, actor: User, item_id: int, reason: str) -> DestructionItem:
    """Take one item back out of the queue before it is destroyed."""
    if not (user_is_storage_admin(actor) or user_is_retention_approver(actor)):
        raise PermissionDenied(_("无权撤回"), code="not_allowed")
    with transaction.atomic():
        item = DestructionItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None:
            raise NotFound(_("没有该销毁条目"), code="item_not_found")
        if item.state != ItemState.QUEUED:
            raise Conflict(_("该条目已销毁或已撤回"), code="item_closed")
        item.state = ItemState.RECOVERED
        item.state_reason = reason[:500]
        item.save(update_fields=["state", "state_reason"])
        audit_record(
            actor=Actor.user(actor),
            action="destruction.item_recovered",
            object_type="recording",
            object_id=item.recording_id,
            data={"batch": item.batch_id, "reason": reason},
        )
    return item


# -- execution ---------------------------------------------------------------------------
def _delete_all_versions(bucket: str, key: str) -> list[dict[str, Any]]:
    # The destruction identity: the application's own may not delete originals.
    client = destruction_store().client
    deleted: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        for entry in entries:
            if entry["Key"] != key:
                continue
            kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
            if entry.get("VersionId") and entry["VersionId"] != "null":
                kwargs["VersionId"] = entry["VersionId"]
            client.delete_object(**kwargs)
            deleted.append(
                {"key": key, "version_id": entry.get("VersionId"), "size": entry.get("Size")}
            )
    return deleted


def _delete_prefix(bucket: str, prefix: str) -> list[str]:
    client = destruction_store().client
    deleted: list[str] = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            kwargs: dict[str, Any] = {"Bucket": bucket, "Key": entry["Key"]}
            if entry.get("VersionId") and entry["VersionId"] != "null":
                kwargs["VersionId"] = entry["VersionId"]
            client.delete_object(**kwargs)
            deleted.append(entry["Key"])
    return deleted


def derivative_prefix(sha256: str) -> str:
    # media/profiles.py derivative_key: derivatives/<sha[:2]>/<sha>/<profile>-v<n>.<ext>
    return f"derivatives/{sha256[:2]}/{sha256}/"


def destruction_execute_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Run every queued batch whose waiting period is over (the periodic job calls this)."""
    now = now or timezone.now()
    due = list(
        DestructionBatch.objects.filter(
            state=BatchState.QUEUED, executes_after__lte=now
        ).values_list("pk", flat=True)
    )
    for batch_id in due:
        destruction_batch_execute(batch_id=batch_id, now=now)
    return due


def destruction_batch_execute(*, batch_id: int, now: datetime.datetime | None = None) -> int:
    """Destroy the queued items of one batch whose queue time is over. Each item is checked
    again (a hold or an evidence link added while it waited skips it). Idempotent: items
    already destroyed are not touched; an item S3 refuses stays queued for the next run."""
    now = now or timezone.now()
    batch = DestructionBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.state != BatchState.QUEUED or batch.executes_after is None:
        return 0
    if batch.executes_after > now:
        return 0
    destroyed = 0
    for item_id in batch.items.filter(state=ItemState.QUEUED).values_list("pk", flat=True):
        if _destroy_item(item_id=item_id, now=now):
            destroyed += 1
    with transaction.atomic():
        batch = DestructionBatch.objects.select_for_update().get(pk=batch_id)
        if (
            batch.state == BatchState.QUEUED
            and not batch.items.filter(state=ItemState.QUEUED).exists()
        ):
            batch.state = BatchState.EXECUTED
            batch.executed_at = timezone.now()
            batch.save(update_fields=["state", "executed_at"])
            audit_record(
                actor=Actor.system(),
                action="destruction.executed",
                object_type="destruction_batch",
                object_id=batch.pk,
                data={"destroyed": batch.items.filter(state=ItemState.DESTROYED).count()},
            )
    return destroyed


def _destroy_item(*, item_id: int, now: datetime.datetime) -> bool:
    item = DestructionItem.objects.select_related("batch", "batch__prepared_by").get(pk=item_id)
    if item.state != ItemState.QUEUED:
        return False
    refusals = [
        r for r in destruction_refusals([item.recording_id], now=now) if r.code != "already_queued"
    ]
    if refusals:
        with transaction.atomic():
            DestructionItem.objects.filter(pk=item.pk, state=ItemState.QUEUED).update(
                state=ItemState.SKIPPED, state_reason=refusals[0].message[:500]
            )
            audit_record(
                actor=Actor.system(),
                action="destruction.item_skipped",
                object_type="recording",
                object_id=item.recording_id,
                data={"batch": item.batch_id, "code": refusals[0].code},
            )
        return False
    recording = Recording.objects.select_related(
        "device", "officer", "officer__unit", "device__unit"
    ).get(pk=item.recording_id)
    key = recording.storage_key
    # Identical content is stored once: delete the object only when no other live
    # recording refers to it.
    shared = (
        RecordingRetention.objects.filter(destroyed_at__isnull=True, recording__storage_key=key)
        .exclude(recording_id=recording.pk)
        .exists()
    )
    versions: list[dict[str, Any]] = []
    derivatives: list[str] = []
    if key and not shared:
        try:
            versions = _delete_all_versions(settings.FV_ORIGINALS_BUCKET, key)
            derivatives = _delete_prefix(
                settings.FV_DERIVATIVES_BUCKET, derivative_prefix(recording.sha256)
            )
        except Exception as exc:  # still locked, S3 down: stays queued, retried next run
            DestructionItem.objects.filter(pk=item.pk).update(state_reason=str(exc)[:500])
            logger.warning("destroying %s failed: %s", recording.pk, exc)
            return False
    approvals = list(item.batch.approvals.select_related("approver").order_by("approved_at"))
    with transaction.atomic():
        row = RecordingRetention.objects.select_for_update().get(recording_id=recording.pk)
        # Locked too: processing (footage/processing.py) checks the state under this lock
        # before it writes derivative rows, so it never re-adds them to a destroyed recording.
        locked = Recording.objects.select_for_update().get(pk=recording.pk)
        if row.destroyed_at is not None or locked.state == RecordingState.DESTROYED:
            return False  # a concurrent run finished this item first
        row.destroyed_at = now
        row.save(update_fields=["destroyed_at"])
        # The derivative rows point at objects that are gone (or, for shared content, belong
        # to the recording that remains): playback must not offer them any more.
        derivative_rows = RecordingDerivative.objects.filter(recording_id=recording.pk)
        derivative_rows_removed = list(derivative_rows.values_list("key", flat=True))
        derivative_rows.delete()
        DestructionItem.objects.filter(pk=item.pk).update(state=ItemState.DESTROYED)
        officer = recording.officer
        unit = officer.unit if officer else recording.device.unit
        entry_data = {
            "recording_id": str(recording.pk),
            "file_name": recording.file_name,
            "sha256": recording.sha256,
            "size_bytes": recording.size_bytes,
            "batch": item.batch_id,
            "versions": versions,
            "derivatives": derivatives,
            "object_shared": shared,
            "derivative_rows_removed": derivative_rows_removed,
            "recording_state": RecordingState.DESTROYED.value,
            "prepared_by": item.batch.prepared_by.get_username(),
            "approved_by": [a.approver.get_username() for a in approvals],
        }
        event = audit_record(
            actor=Actor.system(),
            action="destruction.item_destroyed",
            object_type="recording",
            object_id=recording.pk,
            data=entry_data,
        )
        register_entry = DestructionRegisterEntry.objects.create(
            recording_id=recording.pk,
            file_name=recording.file_name,
            clip_id=recording.clip_id,
            media_kind=recording.media_kind,
            device_serial=recording.device.serial,
            officer_name=officer.name if officer else "",
            unit_name=unit.name if unit else "",
            sha256=recording.sha256,
            size_bytes=recording.size_bytes,
            recorded_started_at=recording.started_at,
            recorded_ended_at=recording.ended_at,
            stored_at=recording.stored_at,
            retention_until=item.retention_until,
            categories=item.categories,
            reason_due=item.reason_due,
            batch_id_ref=item.batch_id,
            prepared_by=_person(item.batch.prepared_by),
            prepared_at=item.batch.prepared_at,
            approved_by="、".join(_person(a.approver) for a in approvals),
            approved_at=item.batch.approved_at or now,
            destroyed_at=now,
            object_versions=versions,
            derivatives=derivatives,
            object_shared=shared,
            audit_sequence=event.sequence,
        )
        # The recording row stays (it is what coverage, the register and the audit chain
        # point at) but no longer says `stored`: nothing may offer its bytes any more.
        recording_transition(
            recording=locked,
            to_state=RecordingState.DESTROYED,
            detail={
                "destruction_batch": item.batch_id,
                "destruction_item": item.pk,
                "register_number": register_entry.number,
                "audit_sequence": event.sequence,
                "object_shared": shared,
            },
        )
        locked.save(update_fields=["state", "updated_at"])
        recording_id = recording.pk
        transaction.on_commit(lambda: publish_recording_event(recording_id, "destroyed"))
    return True


def _person(user: User) -> str:
    full = user.get_full_name().strip()
    return f"{full}（{user.get_username()}）" if full else user.get_username()
