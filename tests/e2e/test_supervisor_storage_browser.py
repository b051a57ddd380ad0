"""Issue 16 items 3 and 4 in Chromium, at tablet (820×1180) and desktop (1440×900) size,
each role's main job end to end (sign in → do the job → see the result), with no console
errors, no sideways scroll and axe-core on every page (tests/e2e/audit.py):

- the supervisor reads today's figures, finds the activity by its number, unlinks its
  recording with a reason (the verdict turns to 未记录), re-checks, reloads (a plain GET
  after the POST), and opens the coverage reports;
- the legal officer places a legal hold on the recording and marks it as evidence;
- the storage admin reads the capacity projection, runs a fixity sweep and sees the hold.

At desktop size the page-load medians of the new pages are written beside the sign-in
page's (same run) to test-artifacts/supervisor-storage-page-loads.json."""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.coverage.models import RecordingLink
from backend.enforcement.models import Activity
from backend.retention.models import EvidenceMark, LegalHold
from backend.retention.services import retention_refresh
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_corrections_browser import (
    LOAD_RUNS,
    SIZES,
    _load_ms,
    _no_horizontal_scroll,
    _open,
)
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

NUMBER = "XZ-2026-1204-02"


@pytest.mark.parametrize("size", ["tablet", "desktop"])
def test_supervisor_legal_and_storage_jobs(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    size: str,
) -> None:
    assert size in SIZES
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        world = e2e_world
        activity = world.extra["activity"]
        recording = world.extra["activity_recording"]
        Activity.objects.filter(pk=activity.pk).update(external_ref=NUMBER)
        retention_refresh(recording_ids=[recording.pk])
        activity_url = f"{server}/activities/{activity.pk}/"

        # -- the supervisor ----------------------------------------------------------------
        page, errors, refused = _open(browser, server, world.users[Role.SUPERVISOR].username, size)
        assert page.locator("#figures #week-chart-table").count() == 1
        assert page.locator("#figures svg.chart line.axis").count() == 2
        _no_horizontal_scroll(page)
        page.goto(server + "/search/")
        page.fill("input[name=q]", NUMBER)
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_selector("#found-activities")
        _no_horizontal_scroll(page)
        page.locator("#found-activities a", has_text=NUMBER).click()
        page.wait_for_url(activity_url)
        assert NUMBER in page.locator(".activity-number").inner_text()
        links = page.locator("#links")
        links.locator("input[name=reason]").first.fill("该片段属于另一次检查")
        links.locator(".unlink-list button[type=submit]").first.click()
        page.wait_for_url(activity_url + "#links")
        assert "已取消关联" in page.locator("ul.messages").inner_text()
        assert page.locator("#verdict").inner_text() == "未记录"
        assert RecordingLink.objects.get(activity=activity, recording=recording).excluded
        _no_horizontal_scroll(page)
        page.click("#recheck")
        page.wait_for_url(activity_url + "#links")
        assert "已重新核查，结论：未记录" in page.locator("ul.messages").inner_text()
        page.reload()  # after the POST: a plain GET, not "Method not allowed"
        assert page.locator("#verdict").inner_text() == "未记录"
        page.goto(server + "/coverage/reports/")
        assert page.locator("#month-chart-table").count() == 1
        assert page.locator("#unit-chart-title").inner_text().startswith("各单位合规率与启用率")
        assert "王执法" in page.locator("#officer-table").inner_text()
        _no_horizontal_scroll(page)
        assert not refused and not errors, (refused, errors)
        page.context.close()

        # -- the legal officer: a hold and an evidence mark ---------------------------------
        page, errors, refused = _open(
            browser, server, world.users[Role.LEGAL_OFFICER].username, size
        )
        page.goto(f"{server}/retention/holds/?recording={recording.pk}")
        form = page.locator("#hold-form")
        form.locator("select[name=target_kind]").select_option("recording")
        form.locator("input[name=reason]").fill("行政诉讼，保全证据")
        form.locator("button[type=submit]").click()
        page.wait_for_url(server + "/retention/holds/")
        assert "已设置保全" in page.locator("ul.messages").inner_text()
        assert "行政诉讼，保全证据" in page.locator("#holds").inner_text()
        mark = page.locator("#mark-form")
        mark.locator("input[name=recording]").fill(str(recording.pk))
        mark.locator("select[name=kind]").select_option("evidence")
        mark.locator("input[name=case_ref]").fill("（2026）甲行初 12 号")
        mark.locator("button[type=submit]").first.click()
        page.wait_for_url(server + "/retention/holds/")
        assert "（2026）甲行初 12 号" in page.locator("#mark-form").inner_text()
        page.reload()
        _no_horizontal_scroll(page)
        assert LegalHold.objects.filter(recording=recording, released_at__isnull=True).exists()
        assert EvidenceMark.objects.filter(recording=recording).exists()
        assert not refused and not errors, (refused, errors)
        page.context.close()

        # -- the storage admin: capacity, fixity, the holds -----------------------------------
        page, errors, refused = _open(
            browser, server, world.users[Role.STORAGE_ADMIN].username, size
        )
        page.goto(server + "/retention/capacity/")
        assert "增长速度按实测计算" in page.locator("#capacity-projection").inner_text()
        assert page.locator("#capacity-chart-table").count() == 1
        _no_horizontal_scroll(page)
        page.goto(server + "/retention/fixity/")
        page.click("#fixity-run")
        page.wait_for_url(server + "/retention/fixity/")
        assert "已校验" in page.locator("ul.messages").inner_text()
        assert page.locator("#fixity-last").inner_text() != "—"
        page.reload()
        _no_horizontal_scroll(page)
        page.goto(server + "/retention/holds/")
        assert "行政诉讼，保全证据" in page.locator("#holds").inner_text()
        assert page.locator("#hold-form").count() == 0
        _no_horizontal_scroll(page)
        assert not refused and not errors, (refused, errors)

        if size == "desktop":
            supervisor, _errors, _refused = _open(
                browser, server, world.users[Role.SUPERVISOR].username, size
            )
            anonymous = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
            pages = {
                "sign-in (reference)": (anonymous.new_page(), server + "/accounts/login/"),
                "/ (dashboard with figures)": (supervisor, server + "/"),
                "/search/?q=<number>": (supervisor, f"{server}/search/?q={NUMBER}"),
                "/activities/<id>/ (link tools)": (supervisor, activity_url),
                "/coverage/reports/": (supervisor, server + "/coverage/reports/"),
                "/retention/capacity/": (page, server + "/retention/capacity/"),
                "/retention/fixity/": (page, server + "/retention/fixity/"),
                "/retention/holds/": (page, server + "/retention/holds/"),
            }
            medians = {}
            for name, (tab, url) in pages.items():
                runs = [_load_ms(tab, url) for _ in range(LOAD_RUNS)]
                medians[name] = round(statistics.median(runs), 1)
            reference = medians["sign-in (reference)"] or 1.0
            figures = {
                name: {"median_ms": ms, "ratio_to_sign_in": round(ms / reference, 2)}
                for name, ms in medians.items()
            }
            (ARTIFACTS / "supervisor-storage-page-loads.json").write_text(
                json.dumps(figures, ensure_ascii=False, indent=1)
            )
            print("page-load medians (ms, ratio to sign-in):", figures)
    finally:
        connection.close()
