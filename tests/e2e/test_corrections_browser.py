"""A correction officer's day in the browser, on a tablet (820×1180) and a desktop
(1440×900): the overdue queue and the office's figures, a subject's page, a check-in typed
wrong (Chinese errors, nothing lost) then logged, and the queue refreshing on a live event.
No console errors, no horizontal scroll. Page-load medians per page against the sign-in
page are written to test-artifacts/corrections-page-loads.json."""

from __future__ import annotations

import datetime
import json
import statistics
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.corrections.models import Contact, OverdueAlert
from backend.corrections.services import ScheduleInput, overdue_scan, subject_create
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.factories import make_officer
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SIZES = {"tablet": (820, 1180), "desktop": (1440, 900), "phone": (390, 844)}
LOAD_RUNS = 7


def _subjects(world: World) -> tuple[Any, Any]:
    user = world.users[Role.CORRECTION_OFFICER]
    officer = make_officer(world.office, name="赵矫正")
    officer.user = user
    officer.save(update_fields=["user"])
    today = timezone.localdate()

    def subject(name: str) -> Any:
        return subject_create(
            actor=world.users[Role.SYSTEM_ADMIN],
            name=name,
            sentence_kind="probation",
            term_start=today - datetime.timedelta(days=150),
            term_end=today + datetime.timedelta(days=200),
            office=world.office,
            responsible_officer=officer,
            schedules=[
                ScheduleInput(kind="check_in", frequency="monthly", times=1),
                ScheduleInput(kind="home_visit", frequency="quarterly", times=1),
            ],
            address="城关镇幸福里 3 号",
        )

    return subject("张三"), subject


def _scan() -> None:
    """overdue_scan publishes through async_to_sync, which Playwright's running loop in this
    thread forbids: scan in a thread of its own (and close its connection)."""

    def run() -> None:
        try:
            overdue_scan()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def _open(
    chromium: Any, base: str, username: str, size: str
) -> tuple[Any, list[str], list[tuple[str, int]]]:
    width, height = SIZES[size]
    context = chromium.new_context(locale="zh-CN", viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    refused: list[tuple[str, int]] = []
    page.on("response", lambda r: refused.append((r.url, r.status)) if r.status >= 400 else None)
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")
    return page, errors, refused


def _no_horizontal_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        print(
            page.evaluate(
                """() => { const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)); }"""
            )
        )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def _load_ms(page: Any, url: str) -> float:
    page.goto(url)
    page.wait_for_load_state("load")
    return float(
        page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n.loadEventEnd - n.startTime; }"
        )
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_correction_officer_day(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    size: str,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()  # start from a fresh connection (see test_workcalendar_browser)
    try:
        world = e2e_world
        zhang, new_subject = _subjects(world)
        _scan()
        alerts = OverdueAlert.objects.filter(subject=zhang, resolved_at=None)
        assert alerts.exists()
        page, errors, refused = _open(
            browser, server, world.users[Role.CORRECTION_OFFICER].username, size
        )

        # The nav leads to the correction pages: the queue, the figures, the subjects.
        if page.is_visible("button.menu-toggle"):  # a phone: the menu folds behind a button
            page.click("button.menu-toggle")
        page.click("nav.main-nav a[href='/corrections/']")
        assert page.locator("h1").inner_text() == "社区矫正"
        queue = page.locator("#overdue-queue")
        assert "张三" in queue.inner_text() and "我负责" in queue.inner_text()
        assert page.locator("#figures svg.chart rect.bar").count() == 6
        assert "目标 70 %" in page.locator("#figures svg.chart").inner_html()
        assert page.locator("#chart-table tbody tr").count() == 6
        page.wait_for_selector("#overdue-live.ok", timeout=10_000)  # /ws/corrections/ open
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"corrections-list-{size}.png"), full_page=True)

        # A live event reloads the queue in place (the test's channel layer is in-memory,
        # so the event the socket would deliver is dispatched here; the socket is asserted
        # open above and its delivery in tests/fieldwork/test_corrections.py).
        li = new_subject("李四")
        _scan()
        page.evaluate("() => htmx.trigger(document.body, 'fv-overdue')")
        page.wait_for_function(
            "() => document.querySelector('#overdue-queue').innerText.includes('李四')"
        )

        # The subject's page: schedule, contacts timeline, the overdue periods.
        page.click(f"#subjects a[href='/corrections/subjects/{zhang.pk}/']")
        assert "每月 1 次" in page.locator("#schedules").inner_text()
        assert page.locator("#subject-alerts li").count() == alerts.count()
        assert page.locator("svg.timeline-strip path.alert-mark").count() >= 1

        # A check-in typed wrong: Chinese errors, what was typed is kept.
        alert = alerts.filter(kind="check_in").order_by("-period_start").first()
        assert alert is not None
        when = f"{alert.period_end:%Y-%m-%d}T09:30"
        page.select_option("#log-contact select[name=kind]", "check_in")
        page.fill("#log-contact input[name=started_at]", when)
        page.fill("#log-contact textarea[name=notes]", "本人到所报到，未带身份证")
        page.click("#log-contact button[type=submit]")
        page.wait_for_selector("#log-contact .errorlist")
        assert "报到须记录身份核验方式" in page.locator("#log-contact").inner_text()
        assert (
            page.locator("#log-contact textarea[name=notes]").input_value()
            == "本人到所报到，未带身份证"
        )
        _no_horizontal_scroll(page)

        # Corrected and logged: back on the subject's page (POST-redirect-GET).
        page.select_option("#log-contact select[name=identity_method]", "in_person")
        page.click("#log-contact button[type=submit]")
        page.wait_for_url(f"{server}/corrections/subjects/{zhang.pk}/#contact-*")
        assert "已登记报到" in page.locator("ul.messages").inner_text()
        contact = Contact.objects.get(subject=zhang)
        assert page.locator(f"#contact-{contact.pk}").is_visible()
        assert "本人到所报到" in page.locator(f"#contact-{contact.pk}").inner_text()
        alert.refresh_from_db()
        assert alert.resolved_at is not None
        page.reload()  # a reload after the POST is a plain GET
        assert page.locator("h1").inner_text().startswith("张三")
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"corrections-subject-{size}.png"), full_page=True)
        assert Contact.objects.filter(subject=li).count() == 0

        if size == "desktop":
            anonymous = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
            pages = {
                "sign-in (reference)": (anonymous.new_page(), server + "/accounts/login/"),
                "/corrections/": (page, server + "/corrections/"),
                "/corrections/subjects/<id>/": (page, f"{server}/corrections/subjects/{zhang.pk}/"),
                "/ (dashboard, explanations queue)": (page, server + "/"),
                "/activities/<id>/ (explanations)": (
                    page,
                    f"{server}/activities/{world.extra['activity'].pk}/",
                ),
            }
            medians = {}
            for name, (tab, url) in pages.items():
                runs = [_load_ms(tab, url) for _ in range(LOAD_RUNS)]
                medians[name] = round(statistics.median(runs), 1)
            (ARTIFACTS / "corrections-page-loads.json").write_text(
                json.dumps(medians, ensure_ascii=False, indent=1)
            )
            print("page-load medians (ms):", medians)
        # The one refused request is the invalid form (400, on purpose: the re-rendered form
        # answers with its status); Chromium logs every 4xx document as a console error.
        contacts_url = f"{server}/corrections/subjects/{zhang.pk}/contacts/"
        assert refused == [(contacts_url, 400)], refused
        assert errors == [
            "Failed to load resource: the server responded with a status of 400 (Bad Request)"
        ], errors
    finally:
        connection.close()
