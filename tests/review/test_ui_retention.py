"""The review UI and the retention app together: the top navigation links each retention
page exactly for the users the page lets in, and the recording page shows the recording's
retention date, its reason and any legal hold, as the retention app computed them."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.retention.models import RecordingRetention, RetentionPolicy
from backend.retention.services import (
    evidence_mark_add,
    legal_hold_place,
    legal_hold_release,
    retention_approver_designate,
    retention_refresh,
)
from tests.factories import make_user
from tests.review.conftest import World, make_activity

pytestmark = pytest.mark.django_db

RETENTION_PAGES = {
    "policies": "/retention/policies/",
    "destruction": "/retention/destruction/",
    "capacity": "/retention/capacity/",
    "register": "/retention/register/print/",
}
NAV = re.compile(r'<nav class="main-nav">(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


def _client(user: User, *, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _nav_links(client: Client) -> set[str]:
    page = client.get("/")
    assert page.status_code == 200
    found = NAV.search(page.content.decode())
    assert found, "the dashboard has no main navigation"
    return set(HREF.findall(found.group(1)))


def test_navigation_links_each_retention_page_exactly_for_the_users_it_lets_in(
    world: World,
) -> None:
    approver = make_user(role=Role.SUPERVISOR, unit=world.bureau, username="leader-in-charge")
    retention_approver_designate(
        actor=world.users[Role.SYSTEM_ADMIN], user=approver, title="分管副局长"
    )
    users = {role: world.users[role] for role in Role.values} | {"approver": approver}
    expected = {
        Role.FIELD_OFFICER: set(),
        Role.CORRECTION_OFFICER: set(),
        Role.SUPERVISOR: set(),
        Role.LEGAL_OFFICER: set(),
        Role.AUDITOR: {"register"},
        Role.STORAGE_ADMIN: {"policies", "destruction", "capacity"},
        Role.SYSTEM_ADMIN: {"policies", "destruction", "capacity"},
        "approver": {"destruction"},
    }
    assert set(expected) == set(users)
    for who, user in users.items():
        client = _client(user)
        links = _nav_links(client)
        shown = {name for name, url in RETENTION_PAGES.items() if url in links}
        assert shown == expected[who], who
        # A link is shown only where the page answers, and every shown page answers 200.
        for name, url in RETENTION_PAGES.items():
            status = client.get(url).status_code
            if name in shown:
                assert status == 200, (who, url, status)
            elif name != "register":  # the register is reached from the destruction page
                assert status == 403, (who, url, status)
    # Withdrawing the designation takes the link away with the right.
    from backend.retention.models import RetentionApprover

    RetentionApprover.objects.filter(user=approver).update(active=False)
    assert RETENTION_PAGES["destruction"] not in _nav_links(_client(approver))
    assert _client(approver).get(RETENTION_PAGES["destruction"]).status_code == 403


def _page(client: Client, recording_id: Any) -> str:
    response = client.get(f"/recordings/{recording_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</dd>', html, re.S)
    assert found, element_id
    return found.group(1)


@pytest.mark.clock
def test_recording_page_shows_retention_date_reason_and_legal_hold(world: World) -> None:
    activity = make_activity(world)
    recording = world.extra["activity_recording"]
    supervisor = world.users[Role.SUPERVISOR]
    client = _client(supervisor)

    # Before the retention app has computed anything, the page says so instead of guessing.
    RecordingRetention.objects.filter(recording=recording).delete()
    html = _page(client, recording.pk)
    assert "尚未确定" in _section(html, "retention-until")
    assert "未保全" in _section(html, "legal-hold")

    # Three policies apply to the linked recording (default, its enforcement category and
    # its verdict): the longest one wins, and the page shows its date and reason.
    RetentionPolicy.objects.create(
        category="enforcement:行政检查", name="行政检查音像记录", period_days=730
    )
    (row,) = retention_refresh(recording_ids=[recording.pk])
    verdicts = [c for c in row.categories.split(",") if c.startswith("verdict:")]
    assert verdicts, row.categories
    RetentionPolicy.objects.create(category=verdicts[0], name="检查结论复核", period_days=400)
    (row,) = retention_refresh(recording_ids=[recording.pk])
    assert row.retention_until == row.anchor_at + datetime.timedelta(days=730)

    html = _page(client, recording.pk)
    # The page shows the date in the user's zone (Asia/Shanghai), as the product does.
    local_until = timezone.localtime(row.retention_until).strftime("%Y-%m-%d")
    assert local_until in _section(html, "retention-until")
    reason = _section(html, "retention-reason")
    assert "行政检查音像记录" in reason and "730" in reason and "检查结论复核" not in reason
    categories = _section(html, "retention-categories")
    assert "default" in categories and "enforcement:行政检查" in categories
    assert verdicts[0] in categories
    assert "对象锁定已至" not in reason

    # A hold on the activity covers the linked recording at once (asked of the retention
    # app, not read from a cached flag); the page names the hold and its reason.
    legal = world.users[Role.LEGAL_OFFICER]
    hold = legal_hold_place(
        actor=legal, target_kind="activity", reference=str(activity.pk), reason="行政复议保全"
    )
    held = _section(_page(client, recording.pk), "legal-hold")
    assert "保全中" in held and "行政复议保全" in held and "执法活动" in held
    # The officer who made it learns that it is held, not why or by whom (a hold may
    # concern the officer).
    officer_view = _section(
        _page(_client(world.users[Role.FIELD_OFFICER]), recording.pk), "legal-hold"
    )
    assert "保全中" in officer_view and "行政复议保全" not in officer_view
    assert legal.username not in officer_view
    # Another recording of the unit is not covered by that hold.
    own = world.recordings["own"]
    assert "未保全" in _section(_page(client, own.pk), "legal-hold")
    legal_hold_release(actor=supervisor, hold_id=hold.pk, reason="复议结束")
    assert "未保全" in _section(_page(client, recording.pk), "legal-hold")

    # A lock already extended beyond the policy's date: the later date is shown and why.
    later = row.policy_until + datetime.timedelta(days=100)
    RecordingRetention.objects.filter(pk=row.pk).update(
        lock_until_applied=later, retention_until=later
    )
    html = _page(client, recording.pk)
    later_local = timezone.localtime(later).strftime("%Y-%m-%d")
    assert later_local in _section(html, "retention-until")
    assert "对象锁定已至 " + later_local in _section(html, "retention-reason")

    # Marked as evidence: the permanent evidence policy beats every period.
    legal_hold_place(
        actor=legal, target_kind="recording", recording_id=recording.pk, reason="证据保全"
    )
    evidence_mark_add(actor=legal, recording_id=recording.pk, kind="evidence")
    html = _page(client, recording.pk)
    assert "永久保存" in _section(html, "retention-until")
    assert "evidence" in _section(html, "retention-categories")
    assert "证据保全" in _section(html, "legal-hold")

    # In English the labels are English (the reason stays as the retention app wrote it).
    english = _page(_client(supervisor, language="en"), recording.pk)
    assert "Retention and legal hold" in english
    assert "Kept permanently" in _section(english, "retention-until")
    assert "Under legal hold" in _section(english, "legal-hold")


def test_recording_page_never_shows_retention_of_a_recording_out_of_scope(world: World) -> None:
    other = world.recordings["other"]
    retention_refresh(recording_ids=[other.pk])
    response = _client(world.users[Role.SUPERVISOR]).get(f"/recordings/{other.pk}/")
    assert response.status_code == 404
    assert b"retention-until" not in response.content
