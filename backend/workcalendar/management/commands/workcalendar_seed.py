from typing import Any

from django.core.management.base import BaseCommand

from backend.audit.services import Actor
from backend.workcalendar.services.entry import provisional_deadlines_recompute
from backend.workcalendar.services.seeding import calendar_seed_from_package


class Command(BaseCommand):
    help = (
        "Store the years the installed chinesecalendar knows and the database lacks (also "
        "done on every migrate), then recompute provisional deadlines."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        years = calendar_seed_from_package()
        moved = provisional_deadlines_recompute(year=None, actor=Actor.system())
        self.stdout.write(f"seeded: {years or 'none'}; deadlines recomputed: {moved}")
