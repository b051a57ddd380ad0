"""The case library in the browser, on a phone (390×844): a correction officer opens the
library from the folded menu, selects a subject's record (宣告, 警告, 提请收监执行) as a
typical case, checks the side-by-side de-identification and submits under her name; the
bureau's supervisor reviews and accepts it; the case is found by full text with the alias
in place of the name. axe-core audits every page opened (tests/e2e/audit.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role, User
from backend.caselibrary.models import LibraryCase
from tests.caselibrary.conftest import (
    SUBJECT_ID,
    SUBJECT_NAME,
    SUBJECT_PHONE,
    record_subject,
    seed_library_tree,
)
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_publication_browser import _overflow, _phone, _sign_in
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_select_deidentify_submit_and_accept_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()  # a fresh connection: an earlier browser test's server ended ours
    seed_library_tree()  # a transactional test earlier in the suite flushed the migration's seeds
    world = e2e_world
    author = world.users[Role.CORRECTION_OFFICER]
    reviewer = world.users[Role.SUPERVISOR]
    User.objects.filter(pk=author.pk).update(first_name="覃矫正")
    User.objects.filter(pk=reviewer.pk).update(first_name="陆县审")
    subject = record_subject(world.office, author)

    page = _phone(browser)
    _sign_in(page, server, author.username)
    page.click("button.menu-toggle")
    page.click("#site-menu a[href='/library/']")
    page.wait_for_url(server + "/library/")
    assert page.locator("h1").inner_text() == "案例库"
    page.goto(f"{server}/corrections/subjects/{subject.pk}/")
    page.click("#select-for-library")
    page.wait_for_url(f"{server}/library/new/?subject={subject.pk}")
    page.select_option("select[name=category]", "correction-revocation")
    page.get_by_label("收监执行", exact=True).check()
    page.click("#start-form button[type=submit]")
    page.wait_for_url("**/masking/")
    diff = page.locator("#masking-diff").inner_text()
    assert "韦某" in diff and SUBJECT_NAME in diff  # the original beside the alias
    assert page.locator("#detector-clean").count() == 1
    assert _overflow(page) <= 0
    page.screenshot(path=str(ARTIFACTS / "caselibrary-masking-phone.png"), full_page=True)
    page.click("#back-to-case")
    page.click("#submit-form button[type=submit]")
    page.wait_for_load_state()
    assert "已署名报送评审" in page.locator("ul.messages").inner_text()
    case = LibraryCase.objects.get(source_subject=subject)

    review = _phone(browser)
    _sign_in(review, server, reviewer.username)
    review.goto(server + "/library/drafts/")
    review.click(f"#review-queue a[href='/library/{case.pk}/']")
    review.wait_for_url(f"{server}/library/{case.pk}/")
    assert "覃矫正" in review.locator("#history").inner_text()
    review.fill("#review-form textarea[name=comments]", "程序规范，同意入库")
    review.click("#approve")
    review.wait_for_url(f"{server}/library/{case.pk}/")
    assert "案例入库" in review.locator("ul.messages").inner_text()
    assert review.locator("#case-state").inner_text() == "已入库"

    review.goto(server + "/library/")
    review.fill("input[name=q]", "收监执行")
    review.click("#library-search button[type=submit]")
    review.wait_for_load_state()
    review.click(f"#library-rows a[href='/library/{case.pk}/']")
    review.wait_for_url(f"{server}/library/{case.pk}/")
    text = review.locator("main").inner_text()
    assert "韦某" in text
    for secret in (SUBJECT_NAME, SUBJECT_ID, SUBJECT_PHONE):
        assert secret not in text
    assert _overflow(review) <= 0
    review.screenshot(path=str(ARTIFACTS / "caselibrary-accepted-phone.png"), full_page=True)
