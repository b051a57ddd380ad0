"""The integrity page on a phone: the day roots, a root waiting for its timestamp while the
TSA is down (the gap is visible), then stamped at the next pass; no sideways scrolling;
English via the language switch."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.footage.models import Recording
from backend.integrity.services.periodic import integrity_pass
from tests.e2e.test_browser import ARTIFACTS, PASSWORD, browser, e2e_world, server  # noqa: F401
from tests.integrity.conftest import closed_port_url, integrity_settings, local_tsa  # noqa: F401
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_integrity_page_shows_roots_and_the_timestamp_gap_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    integrity_settings: Any,  # noqa: F811
    local_tsa: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        recording = e2e_world.recordings["own"]
        Recording.objects.filter(pk=recording.pk).update(
            stored_at=timezone.now() - datetime.timedelta(days=2)
        )
        day = timezone.localtime(timezone.now() - datetime.timedelta(days=2)).date()
        integrity_settings.FV_TSA_URL = closed_port_url()
        integrity_pass()

        context = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
        )
        page = context.new_page()
        page.goto(server + "/accounts/login/")
        page.fill("input[name=username]", e2e_world.users[Role.SUPERVISOR].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(server + "/")
        page.goto(server + "/integrity/")
        assert page.locator("h1").inner_text() == "完整性证明"
        row = page.locator(f"#integrity-roots tr[data-day='{day.isoformat()}']")
        assert "尚未加盖（已尝试 1 次）" in row.inner_text()
        assert page.locator("#integrity-unstamped").inner_text() != "0"
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"/integrity/ scrolls sideways by {overflow}px on a phone"
        page.screenshot(path=str(ARTIFACTS / "phone-integrity-waiting.png"), full_page=True)

        integrity_settings.FV_TSA_URL = local_tsa.url
        integrity_pass()
        page.reload()
        assert "尚未加盖" not in row.inner_text()
        assert page.locator("#integrity-unstamped").inner_text() == "0"
        page.click("button.menu-toggle")  # on a phone the language switch is in the menu
        page.click("form.lang button[name=language]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Proof of integrity"
        page.screenshot(path=str(ARTIFACTS / "phone-integrity-en.png"), full_page=True)
        context.close()
    finally:
        connection.close()
