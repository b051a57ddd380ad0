"""持证上岗 on a phone: a supervisor opens the certificate watch list from the folded menu
(390×844, touch) and reads who may not enforce soon, soonest first, without the page
growing wider than the screen. axe-core audits the page (the `browser` fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_phone_browser import PHONE, _overflow
from tests.factories import make_officer
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_supervisor_reads_expiring_certificates_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    supervisor = e2e_world.users[Role.SUPERVISOR]
    make_officer(supervisor.unit, name="证件将到期人员", valid_days=30)
    make_officer(supervisor.unit, name="证件已过期人员", valid_days=-2)
    make_officer(supervisor.unit, name="证件长期有效人员", valid_days=400)

    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server + "/accounts/login/")
    page.fill("input[name=username]", supervisor.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(server + "/")
    page.locator("button.menu-toggle").tap()
    page.locator("#site-menu .main-nav a[href='/officers/certificates/']").tap()
    page.wait_for_url(server + "/officers/certificates/")
    assert page.locator("h1").inner_text() == "执法证件到期提醒"
    table = page.locator("#certificates").inner_text()
    assert "证件将到期人员" in table and "30 天后到期" in table
    assert "证件已过期人员" in table and "执法证已过期" in table
    assert "证件长期有效人员" not in table
    assert table.index("证件已过期人员") < table.index("证件将到期人员")
    assert _overflow(page) <= 1, "the page is wider than the phone"
    page.screenshot(path=str(ARTIFACTS / "certificates-phone.png"), full_page=True)
    context.close()
