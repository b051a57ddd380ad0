"""One guard for every CSV/XLSX the server writes: a cell that a spreadsheet would run as a
formula (formula or DDE injection: `=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`, and the tab
and carriage-return variants) is written as text, prefixed with an apostrophe (OWASP's
advice; Excel and WPS show the rest as typed). Only text is touched: numbers, dates and
empty cells pass unchanged, so a negative number stays a number.

Used by backend/coverage/exports.py, backend/review/register_xlsx.py and
backend/retention/register_export.py. Django-free.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
