"""Retention settings, each overridable in Django settings or the environment."""

from __future__ import annotations

import os

from django.conf import settings


def _value(name: str, default: float) -> float:
    if hasattr(settings, name):
        return float(getattr(settings, name))
    return float(os.environ.get(name, default))


def destruction_queue_days() -> float:
    """Days approved items wait, recoverable, before their objects are deleted."""
    return _value("FV_DESTRUCTION_QUEUE_DAYS", 7)


def destruction_brake_share() -> float:
    """A batch above this share of holdings (by bytes or by count) needs a second approver."""
    return _value("FV_DESTRUCTION_BRAKE_SHARE", 0.05)


def fixity_period_days() -> float:
    """Every stored original is re-read at least once in this period."""
    return _value("FV_FIXITY_PERIOD_DAYS", 90)


def fixity_run_limit() -> int:
    return int(_value("FV_FIXITY_RUN_LIMIT", 200))


def lock_sync_inline_limit() -> int:
    """How many objects a policy change or hold extends at once; the periodic job does the rest."""
    return int(_value("FV_LOCK_SYNC_INLINE_LIMIT", 200))


def fixity_workers() -> int:
    """Threads reading and hashing originals at once during a sweep."""
    return max(1, int(_value("FV_FIXITY_WORKERS", 1)))


def lock_sync_seconds() -> float:
    """How long one periodic pass may spend extending object locks (in batches)."""
    return _value("FV_LOCK_SYNC_SECONDS", 300)


def lock_sync_workers() -> int:
    """Threads making S3 lock calls at once (latency-bound, not CPU-bound)."""
    return max(1, int(_value("FV_LOCK_SYNC_WORKERS", 4)))
