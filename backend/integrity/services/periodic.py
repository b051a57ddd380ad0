"""The periodic pass: seal the days due, stamp what is unstamped, publish, sample-verify."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from backend.integrity.services.publishing import roots_publish
from backend.integrity.services.sealing import days_seal
from backend.integrity.services.stamping import StampOutcome, roots_stamp
from backend.integrity.services.verification import IntegrityReport, integrity_verify


@dataclass
class PassOutcome:
    sealed: list[datetime.date] = field(default_factory=list)
    stamp: StampOutcome = field(default_factory=StampOutcome)
    published: list[str] = field(default_factory=list)
    verification: IntegrityReport = field(default_factory=IntegrityReport)


def integrity_pass(*, now: datetime.datetime | None = None, sample: int = 3) -> PassOutcome:
    now = now or timezone.now()
    outcome = PassOutcome()
    outcome.sealed = [root.day for root in days_seal(now)]
    outcome.stamp = roots_stamp()
    outcome.published = roots_publish()
    outcome.verification = integrity_verify(sample=sample)
    return outcome
