"""A system administrator names an access-request approver and a destruction leader on the
/approvers/ page (zh-hans, then English), and withdraws the leader; others get 403."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.retention.services import user_is_retention_approver
from backend.review.models import ApprovalAuthority, Approver
from tests.e2e.test_browser import ARTIFACTS, _sign_in, browser, e2e_world, server  # noqa: F401
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_system_admin_names_approvers_in_the_browser(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM checks are plain reads.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        world = e2e_world
        legal = world.users[Role.LEGAL_OFFICER]
        storage_admin = world.users[Role.STORAGE_ADMIN]
        page = _sign_in(browser, server, world.users[Role.SYSTEM_ADMIN].username)
        page.click("nav.main-nav >> text=审批人")
        page.wait_for_selector("h1:has-text('审批人')")
        assert "尚未指定销毁审批领导" in page.inner_text("#destruction-leaders")

        form = page.locator("#name-access-approver")
        form.locator("select[name=user]").select_option(str(storage_admin.pk))
        form.locator("select[name=authority]").select_option(ApprovalAuthority.OFFICE_HEAD)
        form.locator("select[name=unit]").select_option(str(world.office.pk))
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=已指定调阅审批人。")
        assert storage_admin.username in page.inner_text("#access-approvers")
        assert Approver.objects.filter(
            user=storage_admin, authority=ApprovalAuthority.OFFICE_HEAD, unit=world.office
        ).exists()

        leader_form = page.locator("#name-destruction-leader")
        leader_form.locator("select[name=user]").select_option(str(legal.pk))
        leader_form.locator("input[name=title]").fill("分管副局长")
        leader_form.locator("button[type=submit]").click()
        page.wait_for_selector("text=已指定销毁审批领导。")
        assert "分管副局长" in page.inner_text("#destruction-leaders")
        assert user_is_retention_approver(legal)

        page.click("button.link:has-text('English')")
        page.wait_for_selector("h1:has-text('Approvers')")
        assert "Destruction leader" in page.content() or "destruction" in page.content()
        page.screenshot(path=str(ARTIFACTS / "approvers-en.png"), full_page=True)
        page.locator("#destruction-leaders button:has-text('Withdraw')").click()
        page.wait_for_selector("text=Destruction leader withdrawn.")
        assert not user_is_retention_approver(legal)

        other = _sign_in(browser, server, world.users[Role.SUPERVISOR].username)
        response = other.goto(server + "/approvers/")
        assert response is not None and response.status == 403
        assert "/approvers/" not in other.inner_html("nav.main-nav")
    finally:
        # The ORM connection opened under Playwright's event loop is its own; close it so the
        # next test does not reuse it after the server fixture ends its session.
        connection.close()
