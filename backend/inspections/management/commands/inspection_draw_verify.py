"""Re-run a random draw from its recorded inputs and seed (or from a published JSON file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.inspections.draw import inputs_from_json, result_as_json, result_digest, run_draw
from backend.inspections.selectors import draw_get
from backend.inspections.services import draw_verify


class Command(BaseCommand):
    help = "Verify a random draw: by id (database) or --published FILE (the public JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("draw_id", nargs="?")
        parser.add_argument(
            "--published", type=Path, help="JSON from GET /api/inspections/draws/{id}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["published"]:
            published = json.loads(options["published"].read_text(encoding="utf-8"))
            result = result_as_json(
                run_draw(inputs_from_json(published["inputs"]), seed=published["seed"])
            )
            same = result == published["result"]
            self.stdout.write(
                json.dumps(
                    {
                        "matches": same,
                        "recomputed_sha256": result_digest(result),
                        "published_sha256": published.get("result_sha256"),
                    }
                )
            )
            if not same:
                raise CommandError("the published result does not follow from its inputs and seed")
            return
        draw = draw_get(options["draw_id"] or "")
        if draw is None:
            raise CommandError("no such draw")
        verification = draw_verify(draw)
        self.stdout.write(json.dumps(verification.as_dict()))
        if not (
            verification.matches
            and verification.inspections_match
            and verification.inspectors_certified
        ):
            raise CommandError("draw verification failed")
