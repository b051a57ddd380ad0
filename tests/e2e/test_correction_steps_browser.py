"""One subject from 宣告 to 解除 at phone width (390 px): the correction officer announces
(team and signed 责任书), files a 外出; a supervisor approves it in the approver's queue;
the subject's phone sends positions outside the county during the trip (no alert); the
officer records a warning and, at the end of the term, the release. Axe-audited by
tests/e2e/audit.py like every browser test."""

from __future__ import annotations

import datetime
import json
import urllib.request
import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.corrections.models import (
    CorrectionStep,
    PermissionRequest,
    PositionAlert,
    TrackView,
)
from backend.corrections.services import (
    ScheduleInput,
    area_set,
    positioning_bind,
    subject_create,
)
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_corrections_browser import _no_horizontal_scroll, _open
from tests.factories import make_device, make_officer
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

COUNTY = {
    "type": "Polygon",
    "coordinates": [[[113.0, 23.0], [113.5, 23.0], [113.5, 23.5], [113.0, 23.5], [113.0, 23.0]]],
}


def _local(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M}"


def test_subject_from_announcement_to_release_with_an_approved_trip(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        world = e2e_world
        officer_user = world.users[Role.CORRECTION_OFFICER]
        officer = make_officer(world.office, name="钱矫正")
        officer.user = officer_user
        officer.save(update_fields=["user"])
        today = timezone.localdate()
        subject = subject_create(
            actor=world.users[Role.SYSTEM_ADMIN],
            name="孙五",
            sentence_kind="probation",
            term_start=today - datetime.timedelta(days=180),
            term_end=today,
            office=world.office,
            responsible_officer=officer,
            schedules=[ScheduleInput(kind="check_in", frequency="monthly", times=1)],
        )
        subject.team.add(officer)
        area_set(subject=subject, name="甲县", geometry=COUNTY, actor=officer_user)
        phone, token = make_device(kind="positioning")
        positioning_bind(
            device=phone,
            subject=subject,
            starts_at=timezone.now() - datetime.timedelta(days=1),
            actor=officer_user,
        )
        url = f"{server}/corrections/subjects/{subject.pk}/"

        # The officer announces: the form asks for who was present and the letter.
        page, errors, refused = _open(browser, server, officer_user.username, "phone")
        page.goto(url)
        assert page.locator("#stage").inner_text() == "待宣告"
        assert page.locator("#permission-form").count() == 0  # nothing before 宣告
        page.fill("#step-form input[name=present]", "矫正对象本人、家属、村委会代表")
        page.fill("#step-form input[name=letter_number]", "ZR-2026-018")
        page.click("#step-form button[type=submit]")
        page.wait_for_selector("#stage:text('在矫')")
        assert "ZR-2026-018" in page.locator("#step-list").inner_text()

        # A 外出 for two days, from an hour ago.
        start = timezone.now() - datetime.timedelta(hours=2)
        page.select_option("#permission-form select[name=kind]", "outing")
        page.fill("#permission-form input[name=destination]", "广州市越秀区")
        page.fill("#permission-form textarea[name=reason]", "陪同母亲就医")
        page.fill("#permission-form input[name=starts_at]", _local(start))
        page.fill(
            "#permission-form input[name=ends_at]", _local(start + datetime.timedelta(days=2))
        )
        page.click("#permission-form button[type=submit]")
        page.wait_for_selector("#permission-list:has-text('待审批')")
        # The requester sees it in the queue but cannot decide it.
        page.goto(f"{server}/corrections/permissions/")
        assert "须由他人审批" in page.locator("#permission-queue").inner_text()
        _no_horizontal_scroll(page)

        # A supervisor approves it.
        boss, boss_errors, _refused = _open(
            browser, server, world.users[Role.SUPERVISOR].username, "phone"
        )
        boss.goto(f"{server}/corrections/permissions/")
        assert "孙五" in boss.locator("#permission-queue").inner_text()
        boss.fill("#permission-queue input[name=note]", "同意，按时返回")
        boss.click("#permission-queue button[value=approve]")
        boss.wait_for_selector("#permission-queue:has-text('没有待审批的申请')")
        _no_horizontal_scroll(boss)
        boss.screenshot(path=str(ARTIFACTS / "correction-approvals-phone.png"), full_page=True)
        assert PermissionRequest.objects.get(subject=subject).status == "approved"

        # The subject's phone sends positions from Guangzhou during the trip: no alert.
        body = {
            "device_time": timezone.now().isoformat(),
            "positions": [
                {
                    "id": str(uuid.uuid4()),
                    "recorded_at": (timezone.now() - datetime.timedelta(minutes=m)).isoformat(),
                    "latitude": 23.13,
                    "longitude": 113.9,
                    "source": "gps",
                }
                for m in (50, 40, 30)
            ],
        }
        request = urllib.request.Request(
            f"{server}/api/sync/v1/positions/batch",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert (answer["stored"], answer["alerts_raised"]) == (3, 0)
        assert not PositionAlert.objects.filter(subject=subject).exists()

        # The officer views the day's track: registered with its purpose first.
        page.goto(url)
        page.click("#track-link")
        page.wait_for_selector("#track-form")
        assert page.locator("#track").count() == 0  # nothing shown before the purpose
        page.fill("#track-form input[name=purpose]", "核查外出期间的行踪")
        page.click("#track-form button[type=submit]")
        page.wait_for_selector("#track-registered")
        shown = page.locator("#track-table tbody tr").count()
        assert shown == TrackView.objects.get(subject=subject).positions >= 1
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "correction-track-phone.png"), full_page=True)
        boss.goto(f"{server}/corrections/track-register/")
        assert "核查外出期间的行踪" in boss.locator("#track-register").inner_text()
        _no_horizontal_scroll(boss)

        # A warning, then the release at the end of the term.
        page.goto(url)
        assert "没有未处置的定位提醒" in page.locator("#position-alerts").inner_text()
        page.select_option("#step-form select[name=kind]", "warning")
        page.fill("#step-form textarea[name=reason]", "未按规定时间报到")
        page.click("#step-form button[type=submit]")
        page.wait_for_selector("#step-list:has-text('未按规定时间报到')")
        page.select_option("#step-form select[name=kind]", "release")
        page.click("#step-form button[type=submit]")  # no certificate number: refused
        page.wait_for_selector(".messages:has-text('请填写解除矫正证明书编号')")
        page.select_option("#step-form select[name=kind]", "release")
        page.fill("#step-form input[name=certificate_number]", "JC-2026-007")
        page.click("#step-form button[type=submit]")
        page.wait_for_selector("#stage:text('已解除矫正')")
        assert page.locator("#step-form").count() == 0
        assert list(
            CorrectionStep.objects.filter(subject=subject)
            .order_by("pk")
            .values_list("kind", flat=True)
        ) == ["announcement", "warning", "release"]
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "correction-steps-phone.png"), full_page=True)
        assert not errors and not boss_errors, errors + boss_errors
        assert not [r for r in refused if "/corrections/" in r[0]], refused
    finally:
        connection.close()
