"""The storage admins' backup-and-reconciliation page on a phone: reached from the capacity
page, the backup position and the last reconciliation shown, no sideways scrolling, English
via the language switch."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.retention.reconcile import storage_reconcile
from tests.e2e.test_browser import ARTIFACTS, PASSWORD, browser, e2e_world, server  # noqa: F401
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_continuity_page_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        run = storage_reconcile(trigger="after_restore", rehash_sample=1)
        context = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
        )
        page = context.new_page()
        page.goto(server + "/accounts/login/")
        page.fill("input[name=username]", e2e_world.users[Role.STORAGE_ADMIN].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(server + "/")
        page.goto(server + "/retention/capacity/")
        page.click("main a[href='/retention/continuity/']")
        page.wait_for_url(server + "/retention/continuity/")
        assert page.locator("h1").inner_text() == "备份与对账"
        body = page.locator("main").inner_text()
        assert "数据库连续备份" in body and "最近一次对账" in body and "恢复之后" in body
        verdict = "一致：数据库与存储桶完全对应。" if run.is_clean else "不一致"
        assert verdict in body
        assert str(run.recordings_checked) in body
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"/retention/continuity/ scrolls sideways by {overflow}px"
        page.screenshot(path=str(ARTIFACTS / "phone-continuity.png"), full_page=True)
        page.click("button.menu-toggle")  # on a phone the language switch is in the menu
        page.click("form.lang button[name=language]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Backup and reconciliation"
        assert "Last reconciliation" in page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "phone-continuity-en.png"), full_page=True)
        context.close()
    finally:
        connection.close()
