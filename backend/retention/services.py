"""Every write about retention: policies, per-recording dates, object locks, legal holds and
evidence marks. Destruction lives in destruction.py, fixity checks in fixity.py."""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.footage.models import Recording, RecordingState
from backend.footage.selectors import recordings_visible_to
from backend.footage.storage import object_store, original_version
from backend.retention import conf
from backend.retention.facts import (
    categories_from_key,
    recordings_for_reference,
    retention_facts_bulk,
)
from backend.retention.models import (
    PERMANENT_UNTIL,
    EvidenceMark,
    FactCategory,
    HoldTarget,
    LegalHold,
    MarkKind,
    RecordingRetention,
    RetentionApprover,
    RetentionPolicy,
)
from media.object_store import ObjectStoreError

logger = logging.getLogger(__name__)

HOLD_ROLES = {Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}
POLICY_ROLES = {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN}


# -- roles -------------------------------------------------------------------------------
def user_is_storage_admin(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.role in {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN}
    )


def user_is_retention_approver(user: Any) -> bool:
    """The leader in charge (分管领导): an active RetentionApprover designation."""
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return False
    return RetentionApprover.objects.filter(user=user, active=True).exists()


def _require(allowed: bool, message: str, code: str) -> None:
    if not allowed:
        raise PermissionDenied(message, code=code)


def retention_approver_designate(*, actor: User, user: User, title: str = "") -> RetentionApprover:
    _require(
        actor.role == Role.SYSTEM_ADMIN, _("只有系统管理员可以指定销毁审批领导"), "not_system_admin"
    )
    with transaction.atomic():
        approver, _created = RetentionApprover.objects.update_or_create(
            user=user, defaults={"designated_by": actor, "active": True, "title": title}
        )
        audit_record(
            actor=Actor.user(actor),
            action="retention.approver_designated",
            object_type="user",
            object_id=user.pk,
            data={"title": title},
        )
    return approver


# -- policies: pure evaluation ----------------------------------------------------------
@dataclass(frozen=True)
class PolicyRule:
    category: str
    name: str
    period_days: int | None
    permanent: bool
    policy_id: int | None = None

    def until(self, anchor: datetime.datetime) -> datetime.datetime:
        if self.permanent:
            return PERMANENT_UNTIL
        return anchor + datetime.timedelta(days=int(self.period_days or 0))

    def describe(self) -> str:
        span = (
            _("永久保存")
            if self.permanent
            else _("保存 %(days)s 天（自记录结束起算）") % {"days": self.period_days}
        )
        return f"{self.name}：{span}"

    def sort_key(self) -> tuple[int, int, str]:
        return (1 if self.permanent else 0, self.period_days or 0, self.category)


def fallback_rule() -> PolicyRule:
    return PolicyRule(
        category=FactCategory.DEFAULT.value,
        name=str(_("系统默认保存期限")),
        period_days=int(settings.FV_ORIGINAL_RETENTION_DAYS),
        permanent=False,
    )


def winning_rule(categories: Iterable[str], rules: dict[str, PolicyRule]) -> PolicyRule:
    """The longest applicable period wins; permanent beats every period."""
    applicable = [rules[c] for c in set(categories) if c in rules]
    if not applicable:
        return fallback_rule()
    return max(applicable, key=PolicyRule.sort_key)


def policy_rules() -> dict[str, PolicyRule]:
    return {
        p.category: PolicyRule(p.category, p.name, p.period_days, p.permanent, p.pk)
        for p in RetentionPolicy.objects.all()
    }


def _seconds(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(microsecond=0)


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
        return _seconds(head["ObjectLockRetainUntilDate"])
    retain = stored.data.get("retain_until")
    return _seconds(datetime.datetime.fromisoformat(retain)) if retain else None


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
                    anchor_at=_seconds(recording.ended_at),
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


# -- policy changes: preview and apply --------------------------------------------------
@dataclass
class DateChange:
    recording_id: str
    old_until: datetime.datetime
    new_until: datetime.datetime
    old_reason: str
    new_reason: str


@dataclass
class PolicyPreview:
    category: str
    old: PolicyRule | None
    new: PolicyRule | None
    total_changed: int = 0
    later: int = 0
    earlier: int = 0
    changes: list[DateChange] = field(default_factory=list)
    refused_reason: str | None = None
    groups: list[tuple[str, PolicyRule, PolicyRule]] = field(default_factory=list)


def _until_expression(rule: PolicyRule) -> Any:
    if rule.permanent:
        return Value(PERMANENT_UNTIL, output_field=DateTimeField())
    return ExpressionWrapper(
        F("anchor_at") + datetime.timedelta(days=int(rule.period_days or 0)),
        output_field=DateTimeField(),
    )


def _floored_expression(rule: PolicyRule) -> Any:
    """The policy date, never below the object's initial lock: what a policy change would
    make of a row. The preview compares it with the current date to find shortenings."""
    until = _until_expression(rule)
    return Greatest(until, Coalesce(F("lock_floor_until"), until), output_field=DateTimeField())


def _effective_expression(rule: PolicyRule) -> Any:
    """What a row is set to: as above and, as a last guard, never below the lock already
    applied to its object (Coalesce: SQLite's MAX() is NULL when any argument is)."""
    until = _until_expression(rule)
    return Greatest(
        until,
        Coalesce(F("lock_floor_until"), until),
        Coalesce(F("lock_until_applied"), until),
        output_field=DateTimeField(),
    )


def _live() -> QuerySet[RecordingRetention]:
    return RecordingRetention.objects.filter(destroyed_at__isnull=True)


def retention_policy_preview(
    *,
    category: str,
    period_days: int | None,
    permanent: bool,
    remove: bool = False,
    name: str = "",
    limit: int = 1000,
) -> PolicyPreview:
    """Exactly which recordings' dates change, and how, if the policy for `category` became
    (period_days | permanent), or were removed. Nothing is written. A change that would move
    any date earlier is marked refused: retention and its COMPLIANCE lock never shorten."""
    rules = policy_rules()
    old = rules.get(category)
    new: PolicyRule | None = None
    if not remove:
        _validate_period(period_days, permanent)
        new = PolicyRule(
            category,
            name or (old.name if old else category),
            period_days,
            permanent,
            old.policy_id if old else None,
        )
    preview = PolicyPreview(category=category, old=old, new=new)
    changed_rules = dict(rules)
    if new is None:
        changed_rules.pop(category, None)
    else:
        changed_rules[category] = new
    group_keys = (
        _live()
        .filter(categories__contains=f",{category},")
        .values_list("categories", flat=True)
        .distinct()
    )
    for key in group_keys:
        cats = categories_from_key(key)
        before = winning_rule(cats, rules)
        after = winning_rule(cats, changed_rules)
        if (before.permanent, before.period_days, before.name) == (
            after.permanent,
            after.period_days,
            after.name,
        ):
            continue
        preview.groups.append((key, before, after))
        rows = (
            _live()
            .filter(categories=key)
            .annotate(new_until=_floored_expression(after))
            .exclude(new_until=F("retention_until"))
        )
        earlier = rows.filter(new_until__lt=F("retention_until"))
        preview.earlier += earlier.count()
        total = rows.count()
        preview.total_changed += total
        preview.later += rows.filter(new_until__gt=F("retention_until")).count()
        room = limit - len(preview.changes)
        if room > 0:
            for rid, old_until, new_until, reason in rows.order_by("retention_until").values_list(
                "recording_id", "retention_until", "new_until", "reason"
            )[:room]:
                preview.changes.append(
                    DateChange(str(rid), old_until, new_until, reason, after.describe())
                )
    if preview.earlier:
        first = next((c for c in preview.changes if c.new_until < c.old_until), None)
        preview.refused_reason = _(
            "该调整会使 %(count)s 条音像记录的保存期限提前（例如 %(example)s 从 %(old)s 提前到 "
            "%(new)s）；保存期限与对象锁定（COMPLIANCE）只能延长，不能缩短。"
        ) % {
            "count": preview.earlier,
            "example": first.recording_id if first else "-",
            "old": first.old_until.date().isoformat() if first else "-",
            "new": first.new_until.date().isoformat() if first else "-",
        }
    return preview


def _validate_period(period_days: int | None, permanent: bool) -> None:
    if permanent and period_days is not None:
        raise InvalidInput(_("永久保存的策略不能同时指定天数"), code="policy_period_and_permanent")
    if not permanent and (period_days is None or period_days <= 0):
        raise InvalidInput(_("保存天数必须为正整数"), code="policy_period_invalid")


def retention_policy_set(
    *,
    actor: User,
    category: str,
    name: str,
    period_days: int | None,
    permanent: bool,
    sync_locks: bool = True,
) -> PolicyPreview:
    """Create or change the policy of one category and recompute every affected recording
    in set-based UPDATEs (one per distinct category set). Refused (409 policy_would_shorten)
    when any recording's date would move earlier. Object locks of the recordings whose dates
    moved later are extended right after, up to a limit; the periodic job does the rest."""
    _require(
        actor.role in POLICY_ROLES, _("只有存储管理员可以调整保存期限策略"), "not_storage_admin"
    )
    category = category.strip()
    if not category:
        raise InvalidInput(_("类别不能为空"), code="policy_category_required")
    with transaction.atomic():
        # One policy change at a time: recomputation reads every policy.
        list(RetentionPolicy.objects.select_for_update().all())
        preview = retention_policy_preview(
            category=category, period_days=period_days, permanent=permanent, name=name, limit=50
        )
        if preview.refused_reason:
            raise Conflict(
                preview.refused_reason,
                code="policy_would_shorten",
                details={
                    "earlier": preview.earlier,
                    "category": category,
                    "examples": [
                        c.recording_id for c in preview.changes if c.new_until < c.old_until
                    ][:20],
                },
            )
        policy, created = RetentionPolicy.objects.update_or_create(
            category=category,
            defaults={
                "name": name,
                "period_days": period_days,
                "permanent": permanent,
                "updated_by": actor,
            },
        )
        updated = retention_recompute_groups(group_keys=[g[0] for g in preview.groups])
        audit_record(
            actor=Actor.user(actor),
            action="retention.policy_changed",
            object_type="retention_policy",
            object_id=policy.pk,
            data={
                "category": category,
                "name": name,
                "period_days": period_days,
                "permanent": permanent,
                "created": created,
                "old": None
                if preview.old is None
                else {"period_days": preview.old.period_days, "permanent": preview.old.permanent},
                "recordings_changed": preview.total_changed,
                "rows_updated": updated,
            },
        )
    if sync_locks:
        retention_sync_locks(limit=conf.lock_sync_inline_limit())
    return preview


def retention_recompute_groups(*, group_keys: Iterable[str] | None = None) -> int:
    """Set-based recomputation: one UPDATE per distinct category set. With no keys, every
    live row is recomputed (after a bulk import or a change of several policies)."""
    rules = policy_rules()
    keys = (
        list(group_keys)
        if group_keys is not None
        else list(_live().values_list("categories", flat=True).distinct())
    )
    updated = 0
    for key in keys:
        rule = winning_rule(categories_from_key(key), rules)
        updated += (
            _live()
            .filter(categories=key)
            .update(
                policy_until=_until_expression(rule),
                retention_until=_effective_expression(rule),
                permanent=rule.permanent,
                policy_id=rule.policy_id,
                reason=rule.describe()[:300],
            )
        )
    return updated


# -- object locks ------------------------------------------------------------------------
@dataclass
class LockSyncReport:
    extended: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    holds_changed: list[str] = field(default_factory=list)
    checked: int = 0


def _key_target(key: str) -> tuple[datetime.datetime | None, bool]:
    """Expected lock date and legal-hold status of one object: the latest retention date and
    any hold over every live recording stored under that key (content-addressed keys are
    shared by identical recordings)."""
    rows = _live().filter(recording__storage_key=key)
    agg = rows.aggregate(until=Max("retention_until"))
    return agg["until"], rows.filter(held=True).exists()


@dataclass
class _ObjectState:
    """What the database wants of one object, and what it last applied."""

    until: datetime.datetime
    held: bool
    applied_until: datetime.datetime | None
    applied_held: bool
    version_id: str = ""  # the version written at ingest; blank: the current one


@dataclass
class _ObjectResult:
    outcome: str  # "ok" | "missing" | "failed"
    extended_from: datetime.datetime | None = None
    extended: bool = False
    applied_until: datetime.datetime | None = None
    hold_set: bool = False
    error: str = ""


def _object_states(keys: list[str]) -> dict[str, _ObjectState]:
    rows = (
        _live()
        .filter(recording__storage_key__in=keys)
        .values("recording__storage_key")
        .annotate(
            until=Max("retention_until"),
            held_count=Count("pk", filter=Q(held=True)),
            applied_until=Min("lock_until_applied"),
            unapplied=Count("pk", filter=Q(lock_until_applied__isnull=True)),
            applied_held_count=Count("pk", filter=Q(legal_hold_applied=True)),
            version_id=Max("recording__storage_version_id"),
        )
    )
    return {
        row["recording__storage_key"]: _ObjectState(
            until=row["until"],
            held=row["held_count"] > 0,
            applied_until=None if row["unapplied"] else row["applied_until"],
            applied_held=row["applied_held_count"] > 0,
            version_id=row["version_id"] or "",
        )
        for row in rows
    }


def _client_error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _sync_object(key: str, state: _ObjectState) -> _ObjectResult:
    """The S3 side for one object (no database access: runs in worker threads). Extends the
    COMPLIANCE lock of the current version when the database's date is later than what it
    last applied; only when S3 refuses (already later, missing) is the object read back."""
    store = object_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    result = _ObjectResult(outcome="ok", applied_until=state.applied_until)
    version = {"VersionId": state.version_id} if state.version_id else {}
    try:
        if state.applied_until is None or _seconds(state.applied_until) < state.until:
            try:
                store.client.put_object_retention(
                    Bucket=bucket,
                    Key=key,
                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": state.until},
                    **version,
                )
                result.extended, result.extended_from = True, state.applied_until
                result.applied_until = state.until
            except Exception as exc:
                # Refused: the lock may already be later (the database was behind), or the
                # object is gone. Read it back to tell.
                head = store.head(bucket, key, version_id=state.version_id or None)
                if head is None:
                    return _ObjectResult(outcome="missing", error=_client_error_code(exc))
                current = head.get("ObjectLockRetainUntilDate")
                if current is None or _seconds(current) < state.until:
                    raise
                result.applied_until = _seconds(current)
        if state.held != state.applied_held:
            store.client.put_object_legal_hold(
                Bucket=bucket,
                Key=key,
                LegalHold={"Status": "ON" if state.held else "OFF"},
                **version,
            )
            result.hold_set = True
    except Exception as exc:  # S3 down or refusing: the next pass retries
        return _ObjectResult(outcome="failed", error=str(exc)[:300])
    return result


def retention_sync_locks(
    *,
    limit: int = 500,
    recording_ids: Iterable[uuid.UUID] | None = None,
    checked_before: datetime.datetime | None = None,
) -> LockSyncReport:
    """Make each object's COMPLIANCE lock and legal hold follow the database: extend the
    lock when a retention date moved later (S3 refuses a shorter date, so we never ask),
    and set the legal hold ON/OFF to match the holds. Least recently tried first;
    `checked_before` skips objects already tried since then (one pass of a loop). S3 calls
    run in FV_LOCK_SYNC_WORKERS threads; the batch's audit events and row updates are
    written in one transaction."""
    report = LockSyncReport()
    pending = (
        _live()
        .exclude(recording__storage_key="")
        .filter(
            Q(lock_until_applied__isnull=True)
            | Q(retention_until__gt=F("lock_until_applied"))
            | ~Q(held=F("legal_hold_applied"))
        )
    )
    if recording_ids is not None:
        # Only those of these recordings whose object is behind (no S3 call for the rest).
        pending = pending.filter(recording_id__in=list(recording_ids))
    if checked_before is not None:
        pending = pending.filter(
            Q(lock_checked_at__isnull=True) | Q(lock_checked_at__lt=checked_before)
        )
    keys = [
        k
        for k in dict.fromkeys(
            pending.order_by(F("lock_checked_at").asc(nulls_first=True)).values_list(
                "recording__storage_key", flat=True
            )[:limit]
        )
        if k
    ]
    if not keys:
        return report
    states = _object_states(keys)
    keys = [k for k in keys if k in states]
    report.checked = len(keys)
    workers = min(conf.lock_sync_workers(), len(keys))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="locks") as pool:
            results = list(pool.map(lambda k: _sync_object(k, states[k]), keys))
    else:
        results = [_sync_object(k, states[k]) for k in keys]
    now = timezone.now()
    with transaction.atomic():
        for key, result in zip(keys, results, strict=True):
            state = states[key]
            rows = _live().filter(recording__storage_key=key)
            if result.outcome != "ok":
                (report.missing if result.outcome == "missing" else report.failed).append(key)
                logger.warning("lock sync for %s: %s %s", key, result.outcome, result.error)
                rows.update(lock_checked_at=now)
                continue
            if result.extended:
                report.extended.append(key)
                audit_record(
                    actor=Actor.system(),
                    action="retention.lock_extended",
                    object_type="object",
                    object_id=key[-64:],
                    data={
                        "key": key,
                        "from": result.extended_from.isoformat() if result.extended_from else None,
                        "to": state.until.isoformat(),
                    },
                )
            if result.hold_set:
                report.holds_changed.append(key)
                audit_record(
                    actor=Actor.system(),
                    action="retention.legal_hold_object",
                    object_type="object",
                    object_id=key[-64:],
                    data={"key": key, "status": "ON" if state.held else "OFF"},
                )
            rows.update(
                lock_until_applied=_seconds(result.applied_until) if result.applied_until else None,
                legal_hold_applied=state.held,
                lock_checked_at=now,
            )
    return report


@dataclass
class LockDisagreement:
    key: str
    recording_ids: list[str]
    database_until: datetime.datetime
    object_until: datetime.datetime | None
    database_held: bool
    object_held: bool | None
    problem: str


def retention_check_locks(*, limit: int | None = None) -> list[LockDisagreement]:
    """Compare, object by object, the latest database retention date (and hold) with the
    lock date (and legal hold) read from S3. Returns every disagreement."""
    store = object_store()
    bucket = settings.FV_ORIGINALS_BUCKET
    keys_qs = (
        _live()
        .exclude(recording__storage_key="")
        .values("recording__storage_key")
        .annotate(until=Max("retention_until"), version_id=Max("recording__storage_version_id"))
        .order_by("recording__storage_key")
    )
    if limit:
        keys_qs = keys_qs[:limit]
    problems = []
    for entry in keys_qs:
        key = entry["recording__storage_key"]
        target, held = _key_target(key)
        if target is None:
            continue
        ids = [
            str(i)
            for i in _live()
            .filter(recording__storage_key=key)
            .values_list("recording_id", flat=True)
        ]
        head = store.head(bucket, key, version_id=entry["version_id"] or None)
        if head is None:
            problems.append(
                LockDisagreement(key, ids, target, None, held, None, str(_("对象不存在")))
            )
            continue
        until = head.get("ObjectLockRetainUntilDate")
        object_held = head.get("ObjectLockLegalHoldStatus") == "ON"
        problem = ""
        if until is None or head.get("ObjectLockMode") != "COMPLIANCE":
            problem = str(_("对象未处于 COMPLIANCE 锁定"))
        elif _seconds(until) < target:
            problem = str(_("对象锁定早于保存期限（待延长或延长失败）"))
        elif _seconds(until) > target:
            problem = str(_("对象锁定晚于保存期限"))
        elif object_held != held:
            problem = str(_("保全状态与对象法定保留不一致"))
        if problem:
            problems.append(LockDisagreement(key, ids, target, until, held, object_held, problem))
    return problems


# -- legal holds -------------------------------------------------------------------------
def _hold_covers(hold: LegalHold) -> set[uuid.UUID]:
    if hold.target_kind == HoldTarget.RECORDING:
        return {hold.recording_id} if hold.recording_id else set()
    return recordings_for_reference(hold.target_kind, hold.reference)


def recordings_held(recording_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these recordings an active hold covers, directly or through an activity or
    a case they are linked to."""
    ids = set(recording_ids)
    if not ids:
        return set()
    active = LegalHold.objects.filter(released_at__isnull=True)
    held = set(
        active.filter(target_kind=HoldTarget.RECORDING, recording_id__in=ids).values_list(
            "recording_id", flat=True
        )
    )
    for hold in active.exclude(target_kind=HoldTarget.RECORDING):
        held |= ids & _hold_covers(hold)
    return held


def _refresh_held(recording_ids: Iterable[uuid.UUID]) -> None:
    ids = set(recording_ids)
    held = recordings_held(ids)
    _live().filter(recording_id__in=held).update(held=True)
    _live().filter(recording_id__in=ids - held).update(held=False)


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    """Holds the user may see or act on. Storage admins and the leader in charge see every
    hold (storage facts); legal officers and supervisors the holds on recordings they may
    see and the activity/case holds placed within their units; others none."""
    holds = LegalHold.objects.all()
    if user_is_storage_admin(user) or user_is_retention_approver(user):
        return holds
    if user.role not in HOLD_ROLES or user.unit is None:
        return holds.none()
    return holds.filter(
        Q(target_kind=HoldTarget.RECORDING, recording__in=recordings_visible_to(user))
        | (
            ~Q(target_kind=HoldTarget.RECORDING)
            & Q(placed_by__unit__path__startswith=user.unit.path)
        )
    )


def legal_hold_place(
    *,
    actor: User,
    target_kind: str,
    reason: str,
    recording_id: uuid.UUID | None = None,
    reference: str = "",
) -> LegalHold:
    """Place a legal hold (保全) on a recording, an activity or a case. Held recordings are
    never destroyed, and their objects get the S3 legal hold."""
    _require(
        actor.role in HOLD_ROLES or user_is_retention_approver(actor),
        _("无权设置保全"),
        "not_allowed_to_hold",
    )
    if target_kind not in HoldTarget.values:
        raise InvalidInput(_("保全对象类型无效"), code="hold_target_invalid")
    if not reason.strip():
        raise InvalidInput(_("必须填写保全原因"), code="hold_reason_required")
    with transaction.atomic():
        if target_kind == HoldTarget.RECORDING:
            # Scoped like every read: a recording outside the caller's units is not found.
            if (
                recording_id is None
                or not recordings_visible_to(actor).filter(pk=recording_id).exists()
            ):
                raise NotFound(_("没有该音像记录"), code="recording_not_found")
            hold = LegalHold.objects.create(
                target_kind=target_kind,
                recording_id=recording_id,
                reason=reason.strip(),
                placed_by=actor,
            )
        else:
            if not reference.strip():
                raise InvalidInput(_("必须填写活动或案件编号"), code="hold_reference_required")
            hold = LegalHold.objects.create(
                target_kind=target_kind,
                reference=reference.strip(),
                reason=reason.strip(),
                placed_by=actor,
            )
        covered = _hold_covers(hold)
        _refresh_held(covered)
        audit_record(
            actor=Actor.user(actor),
            action="retention.hold_placed",
            object_type="legal_hold",
            object_id=hold.pk,
            data={
                "target_kind": target_kind,
                "recording_id": recording_id,
                "reference": hold.reference,
                "reason": hold.reason,
                "recordings": sorted(str(i) for i in covered),
            },
        )
    retention_sync_locks(recording_ids=covered)
    return hold


def legal_hold_release(*, actor: User, hold_id: int, reason: str) -> LegalHold:
    """Release a hold. Needs a second person: whoever placed it cannot release it."""
    _require(
        actor.role in HOLD_ROLES or user_is_retention_approver(actor),
        _("无权解除保全"),
        "not_allowed_to_hold",
    )
    if not reason.strip():
        raise InvalidInput(_("必须填写解除原因"), code="hold_release_reason_required")
    with transaction.atomic():
        hold = (
            legal_holds_visible_to(actor).select_for_update(of=("self",)).filter(pk=hold_id).first()
        )
        if hold is None:
            raise NotFound(_("没有该保全"), code="hold_not_found")
        if hold.released_at is not None:
            raise Conflict(_("该保全已解除"), code="hold_already_released")
        if hold.placed_by_id == actor.pk:
            raise PermissionDenied(
                _("解除保全需要另一人办理：设置人不能解除自己设置的保全"),
                code="hold_release_needs_second_person",
                details={"placed_by": hold.placed_by_id},
            )
        hold.released_by = actor
        hold.released_at = timezone.now()
        hold.release_reason = reason.strip()
        hold.save(update_fields=["released_by", "released_at", "release_reason"])
        covered = _hold_covers(hold)
        _refresh_held(covered)
        audit_record(
            actor=Actor.user(actor),
            action="retention.hold_released",
            object_type="legal_hold",
            object_id=hold.pk,
            data={
                "reason": hold.release_reason,
                "placed_by": hold.placed_by_id,
                "recordings": sorted(str(i) for i in covered),
            },
        )
    retention_sync_locks(recording_ids=covered)
    return hold


# -- evidence marks ----------------------------------------------------------------------
def evidence_mark_add(
    *,
    actor: User,
    recording_id: uuid.UUID,
    kind: str,
    activity_ref: str = "",
    case_ref: str = "",
    note: str = "",
) -> EvidenceMark:
    """Mark a recording as used as evidence, showing obstruction, of a major incident, or
    linked to an activity/case; its retention is recomputed and its lock extended."""
    _require(actor.role in HOLD_ROLES, _("无权标记证据"), "not_allowed_to_mark")
    if kind not in MarkKind.values:
        raise InvalidInput(_("标记类型无效"), code="mark_kind_invalid")
    with transaction.atomic():
        if not recordings_visible_to(actor).filter(pk=recording_id).exists():
            raise NotFound(_("没有该音像记录"), code="recording_not_found")
        mark = EvidenceMark.objects.create(
            recording_id=recording_id,
            kind=kind,
            activity_ref=activity_ref.strip(),
            case_ref=case_ref.strip(),
            note=note,
            marked_by=actor,
        )
        retention_refresh(recording_ids=[recording_id])
        audit_record(
            actor=Actor.user(actor),
            action="retention.mark_added",
            object_type="recording",
            object_id=recording_id,
            data={
                "kind": kind,
                "activity_ref": activity_ref,
                "case_ref": case_ref,
                "mark_id": mark.pk,
            },
        )
    retention_sync_locks(recording_ids=[recording_id])
    return mark


def evidence_mark_withdraw(*, actor: User, mark_id: int) -> EvidenceMark:
    """Withdraw a mark. The retention date may be recomputed earlier in the database only
    down to the lock already applied: the effective date never shortens below it."""
    _require(actor.role in HOLD_ROLES, _("无权撤销标记"), "not_allowed_to_mark")
    with transaction.atomic():
        mark = (
            EvidenceMark.objects.select_for_update()
            .filter(pk=mark_id, recording__in=recordings_visible_to(actor))
            .first()
        )
        if mark is None or mark.withdrawn_at is not None:
            raise NotFound(_("没有该标记"), code="mark_not_found")
        mark.withdrawn_by = actor
        mark.withdrawn_at = timezone.now()
        mark.save(update_fields=["withdrawn_by", "withdrawn_at"])
        rows = retention_refresh(recording_ids=[mark.recording_id])
        for row in rows:
            # The object is already locked to the later date: keep the database honest.
            if row.lock_until_applied and row.retention_until < row.lock_until_applied:
                row.lock_floor_until = row.lock_until_applied
                row.retention_until = row.lock_until_applied
                row.save(update_fields=["lock_floor_until", "retention_until"])
        audit_record(
            actor=Actor.user(actor),
            action="retention.mark_withdrawn",
            object_type="recording",
            object_id=mark.recording_id,
            data={"mark_id": mark.pk, "kind": mark.kind},
        )
    return mark


def retention_sync_locks_for(*, seconds: float, batch: int = 500) -> LockSyncReport:
    """Extend locks / set legal holds in batches until none is behind or `seconds` have
    passed (the periodic pass: after a policy change hundreds of thousands may be behind).
    Each object is tried at most once per call."""
    started = timezone.now()
    deadline = time.monotonic() + seconds
    total = LockSyncReport()
    while time.monotonic() < deadline:
        report = retention_sync_locks(limit=batch, checked_before=started)
        for name in ("extended", "missing", "failed", "holds_changed"):
            getattr(total, name).extend(getattr(report, name))
        total.checked += report.checked
        if report.checked == 0:  # nothing behind any more (or all tried once)
            break
    return total
