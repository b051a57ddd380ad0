"""RFC 3161 timestamps for sealed day roots. A TSA that is down delays the stamp: the root
keeps its attempts and last error (shown on /integrity/) and the next pass stamps it."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from cryptography import x509
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.integrity.models import DayRoot
from provenance.timestamps import (
    TimestampInvalid,
    TimestampUnavailable,
    stamp_request,
    stamp_verify,
    trust_anchors_load,
)

logger = logging.getLogger("fieldvault.integrity")


def trust_anchors() -> list[x509.Certificate]:
    path = settings.FV_TSA_TRUST_ANCHOR
    return trust_anchors_load(path) if path else []


@dataclass
class StampOutcome:
    stamped: list[datetime.date] = field(default_factory=list)
    waiting: list[datetime.date] = field(default_factory=list)
    error: str = ""


def roots_stamp(*, now: datetime.datetime | None = None) -> StampOutcome:
    """Stamp every unstamped root, oldest first; stop at the first TSA failure (the rest
    wait for the next pass)."""
    outcome = StampOutcome()
    pending = list(DayRoot.objects.filter(stamp_token__isnull=True).order_by("day"))
    url = settings.FV_TSA_URL
    if not pending:
        return outcome
    if not url:
        outcome.error = "no TSA configured (FV_TSA_URL)"
        outcome.waiting = [root.day for root in pending]
        DayRoot.objects.filter(pk__in=[r.pk for r in pending]).update(
            stamp_last_error=outcome.error
        )
        return outcome
    anchors = trust_anchors()
    for position, root in enumerate(pending):
        attempted_at = now or timezone.now()
        statement = root.statement.encode("utf-8")
        try:
            stamp = stamp_request(
                statement, url=url, timeout=float(settings.FV_TSA_TIMEOUT_SECONDS)
            )
            if anchors:
                stamp_verify(stamp.response, data=statement, roots=anchors)
        except (TimestampUnavailable, TimestampInvalid) as exc:
            outcome.error = str(exc)
            outcome.waiting = [r.day for r in pending[position:]]
            # Every root still waiting shows the outage (the gap is visible on /integrity/).
            DayRoot.objects.filter(pk__in=[r.pk for r in pending[position:]]).update(
                stamp_attempts=F("stamp_attempts") + 1,
                stamp_last_attempt_at=attempted_at,
                stamp_last_error=outcome.error[:2000],
            )
            logger.warning("day %s not stamped: %s (next pass retries)", root.day, exc)
            return outcome
        updated = DayRoot.objects.filter(pk=root.pk, stamp_token__isnull=True).update(
            stamp_token=stamp.response,
            stamp_gen_time=stamp.gen_time,
            stamp_serial=str(stamp.serial_number),
            stamp_tsa_url=url,
            stamp_attempts=root.stamp_attempts + 1,
            stamp_last_attempt_at=attempted_at,
            stamp_last_error="",
        )
        if updated:
            audit_record(
                actor=Actor.system(),
                action="integrity.day_stamped",
                object_type="integrity_day",
                object_id=root.day.isoformat(),
                data={
                    "statement_hash": root.statement_hash,
                    "gen_time": stamp.gen_time.isoformat(),
                    "serial": str(stamp.serial_number),
                    "delay_seconds": int((stamp.gen_time - root.sealed_at).total_seconds()),
                },
            )
            outcome.stamped.append(root.day)
    return outcome
