"""Push (exactly-once mutations with conflict detection) and pull (changes since a cursor).

Locking, in this order, everywhere: the device's advisory lock (one push per device at a
time), the touched records' rows (sorted by id), then — at the very end of the
transaction — the audit chain head and the version counter. Holding the two global locks
only for the tail keeps concurrent pushes from different tablets from queueing on them
for longer than a commit.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, FieldVaultError, InvalidInput, PermissionDenied
from backend.devices.models import Device, DeviceAssignment, DeviceKind
from backend.devices.services import device_clock_offset_ms
from sync.records.kinds import (
    DEFER_INSERTS,
    DeviceContext,
    RecordCopy,
    handler_flush,
    handler_prepare,
    kind_handler,
)
from sync.records.models import (
    AppliedMutation,
    SyncRecord,
    SyncRecordAudience,
    SyncRecordRemoval,
    VersionCounter,
)

logger = logging.getLogger(__name__)

MAX_MUTATIONS_PER_PUSH = 500
MAX_PULL_LIMIT = 1000
DEFAULT_PULL_LIMIT = 500
RECORD_DEVICE_KINDS = {DeviceKind.TABLET, DeviceKind.HANDHELD}

APPLIED = "applied"
CONFLICT = "conflict"
REJECTED = "rejected"
RETRY = "retry"  # not final, not stored: send the same mutation again later


@dataclass(frozen=True)
class Mutation:
    mutation_id: uuid.UUID
    op: str  # "put" | "delete"
    kind: str
    record_id: uuid.UUID
    base_version: int | None
    data: dict[str, Any]

    def payload_sha256(self) -> str:
        canonical = json.dumps(
            {
                "op": self.op,
                "kind": self.kind,
                "record_id": str(self.record_id),
                "base_version": self.base_version,
                "data": self.data,
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class PushAnswer:
    server_time: datetime.datetime
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class PullAnswer:
    server_time: datetime.datetime
    cursor: int
    more: bool
    records: list[dict[str, Any]]
    scope: str


def record_as_message(record: SyncRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "id": str(record.id),
        "version": record.version,
        "deleted": record.deleted,
        "data": record.data,
    }


def device_officer(device: Device) -> Officer:
    """The officer holding the device now; record sync acts on their behalf."""
    if device.kind not in RECORD_DEVICE_KINDS:
        raise PermissionDenied(
            _("该类设备不能同步工作记录"),
            code="device_kind_not_allowed",
            details={"kind": device.kind},
        )
    assignment = (
        DeviceAssignment.objects.select_related("officer__unit")
        .filter(device=device, ends_at__isnull=True)
        .first()
    )
    if assignment is None:
        raise PermissionDenied(_("设备未分配给执法人员"), code="device_unassigned")
    return assignment.officer


def _versions_allocate(count: int) -> int:
    """Reserve `count` versions; returns the first. Locks the counter until commit."""
    if VersionCounter.objects.filter(pk=1).update(version=F("version") + count) == 0:
        VersionCounter.objects.get_or_create(pk=1)
        VersionCounter.objects.filter(pk=1).update(version=F("version") + count)
    last = VersionCounter.objects.values_list("version", flat=True).get(pk=1)
    return last - count + 1


def records_lock(record_ids: list[uuid.UUID]) -> None:
    """Lock the sync rows of records a server-side write is about to change, *before* it
    locks their domain rows — the order a push uses (sync row, then domain row). Without
    it, a push editing record X and a server write of X each hold the lock the other wants
    and PostgreSQL aborts one of them."""
    assert transaction.get_connection().in_atomic_block, "records_lock needs a transaction"
    list(
        SyncRecord.objects.select_for_update()
        .filter(id__in=sorted(set(record_ids)))
        .order_by("id")
        .values_list("id", flat=True)
    )


def records_commit(copies: list[RecordCopy]) -> dict[uuid.UUID, int]:
    """Store new server copies with fresh versions. Call it last in the writing transaction
    (after any audit_record: lock order audit head → version counter)."""
    if not copies:
        return {}
    assert transaction.get_connection().in_atomic_block, "records_commit needs a transaction"
    first = _versions_allocate(len(copies))
    versions: dict[uuid.UUID, int] = {}
    rows = []
    for offset, copy in enumerate(copies):
        version = first + offset
        versions[copy.record_id] = version
        rows.append(
            SyncRecord(
                id=copy.record_id,
                kind=copy.kind,
                unit_id=copy.unit_id,
                version=version,
                deleted=copy.deleted,
                data=copy.data,
            )
        )
    SyncRecord.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["kind", "unit", "version", "deleted", "data", "updated_at"],
    )
    audience_ids = [c.record_id for c in copies if c.audience]
    if audience_ids:
        SyncRecordAudience.objects.filter(record_id__in=audience_ids).delete()
        SyncRecordAudience.objects.bulk_create(
            [
                SyncRecordAudience(record_id=c.record_id, officer_id=officer_id)
                for c in copies
                for officer_id in c.audience
            ]
        )
    return versions


def records_rescope(
    copies: list[RecordCopy], *, removal_data: dict[uuid.UUID, dict[str, Any]] | None = None
) -> dict[uuid.UUID, int]:
    """Store new server copies of whole-unit records that moved to another unit (a subject
    transferred to another justice office, with its contacts), and a removal for each
    record's previous unit: that unit's devices pull a tombstone (`deleted: true`, data from
    `removal_data` or empty — never personal data) while the new unit's devices pull the
    live copy. Every row gets a fresh version from the one counter, so no cursor skips
    either. A record coming back to a unit it was removed from drops that removal (the live
    copy, newer, is what the unit's devices pull now). Call it last in the writing
    transaction, like :func:`records_commit`, after :func:`records_lock` on the same ids."""
    if not copies:
        return {}
    assert transaction.get_connection().in_atomic_block, "records_rescope needs a transaction"
    assert all(c.unit_id is not None and not c.audience for c in copies), "whole-unit records"
    previous = dict(
        SyncRecord.objects.filter(id__in=[c.record_id for c in copies]).values_list("id", "unit_id")
    )
    leaving = [
        (c, previous[c.record_id])
        for c in copies
        if previous.get(c.record_id) is not None and previous[c.record_id] != c.unit_id
    ]
    arriving: dict[int | None, list[uuid.UUID]] = {}
    for c in copies:
        arriving.setdefault(c.unit_id, []).append(c.record_id)
    back = Q(pk__in=[])
    for unit_id, record_ids in arriving.items():
        back |= Q(unit_id=unit_id, record_id__in=record_ids)
    SyncRecordRemoval.objects.filter(back).delete()
    versions = records_commit(copies)
    if leaving:
        first = _versions_allocate(len(leaving))
        SyncRecordRemoval.objects.bulk_create(
            [
                SyncRecordRemoval(
                    record_id=c.record_id,
                    kind=c.kind,
                    unit_id=unit_id,
                    version=first + offset,
                    data=(removal_data or {}).get(c.record_id, {}),
                )
                for offset, (c, unit_id) in enumerate(leaving)
            ],
            update_conflicts=True,
            unique_fields=["record", "unit"],
            update_fields=["kind", "version", "data", "removed_at"],
        )
    return versions


def _record_visible(record: SyncRecord, officer: Officer, audience: set[uuid.UUID]) -> bool:
    return record.unit_id == officer.unit_id or record.id in audience


def _lock_device(device: Device) -> None:
    if connection.vendor == "postgresql":
        key = int.from_bytes(device.pk.bytes[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _result(m: Mutation, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "mutation_id": str(m.mutation_id),
        "status": status,
        "record_id": str(m.record_id),
        **extra,
    }


def _rejection(m: Mutation, exc: FieldVaultError) -> dict[str, Any]:
    return _result(m, REJECTED, code=exc.code, message=exc.message, details=exc.details)


def records_push(
    *, device: Device, device_time: datetime.datetime, mutations: list[Mutation]
) -> PushAnswer:
    """Apply a batch of mutations exactly once each; answer each one.

    A mutation already answered for this device (same mutation id) is answered again from
    the store and changes nothing. A put or delete whose `base_version` is not the server's
    current version is a conflict: nothing is written and the server copy is returned.
    """
    if len(mutations) > MAX_MUTATIONS_PER_PUSH:
        raise InvalidInput(
            _("一次推送的变更过多"),
            code="too_many_mutations",
            details={"max": MAX_MUTATIONS_PER_PUSH, "received": len(mutations)},
        )
    officer = device_officer(device)
    server_now = timezone.now()
    device_clock_offset_ms(device_time=device_time, server_time=server_now)  # bounded, or 400
    ctx = DeviceContext(
        device=device, officer=officer, server_now=server_now, clock_offset=server_now - device_time
    )
    with transaction.atomic():
        _lock_device(device)
        hashes = [m.payload_sha256() for m in mutations]
        stored = {
            a.mutation_id: a
            for a in AppliedMutation.objects.filter(
                device=device, mutation_id__in=[m.mutation_id for m in mutations]
            )
        }
        fresh_ids = sorted({m.record_id for m in mutations if m.mutation_id not in stored})
        locked = {
            r.id: r
            for r in SyncRecord.objects.select_for_update().filter(id__in=fresh_ids).order_by("id")
        }
        audience = set(
            SyncRecordAudience.objects.filter(
                record_id__in=list(locked), officer=officer
            ).values_list("record_id", flat=True)
        )
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for m in mutations:
            if m.mutation_id not in stored and m.op == "put":
                by_kind.setdefault(m.kind, []).append(m.data)
        for kind, data in by_kind.items():
            handler = kind_handler(kind)
            if handler is not None and handler.writable:
                handler_prepare(handler, ctx=ctx, data=data)
        try:
            # Fast pass: no savepoint per mutation (handlers validate before they write).
            # A database error breaks the transaction: roll back this pass and redo the
            # batch with one savepoint per mutation, so only the failing one is refused.
            # Handlers may defer their inserts to one bulk write per batch (`flush`).
            with transaction.atomic():
                ctx.cache[DEFER_INSERTS] = True
                results, copies, answered_here = _apply_batch(
                    mutations,
                    ctx=ctx,
                    stored=stored,
                    hashes=hashes,
                    locked=locked,
                    audience=audience,
                    savepoints=False,
                )
                for kind in by_kind:
                    handler = kind_handler(kind)
                    if handler is not None and handler.writable:
                        handler_flush(handler, ctx=ctx)
        except DatabaseError:
            logger.warning(
                "push of device %s: database error, retrying with savepoints",
                device.pk,
                exc_info=True,
            )
            ctx.cache.clear()
            results, copies, answered_here = _apply_batch(
                mutations,
                ctx=ctx,
                stored=stored,
                hashes=hashes,
                locked=locked,
                audience=audience,
                savepoints=True,
            )
        fresh = [
            results[i]
            for i in answered_here.values()
            if results[i]["status"] != RETRY  # type: ignore[index]
        ]
        if fresh:
            audit_record(
                actor=Actor.device(device),
                action="sync.records_pushed",
                object_type="device",
                object_id=device.pk,
                data={
                    "officer_id": officer.pk,
                    "clock_offset_ms": round(ctx.clock_offset.total_seconds() * 1000),
                    "mutations": [
                        {
                            "mutation_id": r["mutation_id"],
                            "record_id": r["record_id"],
                            "status": r["status"],
                            "code": r.get("code", ""),
                        }
                        for r in fresh
                        if r is not None
                    ],
                },
            )
        versions = records_commit(copies)
        new_applied: list[AppliedMutation] = []
        for index, r in enumerate(results):
            assert r is not None
            if "_copy" in r:
                copy: RecordCopy = r.pop("_copy")
                r["version"] = versions[copy.record_id]
            if "duplicate_of" in r:
                continue
            m = mutations[index]
            if m.mutation_id in stored or r["status"] == RETRY:
                continue
            new_applied.append(
                AppliedMutation(
                    device=device, mutation_id=m.mutation_id, payload_sha256=hashes[index], result=r
                )
            )
        AppliedMutation.objects.bulk_create(new_applied)
    final = [
        results[r["duplicate_of"]] if r is not None and "duplicate_of" in r else r for r in results
    ]
    return PushAnswer(server_time=server_now, results=[r for r in final if r is not None])


def _apply_batch(
    mutations: list[Mutation],
    *,
    ctx: DeviceContext,
    stored: dict[uuid.UUID, AppliedMutation],
    hashes: list[str],
    locked: dict[uuid.UUID, SyncRecord],
    audience: set[uuid.UUID],
    savepoints: bool,
) -> tuple[list[dict[str, Any] | None], list[RecordCopy], dict[uuid.UUID, int]]:
    results: list[dict[str, Any] | None] = [None] * len(mutations)
    copies: list[RecordCopy] = []
    answered_here: dict[uuid.UUID, int] = {}  # mutation id → index of its first answer
    records_in_batch: set[uuid.UUID] = set()
    for index, m in enumerate(mutations):
        previous = stored.get(m.mutation_id)
        if previous is not None:
            if previous.payload_sha256 != hashes[index]:
                results[index] = _result(
                    m,
                    REJECTED,
                    code="mutation_id_reused",
                    message=_("该变更编号已用于不同的内容"),
                    details={},
                )
            else:
                results[index] = previous.result
            continue
        if m.mutation_id in answered_here:
            results[index] = {"duplicate_of": answered_here[m.mutation_id]}
            continue
        answered_here[m.mutation_id] = index
        results[index] = _apply_one(
            m,
            ctx=ctx,
            locked=locked,
            audience=audience,
            records_in_batch=records_in_batch,
            copies=copies,
            savepoints=savepoints,
        )
    return results, copies, answered_here


def _apply_one(
    m: Mutation,
    *,
    ctx: DeviceContext,
    locked: dict[uuid.UUID, SyncRecord],
    audience: set[uuid.UUID],
    records_in_batch: set[uuid.UUID],
    copies: list[RecordCopy],
    savepoints: bool,
) -> dict[str, Any]:
    handler = kind_handler(m.kind)
    if handler is None:
        return _rejection(
            m, InvalidInput(_("未知的记录类型"), code="unknown_kind", details={"kind": m.kind})
        )
    if m.op not in {"put", "delete"}:
        return _rejection(m, InvalidInput(_("未知的操作"), code="unknown_op", details={"op": m.op}))
    if not handler.writable:
        return _rejection(
            m,
            PermissionDenied(
                _("该类记录在设备上只读"), code="read_only_kind", details={"kind": m.kind}
            ),
        )
    if m.record_id in records_in_batch:
        return _rejection(
            m, InvalidInput(_("同一批次中同一记录只能有一个变更"), code="record_already_in_batch")
        )
    record = locked.get(m.record_id)
    if record is not None and not _record_visible(record, ctx.officer, audience):
        return _rejection(m, PermissionDenied(_("无权修改该记录"), code="record_out_of_scope"))
    if record is not None and record.kind != m.kind:
        return _rejection(
            m,
            InvalidInput(
                _("记录类型与服务器不符"),
                code="kind_mismatch",
                details={"server_kind": record.kind},
            ),
        )
    if record is None and (m.op == "delete" or m.base_version is not None):
        # Its creation has not arrived yet (reordered batches): answer, but do not store.
        return _result(m, RETRY, code="record_not_found", message=_("服务器尚无该记录，请稍后重试"))
    if record is not None:
        if m.op == "delete" and record.deleted:
            return _result(m, APPLIED, version=record.version)
        if record.deleted or m.base_version != record.version:
            return _result(
                m,
                CONFLICT,
                code="version_conflict",
                message=_("记录已被他人修改或删除，未覆盖；请合并后重新提交"),
                server_copy=record_as_message(record),
            )
    if m.op == "delete" and not handler.deletable:
        return _rejection(m, PermissionDenied(_("该类记录不能删除"), code="delete_not_allowed"))
    try:
        with transaction.atomic() if savepoints else contextlib.nullcontext():
            if m.op == "put":
                copy = handler.put(
                    ctx=ctx, record_id=m.record_id, data=m.data, existing=record is not None
                )
            else:
                copy = handler.delete(ctx=ctx, record_id=m.record_id)
    except FieldVaultError as exc:
        return _rejection(m, exc)
    except IntegrityError:
        if not savepoints:
            raise  # the fast pass is abandoned; the batch is redone with savepoints
        logger.warning("mutation %s: integrity error", m.mutation_id, exc_info=True)
        return _rejection(m, Conflict(_("记录编号已被占用"), code="record_id_taken", details={}))
    records_in_batch.add(m.record_id)
    copies.append(copy)
    return _result(m, APPLIED, _copy=copy)


def pull_scope(officer: Officer) -> str:
    """Whose records a cursor is valid for: the officer holding the device and their unit.
    When it changes (the tablet was handed to someone else, the officer moved office), the
    tablet must wipe what it holds — another office's subjects' personal data — and pull
    from cursor 0."""
    return f"officer:{officer.pk}/unit:{officer.unit_id}"


def records_pull(*, device: Device, cursor: int, limit: int = DEFAULT_PULL_LIMIT) -> PullAnswer:
    """Server copies (and tombstones) changed after `cursor` that this device may see,
    oldest first; `more` says another page is waiting at the returned cursor. Records
    removed from the officer's unit (SyncRecordRemoval, see :func:`records_rescope`) come as
    tombstones too."""
    if cursor < 0:
        raise InvalidInput(_("游标无效"), code="invalid_cursor", details={"cursor": cursor})
    limit = max(1, min(limit, MAX_PULL_LIMIT))
    officer = device_officer(device)
    server_now = timezone.now()
    audience = SyncRecordAudience.objects.filter(officer=officer).values("record_id")
    # Plain rows, not model instances: a page is up to 1,000 records.
    rows = list(
        SyncRecord.objects.filter(version__gt=cursor)
        .filter(Q(unit_id=officer.unit_id) | Q(id__in=audience))
        .order_by("version")
        .values_list("kind", "id", "version", "deleted", "data")[: limit + 1]
    )
    # Records taken out of the unit's scope (a subject transferred away, with its contacts)
    # are tombstones for this unit's devices; merged in version order (both tables share the
    # one counter). The first limit + 1 of each table hold the first limit + 1 of the union.
    removed = list(
        SyncRecordRemoval.objects.filter(unit_id=officer.unit_id, version__gt=cursor)
        .order_by("version")
        .values_list("kind", "record_id", "version", "data")[: limit + 1]
    )
    if removed:
        rows = sorted(
            [*rows, *((kind, pk, version, True, data) for kind, pk, version, data in removed)],
            key=lambda row: row[2],
        )[: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    return PullAnswer(
        server_time=server_now,
        scope=pull_scope(officer),
        cursor=rows[-1][2] if rows else cursor,
        more=more,
        records=[
            {"kind": kind, "id": str(pk), "version": version, "deleted": deleted, "data": data}
            for kind, pk, version, deleted, data in rows
        ],
    )
