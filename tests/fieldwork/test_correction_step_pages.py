"""The steps, approvals and position alerts on the subject's page and the approver's queue:
scoped to the office and its supervisors, in Chinese and English, a fixed number of
queries whatever the number of rows."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.corrections.models import PermissionRequest, PositionAlert, StepKind
from backend.corrections.services import permission_request, step_record
from tests.fieldwork.conftest import World


def _client(user: Any, language: str = "zh-hans") -> Client:
    client = Client()
    client.force_login(user)
    if language != "zh-hans":
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def _announce(world: World) -> None:
    subject = world.north.subject
    subject.team.add(world.north.officer)
    step_record(
        subject=subject,
        kind=StepKind.ANNOUNCEMENT,
        on_date=subject.term_start,
        actor=world.north.user,
        present="本人、家属",
        letter_number="ZR-9",
    )


def _trips(world: World, n: int) -> None:
    now = timezone.now()
    for i in range(n):
        permission_request(
            subject=world.north.subject,
            kind="outing",
            reason=f"事由{i}",
            destination="省城",
            starts_at=now + datetime.timedelta(days=i),
            ends_at=now + datetime.timedelta(days=i, hours=5),
            actor=world.north.user,
        )


def _alert(world: World, kind: str) -> None:
    now = timezone.now()
    PositionAlert.objects.create(
        subject=world.north.subject,
        office=world.north.unit,
        kind=kind,
        first_at=now,
        last_at=now,
    )


def _queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_subject_page_shows_steps_approvals_alerts_in_fixed_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    _announce(world)
    _trips(world, 1)
    _alert(world, "left_area")
    url = f"/corrections/subjects/{world.north.subject.pk}/"
    client = _client(world.north.user)
    few, _html = _queries(client, url)
    _trips(world, 8)
    _alert(world, "strap_off")
    step_record(
        subject=world.north.subject,
        kind=StepKind.WARNING,
        on_date=timezone.localdate(),
        actor=world.north.user,
        reason="未按时报到",
    )
    many, html = _queries(client, url)
    assert many == few, "the subject page's queries grow with its rows"
    with django_assert_max_num_queries(30):
        client.get(url)
    assert "在矫" in html and "ZR-9" in html and "未按时报到" in html
    assert html.count('class="position-alert"') == 2
    assert "待审批" in html
    english = _client(world.north.user, "en").get(url).content.decode()
    assert "Under correction" in english and "Leave to travel" in english
    assert "Left the allowed area" in english


def test_the_approvers_queue_is_scoped_and_the_requester_cannot_decide(
    world: World, django_assert_max_num_queries: Any
) -> None:
    _announce(world)
    _trips(world, 3)
    south = world.south.subject
    south.team.add(world.south.officer)
    step_record(
        subject=south,
        kind=StepKind.ANNOUNCEMENT,
        on_date=south.term_start,
        actor=world.south.user,
        present="本人",
        letter_number="ZR-S",
    )
    now = timezone.now()
    permission_request(
        subject=south,
        kind="visitor",
        reason="亲属来访",
        destination="王某",
        starts_at=now,
        ends_at=now + datetime.timedelta(hours=2),
        actor=world.south.user,
    )
    boss = _client(world.supervisor)
    with django_assert_max_num_queries(12):
        html = boss.get("/corrections/permissions/").content.decode()
    assert html.count('id="permission-') == 1 + 4  # the list and four requests
    north = _client(world.north.user).get("/corrections/permissions/").content.decode()
    assert "亲属来访" not in north and "须由他人审批" in north
    # Another office's request answers 404 to the north officer; the requester 403.
    other = PermissionRequest.objects.get(subject=south)
    response = _client(world.north.user).post(
        f"/corrections/permissions/{other.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 404
    own = PermissionRequest.objects.filter(subject=world.north.subject).first()
    assert own is not None
    response = _client(world.north.user).post(
        f"/corrections/permissions/{own.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 403
    response = boss.post(f"/corrections/permissions/{own.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.status == "approved" and own.decided_by == world.supervisor
