"""Retention policies: the pure choice of the winning rule, then previewing and applying
a change."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
    Value,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput
from backend.retention import conf
from backend.retention.facts import (
    categories_from_key,
)
from backend.retention.models import (
    PERMANENT_UNTIL,
    FactCategory,
    RetentionPolicy,
)
from backend.retention.services.base import live_retentions
from backend.retention.services.locks import retention_sync_locks
from backend.retention.services.roles import POLICY_ROLES, _require


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
        live_retentions()
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
            live_retentions()
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
        else list(live_retentions().values_list("categories", flat=True).distinct())
    )
    updated = 0
    for key in keys:
        rule = winning_rule(categories_from_key(key), rules)
        updated += (
            live_retentions()
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
