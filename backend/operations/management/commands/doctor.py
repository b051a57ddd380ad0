"""Check a deployment after installing or upgrading: one line per finding, OK/WARN/FAIL with
the fix; exit code 1 when anything FAILs (backend/operations/services/doctor.py)."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from backend.operations.services.doctor import FAIL, WARN, run_checks, worst


class Command(BaseCommand):
    help = "Check ffmpeg, the font, S3 lock and identity, TLS, backups, time and space."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help="language of the lines (default: the installation's, zh-hans)",
        )
        parser.add_argument("--json", action="store_true", help="one JSON document instead")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"]):
            findings = run_checks()
            overall = worst(findings)
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {"status": overall, "findings": [f.__dict__ for f in findings]},
                        ensure_ascii=False,
                        indent=2,
                    )
                )
            else:
                for finding in findings:
                    style = {FAIL: self.style.ERROR, WARN: self.style.WARNING}.get(
                        finding.status, self.style.SUCCESS
                    )
                    line = f"{style(finding.status.ljust(4))} {finding.check:<12} {finding.detail}"
                    if finding.fix:
                        line += "\n" + " " * 18 + _("修复：%(fix)s") % {"fix": finding.fix}
                    self.stdout.write(line)
                counts = {s: sum(f.status == s for f in findings) for s in ("OK", WARN, FAIL)}
                self.stdout.write(
                    _("结果：%(ok)s 项正常，%(warn)s 项警告，%(fail)s 项失败")
                    % {"ok": counts["OK"], "warn": counts[WARN], "fail": counts[FAIL]}
                )
            if overall == FAIL:
                raise CommandError(_("有检查失败"), returncode=1)
