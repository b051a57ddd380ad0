from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from backend.retention.selectors import capacity_report


def _gb(value: float) -> str:
    return f"{value / 1e9:,.3f} GB"


class Command(BaseCommand):
    help = "Bytes and counts by unit, category and month; 12-month growth and projection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = capacity_report()
        if options["json"]:
            self.stdout.write(json.dumps(report.__dict__, ensure_ascii=False, indent=2))
            return
        out = self.stdout.write
        out(f"在库 {report.total_count} 条，{_gb(report.total_bytes)}")
        out("\n按单位:")
        for row in report.by_unit:
            out(f"  {row['unit']:<30} {row['count']:>8} {_gb(row['bytes']):>16}")
        out("\n按保存类别:")
        for row in report.by_category:
            out(
                f"  {row['policy']}（{row['category']}）  {row['count']:>8} {_gb(row['bytes']):>16}"
            )
        out("\n按入库月份:")
        for row in report.by_month:
            out(f"  {row['month']}  {row['count']:>8} {_gb(row['bytes']):>16}")
        out("\n近 12 个月增长:")
        for row in report.growth:
            out(f"  {row['month']}  +{_gb(row['added_bytes'])}  累计 {_gb(row['total_bytes'])}")
        out("\n预测（线性趋势）:")
        for row in report.projection:
            out(f"  {row['month']}  预计累计 {_gb(row['total_bytes'])}")
        out(
            f"\n平均每月增长 {_gb(report.bytes_per_month)}；"
            f"12 个月后预计 {_gb(report.projected_12_months_bytes)}"
        )
