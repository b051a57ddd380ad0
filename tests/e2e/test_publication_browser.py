"""行政执法公示 in the browser, on a phone (390×844): the legal officer opens the
publication queue from the folded menu, publishes a decision, the public (not signed in)
finds it on the public site with the party's name masked and no identity number, the
supervisor withdraws it and the public sees the notice in its place. axe-core audits every
page opened (tests/e2e/audit.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.audit.services import Actor
from backend.publication.models import PublicItem
from backend.publication.services.items import publishable_item_offer
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.publication.conftest import PARTY, PARTY_ADDRESS, PARTY_ID, penalty_offer
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PHONE = {"width": 390, "height": 844}


def _phone(launched: Any) -> Any:
    context = launched.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    return context.new_page()


def _overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")


def test_publish_then_withdraw_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    world = e2e_world
    item = publishable_item_offer(offer=penalty_offer(world.bureau), actor=Actor.system())

    legal = _phone(browser)
    _sign_in(legal, server, world.users[Role.LEGAL_OFFICER].username)
    legal.click("button.menu-toggle")
    legal.click("#site-menu a[href='/publication/']")
    legal.wait_for_url(server + "/publication/")
    assert legal.locator("h1").inner_text() == "行政执法公示"
    row = legal.locator(f"#pending tr[data-item='{item.pk}']")
    assert "剩" in row.inner_text() or "逾期" in row.inner_text()
    assert _overflow(legal) <= 0
    legal.screenshot(path=str(ARTIFACTS / "publication-queue-phone.png"), full_page=True)
    row.locator("button.primary").click()
    legal.wait_for_url(server + "/publication/")
    assert "已公示" in legal.locator("ul.messages").inner_text()
    assert legal.locator(f"#published tr[data-item='{item.pk}']").count() == 1

    public = _phone(browser)
    public.goto(server + "/public/")
    assert public.evaluate("() => document.documentElement.lang") == "zh-Hans"
    assert public.locator("h1").inner_text() == "行政执法决定（结果）公示"
    public.fill("#pub-q", "张某")
    public.click("form[role=search] button[type=submit]")
    public.wait_for_load_state()
    public.click(f"a[href='/public/items/{item.pk}/']")
    public.wait_for_url(f"{server}/public/items/{item.pk}/")
    text = public.locator("main").inner_text()
    assert "张某" in text and "警告，罚款五千元" in text
    for secret in (PARTY, PARTY_ID, PARTY_ADDRESS):
        assert secret not in public.content()
    assert _overflow(public) <= 0
    public.screenshot(path=str(ARTIFACTS / "publication-public-phone.png"), full_page=True)

    supervisor = _phone(browser)
    _sign_in(supervisor, server, world.users[Role.SUPERVISOR].username)
    supervisor.goto(server + "/publication/")
    published = supervisor.locator(f"#published tr[data-item='{item.pk}']")
    published.locator("input[name=reason]").fill("原处罚决定已被依法撤销")
    published.locator("button[type=submit]").click()
    supervisor.wait_for_url(server + "/publication/")
    assert "已撤下" in supervisor.locator("ul.messages").inner_text()

    public.reload()
    assert "原处罚决定已被依法撤销" in public.locator("#withdrawal-notice").inner_text()
    assert "警告，罚款五千元" not in public.content()
    assert PublicItem.objects.get(pk=item.pk).state == "withdrawn"
    # The public site in English, without a sign-in.
    public.click("nav.lang a[hreflang=en]")
    public.wait_for_url(f"{server}/public/items/{item.pk}/")
    assert public.locator("h1").inner_text() == "This item has been withdrawn"
