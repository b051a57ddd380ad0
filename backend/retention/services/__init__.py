"""Every write about retention: policies, per-recording dates, object locks, legal holds and
evidence marks. Destruction lives in destruction.py, fixity checks in fixity.py.

The package, by sub-domain: ``roles``, ``policies`` (the pure rule choice, previews and
changes), ``dates`` (each recording's retention row), ``locks`` (object locks in the store),
``holds`` (legal holds), ``marks`` (evidence marks).
"""

from backend.retention.services.dates import (
    retention_after_stored,
    retention_backfill,
    retention_refresh,
)
from backend.retention.services.holds import (
    legal_hold_place,
    legal_hold_release,
    legal_holds_visible_to,
    recordings_held,
)
from backend.retention.services.locks import (
    LockDisagreement,
    LockSyncReport,
    retention_check_locks,
    retention_sync_locks,
    retention_sync_locks_for,
)
from backend.retention.services.marks import (
    evidence_mark_add,
    evidence_mark_withdraw,
)
from backend.retention.services.policies import (
    DateChange,
    PolicyPreview,
    PolicyRule,
    fallback_rule,
    policy_rules,
    retention_policy_preview,
    retention_policy_set,
    retention_recompute_groups,
    winning_rule,
)
from backend.retention.services.roles import (
    HOLD_ROLES,
    POLICY_ROLES,
    retention_approver_designate,
    user_is_retention_approver,
    user_is_storage_admin,
)

__all__ = [
    "HOLD_ROLES",
    "POLICY_ROLES",
    "DateChange",
    "LockDisagreement",
    "LockSyncReport",
    "PolicyPreview",
    "PolicyRule",
    "evidence_mark_add",
    "evidence_mark_withdraw",
    "fallback_rule",
    "legal_hold_place",
    "legal_hold_release",
    "legal_holds_visible_to",
    "policy_rules",
    "recordings_held",
    "retention_after_stored",
    "retention_approver_designate",
    "retention_backfill",
    "retention_check_locks",
    "retention_policy_preview",
    "retention_policy_set",
    "retention_recompute_groups",
    "retention_refresh",
    "retention_sync_locks",
    "retention_sync_locks_for",
    "user_is_retention_approver",
    "user_is_storage_admin",
    "winning_rule",
]
