"""A system administrator enters next year's holiday arrangement in the browser: a bad
file is refused row by row in Chinese, the typed form enters the year, the dashboard
warning (from 1 November while it is missing) goes away, and the page reads in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.workcalendar.models import CalendarYear
from backend.workcalendar.selectors import next_year_missing
from tests.e2e.test_browser import ARTIFACTS, _sign_in, browser, e2e_world, server  # noqa: F401
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_system_admin_enters_next_years_arrangement(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM checks
    # are plain synchronous reads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Inside Playwright's loop Django may hand back a connection opened in an earlier
    # browser test, which that test's server teardown terminated: start from a fresh one.
    connection.close()
    year = timezone.localdate().year + 1
    CalendarYear.objects.filter(year=year).delete()
    warned = next_year_missing(timezone.localdate()) is not None
    page = _sign_in(browser, server, e2e_world.users[Role.SYSTEM_ADMIN].username)
    dashboard_warns = page.locator("#calendar-missing").count() == 1
    if warned == (next_year_missing(timezone.localdate()) is not None):  # not at midnight
        assert dashboard_warns is warned
    page.click("nav.main-nav a[href='/calendar/']")
    assert page.locator("h1").inner_text() == "节假日安排"

    bad = tmp_path / "通知.csv"
    bad.write_bytes(
        (
            f"国务院办公厅关于{year}年部分节假日安排的通知,,\n日期,类型,名称\n"
            f"{year}-01-01,放假,元旦\n{year}-01-01,放假,元旦\n{year - 1}-12-31,放假,元旦\n"
        ).encode("gbk")
    )
    page.fill("#enter-file input[name=year]", str(year))
    page.set_input_files("#enter-file input[name=file]", str(bad))
    page.click("#enter-file button[type=submit]")
    errors = page.locator("#calendar-errors").inner_text()
    assert f"第 4 行 A 列（日期）：日期 {year}-01-01 与第 3 行重复" in errors
    assert f"第 5 行 A 列（日期）：日期 {year - 1}-12-31 不在 {year} 年内" in errors
    assert not CalendarYear.objects.filter(year=year).exists()

    page.fill("#enter-text input[name=year]", str(year))
    page.fill("#enter-text input[name=notice]", f"国办发明电〔{year - 1}〕1号")
    page.fill(
        "#enter-text textarea[name=days]", f"{year}-01-01 放假 元旦\n{year}-10-01 放假 国庆节"
    )
    page.click("#enter-text button[type=submit]")
    page.wait_for_url(f"{server}/calendar/{year}/")
    assert f"{year}-10-01" in page.locator("#calendar-days").inner_text()
    assert "已录入" in page.locator("ul.messages").inner_text()
    page.screenshot(path=str(ARTIFACTS / "workcalendar-year.png"), full_page=True)
    assert CalendarYear.objects.get(year=year).source == "form"

    page.goto(server + "/")
    assert page.locator("#calendar-missing").count() == 0
    page.goto(server + "/calendar/")
    page.click("form.lang button[name=language]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Holiday arrangement"
    assert "Import a file" in page.locator("#enter-file").inner_text()
