"""Every role's menu pages on a phone (390×844, touch): the menu folds behind one button, the
header stays under 15 % of the screen, no page is wider than the screen. axe-core audits every
page opened (the `browser` fixture, tests/e2e/audit.py)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PHONE = {"width": 390, "height": 844}


def _overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def _header_height(page: Any) -> float:
    # A print page (the destruction register) has no header at all.
    return float(page.evaluate("() => document.querySelector('header.top')?.offsetHeight ?? 0"))


def test_every_roles_menu_pages_fit_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
) -> None:
    world = e2e_world
    pages_seen = 0
    for role in Role.values:
        context = browser.new_context(
            locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True
        )
        page = context.new_page()
        page.goto(server + "/accounts/login/")
        assert page.evaluate("() => document.documentElement.lang") == "zh-Hans"
        page.fill("input[name=username]", world.users[role].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(server + "/")

        links = page.evaluate(
            "() => [...document.querySelectorAll('#site-menu .main-nav a')]"
            ".map(a => a.getAttribute('href'))"
        )
        assert links, f"{role}: no menu"
        # Folded: the menu is hidden until the button opens it, and the button says so.
        assert not page.is_visible("#site-menu .main-nav a")
        toggle = page.locator("button.menu-toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.tap()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.is_visible("#site-menu .main-nav a")
        heights = page.evaluate(
            "() => [...document.querySelectorAll('#site-menu .main-nav a')]"
            ".map(a => a.getBoundingClientRect().height)"
        )
        assert min(heights) >= 40, f"{role}: touch targets {heights}"

        for href in links:
            response = page.goto(server + href)
            assert response is not None and response.status == 200, (role, href)
            page.wait_for_load_state("networkidle")
            header = _header_height(page)
            assert header < 0.15 * PHONE["height"], f"{role} {href}: header {header}px tall"
            overflow = _overflow(page)
            assert overflow <= 1, f"{role} {href}: page {overflow}px wider than the phone"
            pages_seen += 1
        page.screenshot(path=str(ARTIFACTS / f"phone-{role}.png"), full_page=True)
        context.close()
    assert pages_seen >= 2 * len(Role.values)
