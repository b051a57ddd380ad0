"""Reporting schedules as periods with due dates (pure: no database).

A schedule says "`times` contacts of this kind per week / month / quarter". Each calendar
period overlapping the subject's term is one obligation. Its due date is the period's last
day moved by `grace_working_days` working days (0: the last day itself, or the next
working day when it is a weekend or holiday — a deadline never falls on a day off).

When the official arrangement of a year the count crosses is not entered yet, the due
date is counted provisionally (national rule, see backend/workcalendar/days.py) and says
so; it is recomputed when the arrangement is entered.

A period cut by the start or end of the term counts only when at least half of it lies
inside the term: a subject whose term starts on the 30th owes nothing for that month.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from backend.workcalendar.days import WorkingCalendar

WEEKLY = "weekly"
MONTHLY = "monthly"
QUARTERLY = "quarterly"
FREQUENCIES = (WEEKLY, MONTHLY, QUARTERLY)


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str
    frequency: str
    times: int
    grace_working_days: int = 0


@dataclass(frozen=True)
class PeriodDue:
    kind: str
    period_start: datetime.date
    period_end: datetime.date
    due_date: datetime.date
    required: int
    provisional: bool = False


def period_containing(frequency: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    if frequency == WEEKLY:
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=6)
    if frequency == MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    if frequency == QUARTERLY:
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = datetime.date(day.year, first_month, 1)
        end_month = first_month + 2
        end = datetime.date(day.year, end_month, calendar.monthrange(day.year, end_month)[1])
        return start, end
    raise ValueError(f"unknown frequency {frequency!r}")


def periods_due(
    spec: ScheduleSpec,
    *,
    term_start: datetime.date,
    term_end: datetime.date,
    due_from: datetime.date,
    due_to: datetime.date,
    working_days: WorkingCalendar,
) -> list[PeriodDue]:
    """The obligations of one schedule whose due date lies in [due_from, due_to].

    Periods are clipped to the term; `period_start`/`period_end` are the clipped bounds
    (the window in which a contact counts).
    """
    if spec.times < 1 or term_end < term_start:
        return []
    result: list[PeriodDue] = []
    # A due date can be up to ~3 weeks after the period end (grace + long holidays), so
    # start scanning a period early enough.
    scan = max(term_start, due_from - datetime.timedelta(days=120))
    scan = period_containing(spec.frequency, scan)[0]
    while scan <= min(term_end, due_to):
        full_start, full_end = period_containing(spec.frequency, scan)
        start, end = max(full_start, term_start), min(full_end, term_end)
        full_days = (full_end - full_start).days + 1
        inside_days = (end - start).days + 1
        if inside_days * 2 >= full_days:
            deadline = working_days.add_working_days(full_end, spec.grace_working_days)
            if due_from <= deadline.date <= due_to:
                result.append(
                    PeriodDue(
                        spec.kind, start, end, deadline.date, spec.times, deadline.provisional
                    )
                )
        scan = full_end + datetime.timedelta(days=1)
    return result
