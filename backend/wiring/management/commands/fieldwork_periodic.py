"""Periodic pass of field work: overdue alerts, missing coverage links, cross-check re-runs,
provisional deadlines (recounted once the holiday arrangement is entered), publication
(results a lost hook call missed are offered; items whose 公开期限 ran out are taken
down), correction subjects' positions past their retention period (purged). Safe to
repeat; run it from cron or a timer (e.g. every 15 minutes — the overdue scan only raises
an alert once per period)."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from backend.audit.services import Actor
from backend.cases.services.case_file import archive_overdue_alerts_raise
from backend.corrections.services import (
    checkins_recheck,
    contacts_link_redrive,
    overdue_scan,
    positions_purge,
)
from backend.inspections.services import inspections_link_redrive
from backend.publication.services.items import public_items_take_down_due
from backend.publication.sources import publication_sources_redrive
from backend.workcalendar.services.entry import provisional_deadlines_recompute
from backend.workcalendar.services.seeding import calendar_seed_from_package


def fieldwork_periodic(
    *, today: datetime.date | None = None, lookback_days: int = 7
) -> dict[str, int]:
    since = timezone.now() - datetime.timedelta(days=lookback_days)
    return {
        "overdue_alerts_raised": len(overdue_scan(today=today)),
        "contacts_linked": contacts_link_redrive(since=since),
        "inspections_linked": inspections_link_redrive(),
        "case_archive_overdue_alerts": len(archive_overdue_alerts_raise(today=today)),
        "checkins_rechecked": checkins_recheck(since=since),
        "calendar_years_seeded": len(calendar_seed_from_package()),
        "provisional_deadlines_recomputed": provisional_deadlines_recompute(
            year=None, actor=Actor.system()
        ),
        "public_items_offered": publication_sources_redrive(),
        "public_items_taken_down": public_items_take_down_due(today=today),
        # 行踪轨迹 past FV_POSITION_RETENTION_DAYS (audited when any are removed).
        "positions_purged": positions_purge().purged,
    }


class Command(BaseCommand):
    help = "Field work periodic pass: 逾期提醒, coverage links, cross-check, 公示期限."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=datetime.date.fromisoformat, default=None)
        parser.add_argument("--lookback-days", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        report = fieldwork_periodic(today=options["today"], lookback_days=options["lookback_days"])
        self.stdout.write(json.dumps(report))
