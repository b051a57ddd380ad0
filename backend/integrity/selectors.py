"""Reads for the API and the page: roots with their stamp status and the gaps."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from backend.integrity.models import DayRoot
from backend.integrity.services.leaves import day_bounds
from backend.integrity.services.publishing import trust_anchor_pem
from backend.integrity.services.sealing import last_sealable_day


def root_out(root: DayRoot) -> dict[str, Any]:
    _start, end = day_bounds(root.day)
    delay = (root.stamp_gen_time - end).total_seconds() if root.stamp_gen_time else None
    return {
        "day": root.day.isoformat(),
        "tree_size": root.tree_size,
        "root": root.root,
        "previous": root.previous,
        "statement": root.statement,
        "statement_hash": root.statement_hash,
        "sealed_at": root.sealed_at.isoformat(),
        "stamped": root.stamp_token is not None,
        "stamp_gen_time": root.stamp_gen_time.isoformat() if root.stamp_gen_time else None,
        "stamp_delay_seconds": int(delay) if delay is not None else None,
        "stamp_token": (
            base64.b64encode(bytes(root.stamp_token)).decode("ascii")
            if root.stamp_token is not None
            else None
        ),
        "stamp_attempts": root.stamp_attempts,
        "stamp_last_error": root.stamp_last_error,
    }


@dataclass(frozen=True)
class IntegrityOverview:
    roots: list[DayRoot]
    last_sealable: datetime.date
    last_sealed: datetime.date | None
    unsealed_days: int
    unstamped: int
    tsa_url: str
    installation: str


def integrity_overview(*, limit: int = 60) -> IntegrityOverview:
    roots = list(DayRoot.objects.defer("statement").order_by("-day")[:limit])
    newest = roots[0].day if roots else None
    last = last_sealable_day(timezone.now())
    return IntegrityOverview(
        roots=roots,
        last_sealable=last,
        last_sealed=newest,
        unsealed_days=max((last - newest).days, 0) if newest else 0,
        unstamped=DayRoot.objects.filter(stamp_token__isnull=True).count(),
        tsa_url=settings.FV_TSA_URL or "",
        installation=settings.FV_INSTALLATION_NAME,
    )


def roots_published(*, since: datetime.date | None, limit: int) -> dict[str, Any]:
    roots = DayRoot.objects.order_by("day")
    if since is not None:
        roots = roots.filter(day__gte=since)
    return {
        "installation": settings.FV_INSTALLATION_NAME,
        "hashing": "RFC 6962: leaf = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right)",
        "tsa_ca_pem": trust_anchor_pem().decode("ascii"),
        "roots": [root_out(root) for root in roots[:limit]],
    }
