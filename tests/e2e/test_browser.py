"""Browser tests: Debian's Chromium, driven by Playwright, against the real ASGI server
(uvicorn) on the test database and the test SeaweedFS. Screenshots go to test-artifacts/.

Needs: apt-get install chromium fonts-wqy-zenhei; pip install playwright (the package
only, never `playwright install`: the browser is Debian's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from backend.accounts.models import Role
from backend.review.models import AccessRegisterEntry
from ops.ports import free_port
from tests.e2e.audit import audited
from tests.review.conftest import PASSWORD, World, make_activity

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def e2e_world(transactional_db: Any, world: World, sample_mp4: Path) -> World:
    world.extra["activity"] = make_activity(world, sample=sample_mp4)
    return world


@pytest.fixture
def server(e2e_world: World, s3: Any) -> Iterator[str]:
    """uvicorn serving backend.config.asgi on a free port, on this test's database."""
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings.test",
        "FV_TEST_DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "FV_S3_ENDPOINT_URL": settings.FV_S3_ENDPOINT_URL,
        "FV_S3_ACCESS_KEY": settings.FV_S3_ACCESS_KEY,
        "FV_S3_SECRET_KEY": settings.FV_S3_SECRET_KEY,
        "FV_ORIGINALS_BUCKET": settings.FV_ORIGINALS_BUCKET,
        "FV_DERIVATIVES_BUCKET": settings.FV_DERIVATIVES_BUCKET,
        "FV_SERVE_STATIC": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "backend.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/accounts/login/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start (see its output above)")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        # A connection the server left behind would block the test database's teardown.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Chromium whose every page is audited by axe-core (tests/e2e/audit.py): a WCAG 2.1
    A/AA violation on any page a test opens fails that test."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install playwright")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield from audited(launched, request.node.nodeid, ARTIFACTS)
        finally:
            launched.close()


def _sign_in(browser: Any, base: str, username: str) -> Any:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1180, "height": 820})
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/")
    return page


def _wait_canplay(page: Any, selector: str = "video#player") -> None:
    page.wait_for_selector(selector, state="attached")
    page.wait_for_function(
        "(s) => { const v = document.querySelector(s); "
        "return v && v.readyState >= 3 && !v.error; }",
        arg=selector,
        timeout=20_000,
    )


def _seek(page: Any, selector: str, seconds: float) -> float:
    """Seek the player and wait for `seeked`: the browser fetches the new position with a
    Range request to the presigned URL; returns where the player landed."""
    return float(
        page.evaluate(
            """([s, t]) => new Promise((resolve, reject) => {
                const v = document.querySelector(s);
                const timer = setTimeout(() => reject(new Error("no seeked event")), 15000);
                v.addEventListener("seeked", () => { clearTimeout(timer); resolve(v.currentTime); },
                                   { once: true });
                v.currentTime = t;
            })""",
            [selector, seconds],
        )
    )


def test_sign_in_timeline_playback_access_request_and_register(
    server: str, browser: Any, e2e_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = e2e_world
    activity = world.extra["activity"]
    recording = world.extra["activity_recording"]

    # Sign in as a supervisor of the bureau; the dashboard shows today's work.
    page = _sign_in(browser, server, world.users[Role.SUPERVISOR].username)
    assert page.locator("h1").first.inner_text() == "工作台"
    page.wait_for_selector("#live-status.ok", timeout=10_000)  # websocket connected
    page.screenshot(path=str(ARTIFACTS / "01-dashboard.png"), full_page=True)

    # Open the activity and see the timeline picture.
    page.goto(server + "/activities/")
    page.click(f"a[href='/activities/{activity.pk}/']")
    page.wait_for_selector("svg.timeline rect.recording")
    assert page.locator("svg.timeline rect.gap").count() >= 2
    assert "电量耗尽" in page.locator("aside.explanations").inner_text()
    # The activity page plays its linked recordings in place, and seeking works.
    page.click(f"button.play-inline[data-recording='{recording.pk}']")
    _wait_canplay(page, "video#activity-player")
    assert abs(_seek(page, "video#activity-player", 2.0) - 2.0) < 0.5
    page.screenshot(path=str(ARTIFACTS / "02-activity-timeline.png"), full_page=True)

    # The recording page: the video element reaches canplay and seeks.
    page.click(f"a.play[href='/recordings/{recording.pk}/']")
    _wait_canplay(page)
    assert abs(_seek(page, "video#player", 1.5) - 1.5) < 0.5
    assert recording.sha256 in page.content()
    assert "存入对象存储" in page.locator("table.custody").inner_text()
    page.screenshot(path=str(ARTIFACTS / "03-recording.png"), full_page=True)

    # A supervisor of another bureau asks to see a recording of this one …
    outsider = world.other_users[Role.SUPERVISOR]
    other_page = _sign_in(browser, server, outsider.username)
    other_page.goto(server + f"/recordings/{recording.pk}/")
    assert "recording_not_found" in other_page.content()
    other_page.goto(server + "/access/")
    other_page.select_option("select[name=requester_kind]", "staff")
    other_page.fill("textarea[name=purpose]", "跨县联合执法复查")
    other_page.fill("textarea[name=recording_ids]", str(recording.pk))
    other_page.click("#request-form button[type=submit]")
    other_page.wait_for_selector("#request-state")
    request_url = other_page.url
    assert "待审批" in other_page.locator("#request-state").inner_text()
    assert other_page.locator("#approve").count() == 0  # never their own approver

    # … the bureau head approves …
    head = _sign_in(browser, server, world.bureau_head.username)
    head.goto(request_url)
    head.fill("input[name=valid_days]", "3")
    head.click("#approve")
    head.wait_for_selector("#grant")
    assert "已批准" in head.locator("#request-state").inner_text()
    head.screenshot(path=str(ARTIFACTS / "04-request-approved.png"), full_page=True)

    # … and the requester plays it under the grant.
    other_page.goto(request_url)
    other_page.click("#request-recordings a")
    _wait_canplay(other_page)
    assert "经批准调阅" in other_page.content()

    # The auditor sees the register entry: who, what, purpose, grant.
    auditor = _sign_in(browser, server, world.users[Role.AUDITOR].username)
    auditor.goto(server + "/register/?q=跨县联合执法复查")
    rows = auditor.locator("table.register tr.entry")
    assert rows.count() == 1
    assert "经批准调阅" in rows.first.inner_text()
    auditor.screenshot(path=str(ARTIFACTS / "05-register.png"), full_page=True)
    # Playwright's sync API keeps an event loop in this thread; the ORM check is synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    entry = AccessRegisterEntry.objects.get(purpose="跨县联合执法复查")
    assert entry.user == outsider and entry.recording == recording and entry.grant is not None
    # The supervisor's in-place play on the activity page was registered as a view too.
    supervisor = world.users[Role.SUPERVISOR]
    assert (
        AccessRegisterEntry.objects.filter(
            user=supervisor, recording=recording, action="view"
        ).count()
        == 2
    )


def test_pages_fit_a_tablet(server: str, browser: Any, e2e_world: World) -> None:
    """Portrait tablet (820×1180, touch): no page scrolls sideways; screenshots saved."""
    world = e2e_world
    activity = world.extra["activity"]
    recording = world.extra["activity_recording"]
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 820, "height": 1180}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.goto(server + "/accounts/login/")
    page.fill("input[name=username]", world.users[Role.SUPERVISOR].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(server + "/")
    for name, path in (
        ("tablet-dashboard", "/"),
        ("tablet-activities", "/activities/"),
        ("tablet-activity", f"/activities/{activity.pk}/"),
        ("tablet-recording", f"/recordings/{recording.pk}/"),
        ("tablet-access", "/access/"),
        ("tablet-register", "/register/"),
    ):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a tablet"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # Touch targets of the main navigation are at least 40 px high.
    heights = page.evaluate(
        "() => [...document.querySelectorAll('.main-nav a')]"
        ".map(a => a.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 40, heights
    context.close()
