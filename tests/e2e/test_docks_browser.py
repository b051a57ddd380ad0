"""采集工作站 on a phone: a system administrator opens the docks page from the folded menu,
sees the workstation's slots with the camera in each and what is pending, and hands a
camera the dock registered (unassigned) to an officer; its recording is then the
officer's. axe-core audits the page (the `browser` fixture)."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.services import Actor
from backend.devices.services import device_enroll
from backend.footage.models import Recording
from sync.docks import dock_manifest_sync
from sync.schemas import DockCameraIn
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_phone_browser import PHONE, _overflow
from tests.factories import make_officer
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_admin_sees_slots_and_assigns_an_unassigned_camera_on_a_phone(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    admin = e2e_world.users[Role.SYSTEM_ADMIN]
    unit = e2e_world.office
    officer = make_officer(unit, name="接收记录仪的执法人员")
    dock = device_enroll(kind="dock", serial="WS-BROWSER", unit=unit, actor=Actor.system()).device
    start = timezone.now() - datetime.timedelta(hours=2)
    dock_manifest_sync(
        dock=dock,
        device_time=timezone.now(),
        cameras=[
            DockCameraIn.model_validate(
                {
                    "kind": "body_camera",
                    "serial": "ZF-NEW-0001",
                    "slot": "7",
                    "clips": [
                        {
                            "clip_id": "20261205_090000_0001.MP4",
                            "file_name": "20261205_090000_0001.MP4",
                            "size": 2048,
                            "sha256": hashlib.sha256(b"clip").hexdigest(),
                            "recorded_start": start.isoformat(),
                            "recorded_end": (start + datetime.timedelta(minutes=3)).isoformat(),
                            "media_kind": "video",
                        }
                    ],
                }
            )
        ],
    )
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server + "/accounts/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(server + "/")
    page.locator("button.menu-toggle").tap()
    page.locator("#site-menu .main-nav a[href='/docks/']").tap()
    page.wait_for_url(server + "/docks/")
    assert page.locator("h1").inner_text() == "采集工作站"
    slots = page.locator("table.dock-slots").inner_text()
    assert "ZF-NEW-0001" in slots and "待分配" in slots and "1 个文件" in slots
    assert "ZF-NEW-0001" in page.locator("#unassigned").inner_text()
    assert _overflow(page) <= 1, "the page is wider than the phone"
    page.screenshot(path=str(ARTIFACTS / "docks-phone.png"), full_page=True)
    page.select_option("#unassigned select[name=officer]", label=officer.name)
    page.fill(
        "#unassigned input[name=starts_at]",
        timezone.localtime(start - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    page.locator("#unassigned button[type=submit]").tap()
    page.wait_for_url(server + "/docks/")
    assert "1 条音像记录归属该人员" in page.locator("ul.messages").inner_text()
    assert page.locator("#unassigned").count() == 0
    assert officer.name in page.locator("table.dock-slots").inner_text()
    assert Recording.objects.get(clip_id="20261205_090000_0001.MP4").officer == officer
    context.close()
