"""Supervisors' tools on the activity page (issue 16 item 3): unlink and link a recording
with a reason, re-check; each posts and redirects back (reloading never re-posts); invalid
forms come back in Chinese with what was typed. The activity number works in the address
and in the access-request form."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.coverage.models import RecordingLink
from backend.enforcement.models import Activity
from backend.review.models import AccessRequest
from tests.review.conftest import World, make_activity, store_recording

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

ACTIVITY_QUERY_BUDGET = 45


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_supervisor_unlinks_links_and_rechecks(world: World) -> None:
    activity = make_activity(world)
    recording = world.extra["activity_recording"]
    url = f"/activities/{activity.pk}/"
    supervisor = _client(world.users[Role.SUPERVISOR])
    # A second clip of the officer, near the activity, not linked: a candidate.
    spare = store_recording(
        device=world.device,
        officer=world.officer,
        started_at=activity.started_at + datetime.timedelta(minutes=21),
        minutes=8,
        file_name="DSJ_0002.mp4",
    )
    with CaptureQueriesContext(connection) as queries:
        page = supervisor.get(url).content.decode()
    assert len(queries) <= ACTIVITY_QUERY_BUDGET, len(queries)
    assert 'id="links"' in page and 'id="recheck"' in page
    assert f'<option value="{spare.pk}">' in page  # the candidate is offered
    assert f'<option value="{recording.pk}">' not in page  # the linked one is not

    # Unlink without a reason: 400 with the reason asked for in Chinese; nothing changes.
    bad = supervisor.post(f"/coverage/activities/{activity.pk}/links/{recording.pk}/remove/", {})
    assert bad.status_code == 400 and "请填写取消关联原因" in bad.content.decode()
    assert RecordingLink.objects.filter(activity=activity, excluded=False).count() == 1
    done = supervisor.post(
        f"/coverage/activities/{activity.pk}/links/{recording.pk}/remove/",
        {"reason": "该片段属于另一次检查"},
    )
    assert done.status_code == 302 and done["Location"] == url + "#links"
    assert RecordingLink.objects.get(activity=activity, recording=recording).excluded
    after = supervisor.get(url).content.decode()
    assert "已取消关联" in after and "未记录" in after  # no recording left: not recorded

    # Link: with neither a candidate nor a number, and without a reason, comes back typed.
    bad = supervisor.post(f"/coverage/activities/{activity.pk}/links/", {"recording": "abc"})
    body = bad.content.decode()
    assert bad.status_code == 400 and "请填写关联原因" in body and 'value="abc"' in body
    unknown = supervisor.post(
        f"/coverage/activities/{activity.pk}/links/", {"recording": "abc", "reason": "补录"}
    )
    assert unknown.status_code == 400 and "没有该音像记录" in unknown.content.decode()
    linked = supervisor.post(
        f"/coverage/activities/{activity.pk}/links/",
        {"candidate": str(spare.pk), "reason": "设备时间偏差，人工确认属于本次检查"},
    )
    assert linked.status_code == 302
    link = RecordingLink.objects.get(activity=activity, recording=spare)
    assert not link.excluded and link.reason.startswith("设备时间偏差")
    # Re-check: redirects with the verdict in words; reloading the page is a plain GET.
    rechecked = supervisor.post(f"/coverage/activities/{activity.pk}/recheck/", follow=True)
    assert rechecked.status_code == 200
    assert "已重新核查，结论：" in rechecked.content.decode()
    assert rechecked.redirect_chain[-1] == (url + "#links", 302)
    assert supervisor.get(url).status_code == 200
    actions = set(
        AuditEvent.objects.filter(object_id__in=[str(activity.pk)]).values_list("action", flat=True)
    ) | set(
        AuditEvent.objects.filter(object_id__in=[str(spare.pk), str(recording.pk)]).values_list(
            "action", flat=True
        )
    )
    assert any("link" in a for a in actions), actions


def test_field_officer_and_other_bureau_may_not_link(world: World) -> None:
    activity = make_activity(world)
    recording = world.extra["activity_recording"]
    officer = _client(world.users[Role.FIELD_OFFICER])
    assert 'id="links"' not in officer.get(f"/activities/{activity.pk}/").content.decode()
    refused = officer.post(f"/coverage/activities/{activity.pk}/recheck/")
    assert refused.status_code == 403
    outsider = _client(world.other_users[Role.SUPERVISOR])
    hidden = outsider.post(
        f"/coverage/activities/{activity.pk}/links/{recording.pk}/remove/", {"reason": "x"}
    )
    assert hidden.status_code == 404
    assert not RecordingLink.objects.get(activity=activity, recording=recording).excluded


def test_activity_number_in_the_address_and_the_access_form(world: World) -> None:
    activity = make_activity(world)
    Activity.objects.filter(pk=activity.pk).update(external_ref="XZ-2026-1204-02")
    legal = _client(world.users[Role.LEGAL_OFFICER])
    page = legal.get("/activities/XZ-2026-1204-02/")
    assert page.status_code == 200 and "XZ-2026-1204-02" in page.content.decode()
    form = {
        "requester_kind": "procuratorate",
        "applicant_name": "孙检察",
        "applicant_id_number": "110101199001011234",
        "purpose": "审查起诉",
        "activity_id": "XZ-2026-1204-99",
    }
    unknown = legal.post("/access/", form)
    body = unknown.content.decode()
    assert unknown.status_code == 400 and "没有该执法活动" in body
    assert 'value="XZ-2026-1204-99"' in body and "孙检察" in body  # what was typed stays
    made = legal.post("/access/", {**form, "activity_id": "XZ-2026-1204-02"})
    assert made.status_code == 302, made.content.decode()[:2000]
    created = AccessRequest.objects.order_by("-created_at").first()
    assert created is not None
    assert list(created.recordings.values_list("pk", flat=True)) == [
        world.extra["activity_recording"].pk
    ]


def test_damaged_recording_is_reprocessed_by_those_allowed(world: World) -> None:
    from backend.footage.models import RecordingProcessing

    own = world.recordings["own"]
    RecordingProcessing.objects.create(
        recording=own, state="damaged", reason_code="moov_missing", attempts=3
    )
    url = f"/recordings/{own.pk}/"
    officer = _client(world.users[Role.FIELD_OFFICER])
    assert 'id="reprocess"' not in officer.get(url).content.decode()
    assert officer.post(url + "reprocess/").status_code == 403
    assert _client(world.other_users[Role.SUPERVISOR]).post(url + "reprocess/").status_code == 404
    supervisor = _client(world.users[Role.SUPERVISOR])
    page = supervisor.get(url).content.decode()
    assert 'id="reprocess"' in page and 'id="damage-reason"' in page
    done = supervisor.post(url + "reprocess/")
    assert done.status_code == 302 and done["Location"] == url
    processing = RecordingProcessing.objects.get(recording=own)
    assert processing.state == "pending" and processing.attempts == 0
    event = AuditEvent.objects.filter(
        action="recording.processing_queued", object_id=str(own.pk)
    ).latest("sequence")
    assert event.data["reprocess"] is True
    after = supervisor.get(url).content.decode()
    assert "已重新排队处理" in after and 'id="reprocess"' not in after
    # Pending now: a second post is refused in words (409), nothing queued twice.
    again = supervisor.post(url + "reprocess/")
    assert again.status_code == 409


def test_access_form_picks_activities_and_recordings_by_search(world: World) -> None:
    activity = make_activity(world)
    Activity.objects.filter(pk=activity.pk).update(external_ref="XZ-2026-1204-02")
    recording = world.extra["activity_recording"]
    legal = _client(world.users[Role.LEGAL_OFFICER])
    found = legal.get("/access/", {"find": "XZ-2026-1204-02"}).content.decode()
    results = found.split('id="pick-results"', 1)[1].split("</div>", 1)[0]
    assert "?activity=XZ-2026-1204-02#request-form" in results
    assert f"recording={recording.pk}" in results  # the linked clip, to add one by one
    picked = legal.get("/access/", {"activity": "XZ-2026-1204-02"}).content.decode()
    assert 'name="activity_id" value="XZ-2026-1204-02"' in picked
    by_officer = legal.get("/access/", {"find": "王执法"}).content.decode()
    assert recording.file_name in by_officer.split('id="pick-results"', 1)[1]
    chosen = legal.get(
        "/access/", {"find": "王执法", "recording": str(recording.pk)}
    ).content.decode()
    assert "已选" in chosen and str(recording.pk) in chosen.split('name="recording_ids"', 1)[1]
