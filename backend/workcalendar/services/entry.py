"""Entering a year's official arrangement (国务院办公厅关于XXXX年部分节假日安排的通知):
from a CSV/XLSX file (日期, 类型 放假/上班, 名称) or typed into the form, checked row by row
— every problem reported with its row number, nothing stored unless the whole year is
right — then stored, audited, and every provisional deadline recomputed."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput
from backend.hooks import HookPoint
from backend.tabular import TableFormatError, TableRow, cell_ref, read_table
from backend.workcalendar.days import statutory_holidays
from backend.workcalendar.models import CalendarDay, CalendarSource, CalendarYear, DayKind

COLUMN_DATE, COLUMN_KIND, COLUMN_NAME = "日期", "类型", "名称"
# The names offices give these columns in their own tables of the State Council notice.
COLUMN_SYNONYMS = {
    COLUMN_DATE: ["公历日期", "放假日期", "日期（公历）"],
    COLUMN_KIND: ["安排", "类别", "放假或上班", "放假/上班"],
    COLUMN_NAME: ["节日", "节日名称", "节假日", "节假日名称"],
}
KIND_WORDS = {
    "放假": DayKind.HOLIDAY,
    "休息": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "上班": DayKind.WORKDAY,
    "调休上班": DayKind.WORKDAY,
    "补班": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "holiday": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY,
}
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
MAX_ROWS = 200

# After a year is entered, each app that keeps deadlines recomputes its provisional ones
# (receivers wired in backend/wiring/registry.py, without this app importing them). Each
# gets the year and the actor and returns how many it changed.
AFTER_YEAR_ENTERED_HOOKS: HookPoint[[int | None, Actor], int] = HookPoint(
    "workcalendar.after_year_entered", "a year's holiday arrangement was entered or seeded"
)


def provisional_deadlines_recompute(*, year: int | None, actor: Actor) -> int:
    """Run every app's recompute (inside the caller's transaction when there is one):
    after an entry, after seeding a newer package, and in the periodic pass (which also
    catches deadlines of years entered while a worker was down). Returns how many moved."""
    return sum(AFTER_YEAR_ENTERED_HOOKS.fire(year, actor))


@dataclass(frozen=True)
class EntryRow:
    line: int
    date: str
    kind: str
    name: str = ""
    # From a file: where a person finds the row (sheet; column letter of each column).
    sheet: str = ""
    letters: tuple[tuple[str, str], ...] = ()

    def where(self, column: str) -> str:
        if not self.letters:
            return f"第 {self.line} 行"  # typed into the form: lines, no columns
        return cell_ref(self.sheet, self.line, dict(self.letters).get(column), column)


@dataclass(frozen=True)
class ParsedDay:
    line: int
    date: datetime.date
    kind: str
    name: str


@dataclass
class EntryReport:
    year: int
    holidays: int = 0
    workdays: int = 0
    replaced: bool = False
    recomputed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # The reader's warnings (unknown columns ignored, …): never a refusal.
    warnings: list[str] = field(default_factory=list)


class FileRows(list[EntryRow]):
    """The rows of a file with the reader's warnings (unknown extra columns are kept as a
    warning, never a refusal)."""

    def __init__(self, rows: list[EntryRow], warnings: list[str]) -> None:
        super().__init__(rows)
        self.warnings = warnings


def parse_date(text: str) -> datetime.date | None:
    text = text.strip()
    if "T" in text:  # an XLSX date cell
        text = text.split("T", 1)[0]
    match = DATE_PATTERN.match(text)
    if not match:
        return None
    try:
        return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def rows_from_file(source: Path | IO[bytes] | bytes, *, file_name: str | None = None) -> FileRows:
    try:
        table = read_table(
            source,
            required=(COLUMN_DATE, COLUMN_KIND),
            optional=(COLUMN_NAME,),
            synonyms=COLUMN_SYNONYMS,
            file_name=file_name,
        )
    except TableFormatError as exc:
        raise InvalidInput(str(exc), code=exc.code, details=exc.details) from exc
    letters = tuple(table.columns.items())
    return FileRows(
        [_entry_row(row, table.sheet, letters) for row in table.rows], list(table.warnings)
    )


def _entry_row(row: TableRow, sheet: str, letters: tuple[tuple[str, str], ...]) -> EntryRow:
    values = row.values
    return EntryRow(
        row.line,
        values.get(COLUMN_DATE, ""),
        values.get(COLUMN_KIND, ""),
        values.get(COLUMN_NAME, ""),
        sheet,
        letters,
    )


def rows_from_text(text: str) -> list[EntryRow]:
    """The form: one day a line, `日期 类型 名称` separated by spaces, commas or tabs."""
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        parts = [p for p in re.split(r"[\s,，、\t]+", raw.strip()) if p]
        if not parts:
            continue
        if parts[0] == COLUMN_DATE:  # a pasted header
            continue
        rows.append(
            EntryRow(line, parts[0], parts[1] if len(parts) > 1 else "", " ".join(parts[2:]))
        )
    return rows


def validate_rows(year: int, rows: list[EntryRow]) -> tuple[list[ParsedDay], list[dict[str, Any]]]:
    """Every row checked; errors in Chinese, each with its row number (行号)."""
    errors: list[dict[str, Any]] = []
    days: list[ParsedDay] = []
    seen: dict[datetime.date, int] = {}

    def error(row: EntryRow, code: str, message: str, column: str = COLUMN_DATE) -> None:
        where = row.where(column)
        errors.append(
            {"row": row.line, "code": code, "where": where, "message": f"{where}：{message}"}
        )

    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"行数过多（最多 {MAX_ROWS} 行）", code="too_many_rows", details={"rows": len(rows)}
        )
    for row in rows:
        day = parse_date(row.date)
        kind = KIND_WORDS.get(row.kind.strip().lower())
        if day is None:
            error(row, "invalid_date", f"日期“{row.date}”无法识别（应为 {year}-01-01 这样的日期）")
        elif day.year != year:
            error(row, "date_outside_year", f"日期 {day.isoformat()} 不在 {year} 年内")
        if kind is None:
            error(
                row, "unknown_kind", f"类型“{row.kind}”无法识别（应为“放假”或“上班”）", COLUMN_KIND
            )
        if day is None or day.year != year or kind is None:
            continue
        if day in seen:
            error(row, "duplicate_day", f"日期 {day.isoformat()} 与第 {seen[day]} 行重复")
            continue
        seen[day] = row.line
        if kind == DayKind.WORKDAY and day in statutory_holidays(year):
            error(row, "workday_on_holiday", f"{day.isoformat()} 是法定节假日，不能安排上班")
            continue
        if kind == DayKind.WORKDAY and day.weekday() < 5:
            error(
                row, "workday_not_weekend", f"{day.isoformat()} 本来就是工作日，调休上班日应为周末"
            )
            continue
        days.append(ParsedDay(row.line, day, kind, row.name.strip()[:50]))
    if not rows:
        errors.append({"row": 0, "code": "no_rows", "message": "没有任何日期"})
    elif not errors and not any(d.kind == DayKind.HOLIDAY for d in days):
        errors.append({"row": 0, "code": "no_holidays", "message": f"{year} 年没有任何放假日"})
    return days, errors


def calendar_year_enter(
    *,
    actor: User | None,
    year: int,
    rows: list[EntryRow],
    source: str,
    notice: str = "",
    replace: bool = False,
) -> EntryReport:
    """Store `year`'s arrangement. Refuses (400, per-row errors) unless every row is right;
    refuses (409) an entered year unless `replace`. Recomputes the provisional deadlines
    of every app in the same transaction."""
    if not 2000 <= year <= 2100:
        raise InvalidInput("年份无效", code="invalid_year", details={"year": year})
    if source not in CalendarSource.values:
        raise InvalidInput("来源无效", code="invalid_source", details={"source": source})
    days, errors = validate_rows(year, rows)
    if errors:
        raise InvalidInput(
            f"{year} 年节假日安排有 {len(errors)} 处错误，未导入任何日期",
            code="calendar_rows_invalid",
            details={"year": year, "errors": errors},
        )
    audit_actor = Actor.user(actor) if actor is not None else Actor.system()
    report = EntryReport(year=year, warnings=list(getattr(rows, "warnings", [])))
    with transaction.atomic():
        existing = CalendarYear.objects.select_for_update().filter(year=year).first()
        old_days: list[tuple[str, str]] = []
        if existing is not None:
            if not replace:
                raise Conflict(
                    f"{year} 年的节假日安排已录入（来源：{existing.get_source_display()}）",
                    code="calendar_year_exists",
                    details={"year": year, "source": existing.source},
                )
            old_days = [(d.date.isoformat(), d.kind) for d in existing.days.order_by("date")]
            existing.delete()
            report.replaced = True
        entered = CalendarYear.objects.create(
            year=year,
            source=source,
            notice=notice.strip()[:200],
            entered_by=actor,
            entered_at=timezone.now(),
        )
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=d.date, year=entered, kind=d.kind, name=d.name) for d in days]
        )
        report.holidays = sum(1 for d in days if d.kind == DayKind.HOLIDAY)
        report.workdays = len(days) - report.holidays
        audit_record(
            actor=audit_actor,
            action="workcalendar.year_entered",
            object_type="calendar_year",
            object_id=year,
            data={
                "source": source,
                "notice": entered.notice,
                "holidays": [d.date.isoformat() for d in days if d.kind == DayKind.HOLIDAY],
                "workdays": [d.date.isoformat() for d in days if d.kind == DayKind.WORKDAY],
                "replaced": old_days if report.replaced else None,
            },
        )
        report.recomputed = provisional_deadlines_recompute(year=year, actor=audit_actor)
    return report
