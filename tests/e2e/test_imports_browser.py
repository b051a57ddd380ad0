"""A supervisor imports the officer roster in the browser, on a desktop and on a phone
(390×844): a file with a bad row is refused with the cell named in Chinese and nothing
imported; the fixed file imports and the summary names the default unit. No console
errors, no sideways scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Officer, Role
from tests.e2e.test_browser import ARTIFACTS, PASSWORD, browser, e2e_world, server  # noqa: F401
from tests.imports.corpus import make
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]
HEADER = ["序号", "姓名", "执法岗位", "执法类型", "编制类别", "证件情况"]
VIEWPORTS = {"desktop": (1180, 820), "phone": (390, 844)}


def _overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_supervisor_imports_a_roster_with_an_error_then_fixes_it(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    viewport: str,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()  # a fresh connection inside Playwright's loop (see the calendar test)
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": width, "height": height},
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
    )
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(str(e)))
        supervisor = e2e_world.users[Role.SUPERVISOR]
        page.goto(server + "/accounts/login/")
        page.fill("input[name=username]", supervisor.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(server + "/")
        toggle = page.locator("button.menu-toggle")
        if toggle.is_visible():  # on a phone the menu folds behind one button
            toggle.click()
        page.click("nav.main-nav a[href='/officers/import/']")
        assert page.locator("h1").inner_text() == "导入执法人员名单"
        assert _overflow(page) <= 1

        names = [f"{viewport}甲", f"{viewport}乙"]
        number = "140421" + ("00501" if viewport == "desktop" else "00502")
        good = [
            [1, names[0], "科员", "司法行政", "行政", f"已持证（{number}，2027-12-31）"],
            [2, names[1], "科员", "司法行政", "行政", "未持证"],
        ]
        bad = make(
            "xlsx",
            title="执法人员名单",
            header=HEADER,
            rows=[*good, [3, "", "科员", "司法行政", "行政", "未持证"]],
        )
        path = tmp_path / "名单.xlsx"
        path.write_bytes(bad.data)
        page.set_input_files("#import-form input[name=file]", str(path))
        page.click("#import-form button[type=submit]")
        errors = page.locator("#import-errors").inner_text()
        assert "未导入任何数据" in errors
        assert "工作表「名单」第 6 行 B 列（姓名）：姓名不能为空" in errors
        assert not Officer.objects.filter(name__in=names).exists()
        assert _overflow(page) <= 1
        page.screenshot(
            path=str(ARTIFACTS / f"roster-import-errors-{viewport}.png"), full_page=True
        )

        fixed = make("xlsx", title="执法人员名单", header=HEADER, rows=good)
        path.write_bytes(fixed.data)
        page.set_input_files("#import-form input[name=file]", str(path))
        page.click("#import-form button[type=submit]")
        page.wait_for_selector("#import-summary")
        summary = page.locator("#import-summary").inner_text()
        assert f"未填单位的人员已归入：{supervisor.unit.name}" in summary
        assert set(Officer.objects.filter(name__in=names).values_list("unit", flat=True)) == {
            supervisor.unit_id
        }
        assert _overflow(page) <= 1
        page.screenshot(path=str(ARTIFACTS / f"roster-import-done-{viewport}.png"), full_page=True)
        # The refused upload answers 400 on purpose (the page lists the errors); Chromium
        # logs that status of the document itself. Anything else is a real console error.
        refused = "Failed to load resource: the server responded with a status of 400"
        assert [m for m in console if not m.startswith(refused)] == []
        assert len(console) <= 1
    finally:
        context.close()
        connection.close()
