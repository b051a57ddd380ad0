"""The correction officers' pages: subjects, one subject's contacts on a timeline, logging a
check-in/visit/talk from the browser (POST-redirect-GET, Chinese errors keeping what was
typed), the overdue queue and the office's figures with their month chart."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.corrections.models import Contact, OverdueAlert
from backend.corrections.services import ContactInput, contact_write, overdue_scan
from sync.records.models import SyncRecord
from tests.fieldwork.conftest import World, make_subject

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# Six months of figures cost seven queries each, and one more (the positions of 定位率)
# in a month with subjects; nothing grows with the subjects.
LIST_QUERY_BUDGET = 58
DETAIL_QUERY_BUDGET = 20


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides: Any) -> dict[str, Any]:
    start = timezone.localtime() - datetime.timedelta(hours=1)
    data = {
        "kind": "check_in",
        "started_at": f"{start:%Y-%m-%dT%H:%M}",
        "minutes": "15",
        "place": "青山镇司法所",
        "latitude": "30.1",
        "longitude": "120.2",
        "identity_method": "id_card",
        "notes": "按时报到，情绪稳定",
    }
    data.update(overrides)
    return data


@pytest.mark.clock
def test_subject_list_shows_own_office_queue_and_figures(world: World) -> None:
    overdue_scan()
    for number in range(5):  # the page's queries do not grow with the subjects
        make_subject(
            world.north.unit, world.north.officer, actor=world.supervisor, name=f"对象{number}"
        )
    client = _client(world.north.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/corrections/")
    assert response.status_code == 200
    assert len(queries) <= LIST_QUERY_BUDGET, len(queries)
    body = response.content.decode()
    assert world.north.subject.name in body
    assert "对象4" in body
    assert world.south.unit.name not in body  # another office's subjects and figures
    # The figures card with its month chart: axes with units, target line, text alternative.
    assert 'id="figures"' in body and "工作指标" in body
    assert "100 %" in body and "0 %" in body and "目标 70 %" in body
    assert 'aria-describedby="chart-table"' in body and 'id="chart-table"' in body
    # The overdue queue names the subject and is refreshed live.
    open_alerts = OverdueAlert.objects.filter(subject=world.north.subject, resolved_at=None)
    assert open_alerts.exists()
    assert 'hx-trigger="every 30s, fv-overdue from:body"' in body
    assert f'data-alert="{open_alerts.first().pk}"' in body  # type: ignore[union-attr]
    assert "我负责" in body
    # The nav links here for correction officers.
    assert 'href="/corrections/"' in body


@pytest.mark.clock
def test_alert_queue_fragment_is_scoped(world: World) -> None:
    overdue_scan()
    response = _client(world.south.user).get("/corrections/alerts/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    south = OverdueAlert.objects.filter(subject=world.south.subject, resolved_at=None)
    north = OverdueAlert.objects.filter(subject=world.north.subject, resolved_at=None)
    assert all(f'data-alert="{a.pk}"' in body for a in south)
    assert not any(f'data-alert="{a.pk}"' in body for a in north)
    # The supervisor of the bureau sees both offices' alerts.
    both = _client(world.supervisor).get("/corrections/alerts/").content.decode()
    assert all(f'data-alert="{a.pk}"' in both for a in [*south, *north])


@pytest.mark.clock
def test_officer_logs_a_check_in_post_redirect_get(world: World) -> None:
    overdue_scan()
    subject = world.north.subject
    alert = (
        OverdueAlert.objects.filter(subject=subject, kind="check_in", resolved_at=None)
        .order_by("-period_start")
        .first()
    )
    assert alert is not None
    client = _client(world.north.user)
    page = client.get(f"/corrections/subjects/{subject.pk}/")
    assert page.status_code == 200
    assert 'id="log-contact"' in page.content.decode()
    # The check-in is logged late, in the overdue period: the alert resolves at once.
    started = datetime.datetime.combine(
        alert.period_end, datetime.time(10, 0), tzinfo=timezone.get_current_timezone()
    )
    response = client.post(
        f"/corrections/subjects/{subject.pk}/contacts/",
        _form(started_at=f"{started:%Y-%m-%dT%H:%M}"),
    )
    assert response.status_code == 302
    contact = Contact.objects.get(subject=subject)
    assert response["Location"] == f"/corrections/subjects/{subject.pk}/#contact-{contact.pk}"
    assert contact.officer == world.north.officer
    assert contact.identity_method == "id_card"
    assert contact.ended_at - contact.started_at == datetime.timedelta(minutes=15)
    assert contact.crosscheck_status == "no_footage"
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.done == 1
    # Audited and sent to the office's tablets.
    assert AuditEvent.objects.filter(
        action="correction_contact.logged", object_id=str(contact.pk)
    ).exists()
    record = SyncRecord.objects.get(pk=contact.pk)
    assert record.kind == "check_in" and record.unit_id == world.north.unit.pk
    # GET after the redirect: the message and the contact on the timeline.
    with CaptureQueriesContext(connection) as queries:
        shown = client.get(response["Location"])
    assert len(queries) <= DETAIL_QUERY_BUDGET, len(queries)
    body = shown.content.decode()
    assert "已登记报到" in body
    assert f'id="contact-{contact.pk}"' in body
    assert "按时报到，情绪稳定" in body
    assert 'class="contact-mark' in body


@pytest.mark.clock
def test_invalid_input_comes_back_in_chinese_with_what_was_typed(world: World) -> None:
    subject = world.north.subject
    client = _client(world.north.user)
    future = timezone.localtime() + datetime.timedelta(days=2)
    response = client.post(
        f"/corrections/subjects/{subject.pk}/contacts/",
        _form(
            identity_method="",
            started_at=f"{future:%Y-%m-%dT%H:%M}",
            latitude="30.1",
            longitude="",
            notes="没带身份证",
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "报到须记录身份核验方式" in body
    assert "开始时间不能晚于现在" in body
    assert "纬度和经度须同时填写" in body
    assert "没带身份证" in body and 'value="30.1"' in body
    bad_number = client.post(
        f"/corrections/subjects/{subject.pk}/contacts/", _form(minutes="abc", kind="talk")
    )
    assert bad_number.status_code == 400
    assert "输入整数" in bad_number.content.decode()
    assert not Contact.objects.filter(subject=subject).exists()


@pytest.mark.clock
def test_crosscheck_flags_are_shown(world: World) -> None:
    subject = world.north.subject
    started = timezone.now() - datetime.timedelta(hours=2)
    contact_write(
        kind="check_in",
        record_id=uuid.uuid4(),
        officer=world.north.officer,
        device=None,
        values=ContactInput(
            subject_id=subject.pk,
            started_at=started,
            ended_at=started + datetime.timedelta(minutes=5),
            device_started_at=None,
            device_ended_at=None,
            place="",
            latitude=None,
            longitude=None,
            notes="",
            identity_method="video_call",
            photo_recording_id=None,
            recording_ids=(),
        ),
        existing=False,
    )
    body = _client(world.supervisor).get(f"/corrections/subjects/{subject.pk}/").content.decode()
    assert 'id="subject-flagged"' in body
    assert "以视频通话核验身份，报到须本人到场" in body
    assert "音像核验：不一致" in body
    assert 'class="contact-mark flagged"' in body


def test_scope_supervisor_reads_but_does_not_log_other_office_404(world: World) -> None:
    north = world.north.subject
    # Another office's subject does not exist for a correction officer.
    south_client = _client(world.south.user)
    assert south_client.get(f"/corrections/subjects/{north.pk}/").status_code == 404
    assert (
        south_client.post(f"/corrections/subjects/{north.pk}/contacts/", _form()).status_code == 404
    )
    assert south_client.get("/corrections/subjects/not-a-uuid/").status_code == 404
    # The supervisor reads the subject but logs no contact (no form, 403).
    supervisor = _client(world.supervisor)
    page = supervisor.get(f"/corrections/subjects/{north.pk}/").content.decode()
    assert north.name in page and 'id="log-contact"' not in page
    refused = supervisor.post(f"/corrections/subjects/{north.pk}/contacts/", _form())
    assert refused.status_code == 403
    assert "只有本司法所的矫正工作人员可以登记工作记录" in refused.content.decode()
    assert not Contact.objects.exists()


@pytest.mark.clock
def test_pages_read_in_english(world: World) -> None:
    overdue_scan()
    client = _client(world.north.user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/corrections/").content.decode()
    assert "Community correction" in page and "target 70 %" in page
    assert "days overdue" in page or "day overdue" in page
    assert "社区矫正" not in page
    bad = client.post(
        f"/corrections/subjects/{world.north.subject.pk}/contacts/",
        _form(identity_method="", latitude="", longitude="1"),
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Enter latitude and longitude together" in text
    assert "Contacts timeline" in text
