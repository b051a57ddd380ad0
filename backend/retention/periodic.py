"""The retention part of the worker's periodic pass."""

from __future__ import annotations

import logging
from typing import Any

from backend.retention.destruction import destruction_execute_due
from backend.retention.fixity import fixity_sweep
from backend.retention.services import retention_backfill, retention_sync_locks

logger = logging.getLogger(__name__)


def retention_periodic(*, fixity_limit: int | None = None) -> dict[str, Any]:
    """Run what is due: retention rows for new recordings, lock extensions and legal holds
    that S3 has not yet got, fixity checks, and destructions whose queue time is over.
    Safe to run often and from several workers (each step is idempotent)."""
    summary: dict[str, Any] = {}
    summary["backfilled"] = retention_backfill()
    locks = retention_sync_locks()
    summary["locks_extended"] = len(locks.extended)
    summary["lock_failures"] = len(locks.failed) + len(locks.missing)
    fixity = fixity_sweep(limit=fixity_limit)
    summary["fixity_checked"] = fixity.checked
    summary["fixity_failed"] = len(fixity.failed)
    summary["destruction_batches_run"] = destruction_execute_due()
    logger.info("retention periodic: %s", summary)
    return summary
