"""The retention part of the worker's periodic pass."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps

from backend.hooks import HookPoint
from backend.retention import conf
from backend.retention.destruction import destruction_execute_due
from backend.retention.fixity import fixity_quota, fixity_sweep
from backend.retention.services import (
    retention_backfill,
    retention_refresh,
    retention_sync_locks_for,
)

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 900.0


def retention_refresh_changed() -> int:
    """Recompute the recordings whose activity links or coverage verdicts changed since
    their retention was computed (links made after storage, re-checks, manual links)."""
    if not apps.is_installed("backend.coverage"):
        return 0
    from backend.retention.activity_facts import recordings_with_changed_activity_facts

    ids = recordings_with_changed_activity_facts()
    if ids:
        retention_refresh(recording_ids=ids)
    return len(ids)


# Fired at the end of every periodic pass with its summary, which receivers extend with their
# own figures (review withdraws expired watermarked export copies: it builds on retention, so
# retention does not import it). Receivers are wired in backend/wiring/registry.py.
AFTER_PERIODIC_PASS_HOOKS: HookPoint[[dict[str, Any]], None] = HookPoint(
    "retention.after_periodic_pass", "the periodic pass ran (summary to extend)"
)


def retention_periodic(
    *, fixity_limit: int | None = None, interval_seconds: float = DEFAULT_INTERVAL_SECONDS
) -> dict[str, Any]:
    """Run what is due: retention rows for new recordings, recomputation after activity
    changes, lock extensions and legal holds that S3 has not yet got, fixity checks (paced
    so that the full sweep fits FV_FIXITY_PERIOD_DAYS when this runs every
    `interval_seconds`), destructions whose queue time is over, and watermarked export
    copies whose grant has expired. Safe to run often and
    from several workers (each step is idempotent)."""
    summary: dict[str, Any] = {}
    summary["backfilled"] = retention_backfill()
    summary["refreshed"] = retention_refresh_changed()
    locks = retention_sync_locks_for(seconds=conf.lock_sync_seconds())
    summary["locks_extended"] = len(locks.extended)
    summary["lock_failures"] = len(locks.failed) + len(locks.missing)
    limit = (
        fixity_limit
        if fixity_limit is not None
        else fixity_quota(interval_seconds=interval_seconds)
    )
    fixity = fixity_sweep(limit=limit)
    summary["fixity_checked"] = fixity.checked
    summary["fixity_failed"] = len(fixity.failed)
    summary["fixity_still_due"] = fixity.overdue_remaining
    summary["destruction_batches_run"] = destruction_execute_due()
    AFTER_PERIODIC_PASS_HOOKS.fire(summary)  # review: expired export copies withdrawn
    logger.info("retention periodic: %s", summary)
    return summary
