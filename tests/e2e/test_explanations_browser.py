"""Gap explanations in the browser, at tablet (820×1180) and desktop (1440×900) size: the
field officer explains a gap from the activity page (a wrong form comes back in Chinese,
nothing lost); the supervisor finds it on the dashboard, accepts it with a reason, and the
verdict line reads 已说明（已采纳）. No console errors beyond the intended 400, no
horizontal scroll."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.coverage.models import GapExplanation
from tests.e2e.test_browser import browser, e2e_world, server  # noqa: F401
from tests.e2e.test_corrections_browser import SIZES, _no_horizontal_scroll, _open
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

REFUSED_CONSOLE = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


@pytest.mark.parametrize("size", list(SIZES))
def test_explain_and_accept(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    size: str,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        world = e2e_world
        activity = world.extra["activity"]
        url = f"{server}/activities/{activity.pk}/"
        # The fixture's explanation is decided first, so that only the new one is pending.
        GapExplanation.objects.filter(activity=activity).update(state="accepted")

        page, errors, refused = _open(
            browser, server, world.users[Role.FIELD_OFFICER].username, size
        )
        page.goto(url)
        form = page.locator("#explain-form")
        page.select_option("#explain-form select[name=reason]", "other")
        options = page.locator("#explain-form select[name=gap] option")
        gap = options.nth(1).get_attribute("value")
        page.select_option("#explain-form select[name=gap]", gap)
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#explain-form .errorlist")
        assert "选择“其他”时必须填写说明" in page.locator("#explain-form").inner_text()
        assert page.locator("#explain-form select[name=gap]").input_value() == gap
        _no_horizontal_scroll(page)
        page.fill("#explain-form textarea[name=text]", "执法记录仪死机，重启后继续记录")
        page.locator("#explain-form button[type=submit]").click()
        page.wait_for_url(url + "#explain")
        assert "说明已提交" in page.locator("ul.messages").inner_text()
        assert "已说明（待审核）" in page.locator("#explanation-line").inner_text()
        _no_horizontal_scroll(page)
        assert refused == [(f"{server}/coverage/activities/{activity.pk}/explanations/", 400)]
        assert errors == [REFUSED_CONSOLE], errors
        page.context.close()

        page, errors, refused = _open(browser, server, world.users[Role.SUPERVISOR].username, size)
        queue = page.locator("#explanations-pending")
        assert "执法记录仪" not in queue.inner_text()  # the list shows reason and officer
        assert "其他" in queue.inner_text()
        _no_horizontal_scroll(page)
        queue.locator("a").first.click()
        page.wait_for_url(f"{url}#explanation-*")
        pending = GapExplanation.objects.get(activity=activity, state="pending")
        item = page.locator(f"#explanation-{pending.pk}")
        item.locator("textarea[name=note]").fill("已核对设备日志，情况属实")
        item.locator("button[value=accept]").click()
        page.wait_for_url(url + "#explain")
        assert page.locator("#explanation-line").inner_text() == "已说明（已采纳）"
        assert "已核对设备日志，情况属实" in page.locator("#explain").inner_text()
        page.reload()
        assert page.locator("#explanation-line").inner_text() == "已说明（已采纳）"
        page.goto(server + "/")
        assert page.locator("#explanations-pending").count() == 0
        _no_horizontal_scroll(page)
        assert not refused and not errors, (refused, errors)
    finally:
        connection.close()
