"""Menus show only what the role may open (issue 26, item 4): for every role, every link in
the top navigation answers 200 to that role (a redirect to another page the role may open
counts as opening it), and a role's menu holds the pages the role works with."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from backend.accounts.models import Role
from tests.review.conftest import World

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="main-nav">(.*?)</nav>', re.S)
HREF = re.compile(r'href="(/[^"#]*)"')


def _menu(client: Client) -> list[str]:
    page = client.get("/").content.decode()
    found = NAV.search(page)
    assert found is not None, "the dashboard has no main navigation"
    return [link.replace("&amp;", "&") for link in HREF.findall(found.group(1))]


def _open(client: Client, link: str) -> Any:
    response = client.get(link)
    if response.status_code in (301, 302):
        response = client.get(response["Location"])
    return response


def _opens(client: Client, link: str) -> int:
    return int(_open(client, link).status_code)


# Every page declares its language (issue 27 item 3): zh-Hans, or en when the user chose
# English. The destruction register is a Chinese official document printed as it is filed.
LANG = re.compile(r"<html lang=\"([^\"]+)\">")
CHINESE_DOCUMENTS = {"/retention/register/print/"}


def _lang(response: Any) -> str | None:
    found = LANG.search(response.content.decode()[:400])
    return found.group(1) if found else None


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_menu_link_opens_for_the_role(world: World, role: str) -> None:
    client = _client(world.users[role])
    menu = _menu(client)
    assert menu, role
    opened = {link: _open(client, link) for link in menu}
    refused = {link: r.status_code for link, r in opened.items() if r.status_code != 200}
    assert not refused, (role, refused)
    undeclared = {link: _lang(r) for link, r in opened.items() if _lang(r) != "zh-Hans"}
    assert not undeclared, (role, undeclared)


def test_every_menu_page_declares_english_when_chosen(world: World) -> None:
    """Each distinct menu page (by the first role whose menu has it) read in English."""
    seen: dict[str, str | None] = {}
    for role in Role.values:
        client = _client(world.users[role])
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        for link in _menu(client):
            if link not in seen:
                seen[link] = _lang(_open(client, link))
    expected = {link: "zh-Hans" if link in CHINESE_DOCUMENTS else "en" for link in seen}
    assert seen == expected
    assert len(seen) >= 25, sorted(seen)  # 29 pages in all menus today


def test_menus_differ_by_role(world: World) -> None:
    """The check above cannot pass by showing nothing: each role sees its own pages."""
    menus = {role: set(_menu(_client(world.users[role]))) for role in Role.values}
    assert "/audit/" in menus[Role.AUDITOR] and "/audit/" not in menus[Role.SUPERVISOR]
    assert "/storage/" in menus[Role.STORAGE_ADMIN]
    assert "/register/" not in menus[Role.STORAGE_ADMIN]
    assert "/recordings/" in menus[Role.SUPERVISOR]
    assert "/approvers/" in menus[Role.SYSTEM_ADMIN]
    assert "/approvers/" not in menus[Role.FIELD_OFFICER]


# Each menu page's query count, fixed (issue 26 item 5): a page that starts issuing a query
# per row fails here at the world's size. Pages not named get DEFAULT_BUDGET.
DEFAULT_BUDGET = 20
BUDGETS: dict[str, int] = {}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_menu_page_keeps_its_query_budget(world: World, role: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(world.users[role])
    over = {}
    for link in _menu(client):
        client.get(link)  # session, caches
        with CaptureQueriesContext(connection) as captured:
            client.get(link, follow=True)
        budget = BUDGETS.get(link.split("?")[0], DEFAULT_BUDGET)
        if len(captured.captured_queries) > budget:
            over[link] = len(captured.captured_queries)
    assert not over, (role, over)
