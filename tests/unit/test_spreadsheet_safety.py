"""The one formula-injection guard of every CSV/XLSX export (issue 13 item 7)."""

from __future__ import annotations

import datetime

import pytest

from backend.spreadsheet_safety import safe_cell, safe_row


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("x")']
)
def test_formula_starts_become_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["行政处罚", "a=b", " =1", "", None, -5, 2.5, datetime.date(2026, 3, 2)]
)
def test_everything_else_passes_unchanged(value: object) -> None:
    assert safe_cell(value) == value


def test_safe_row() -> None:
    assert safe_row(["=1", 1, None]) == ["'=1", 1, None]
