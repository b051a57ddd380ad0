"""The retention API: roles, the error shape, exports and the capacity page."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from backend.accounts.models import Role, User
from backend.retention.selectors import capacity_report, linear_fit
from tests.factories import make_user
from tests.retention.conftest import StoreRecording

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_policy_preview_and_shortening_refusal_over_http(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    recording = store_recording()
    client = client_for(storage_admin)
    preview = client.post(
        "/api/retention/policies/preview",
        {"category": "default", "period_days": 500},
        content_type="application/json",
    )
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["total_changed"] == 1 and body["changes"][0]["recording_id"] == str(recording.pk)
    applied = client.put(
        "/api/retention/policies/default",
        {"name": "默认", "period_days": 500},
        content_type="application/json",
    )
    assert applied.status_code == 200
    refused = client.put(
        "/api/retention/policies/default",
        {"name": "默认", "period_days": 30},
        content_type="application/json",
    )
    assert refused.status_code == 409
    error = refused.json()
    assert error["code"] == "policy_would_shorten" and "不能缩短" in error["message"]
    assert error["details"]["examples"] == [str(recording.pk)]
    shown = client.get(f"/api/retention/recordings/{recording.pk}").json()
    assert shown["reason"].startswith("默认") and shown["retention_until"] == shown["lock_until"]
    bad = client.post(
        "/api/retention/policies/preview",
        {"category": "default", "period_days": -3},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_roles(store_recording: StoreRecording, make_approver: Callable[[], User]) -> None:
    store_recording()
    officer = client_for(make_user(role=Role.FIELD_OFFICER))
    assert officer.get("/api/retention/capacity").json()["code"] == "not_storage_admin"
    assert (
        officer.post(
            "/api/retention/destruction/batches", {}, content_type="application/json"
        ).status_code
        == 403
    )
    assert officer.get("/api/retention/register.xlsx").status_code == 403
    approver = client_for(make_approver())
    assert approver.get("/api/retention/register").status_code == 200
    assert approver.get("/api/retention/capacity").status_code == 403  # storage facts only


def test_preparing_nothing_due_and_refusals_use_the_error_shape(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    recording = store_recording()  # retention runs 184 days
    client = client_for(storage_admin)
    nothing = client.post("/api/retention/destruction/batches", {}, content_type="application/json")
    assert nothing.status_code == 400 and nothing.json()["code"] == "nothing_due"
    refused = client.post(
        "/api/retention/destruction/batches",
        {"recording_ids": [str(recording.pk)]},
        content_type="application/json",
    )
    assert refused.status_code == 409
    assert refused.json()["details"]["refusals"][0]["code"] == "retention_not_expired"


def test_capacity_figures_command_page_and_register_exports(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    a = store_recording(size=1000)
    store_recording(size=3000)
    report = capacity_report()
    assert report.total_count == 2 and report.total_bytes == 4000
    assert report.by_unit[0]["bytes"] == 4000
    assert report.growth[-1]["added_bytes"] == 4000 and report.growth[-1]["total_bytes"] == 4000
    client = client_for(storage_admin)
    assert client.get("/api/retention/capacity").json()["total_bytes"] == 4000
    page = client.get("/retention/capacity/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and 'class="bar proj"' in html
    assert "存储容量" in html and "按单位" in html
    xlsx = client.get("/api/retention/register.xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content)).active["A1"].value == "序号"
    assert "销毁清册" in client.get("/retention/register/print/").content.decode()
    assert a.size_bytes == 1000
    out = io.StringIO()
    call_command("capacity_report", stdout=out)
    assert "在库 2 条" in out.getvalue() and "12 个月后预计" in out.getvalue()


def test_linear_projection() -> None:
    slope, intercept = linear_fit([(0, 10), (1, 20), (2, 30)])
    assert slope == pytest.approx(10) and intercept == pytest.approx(10)
    assert linear_fit([(0, 5)]) == (0.0, 5)


def test_policy_page_previews_then_applies_and_refuses_shortening(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    from django.test import Client as CsrfClient

    from backend.retention.models import RetentionPolicy
    from tests.retention.conftest import object_lock_until, retention_of

    recording = store_recording()
    client = client_for(storage_admin)
    page = client.get("/retention/policies/")
    assert page.status_code == 200 and "保存期限策略" in page.content.decode()
    preview = client.get(
        "/retention/policies/", {"category": "default", "name": "默认", "period_days": 400}
    )
    html = preview.content.decode()
    assert preview.status_code == 200 and "预览（尚未生效）" in html and str(recording.pk) in html
    assert RetentionPolicy.objects.get(category="default").period_days == 184  # not yet
    bad = client.get("/retention/policies/", {"category": "default", "period_days": "x"})
    assert bad.status_code == 400 and "保存天数" in bad.content.decode()
    both = client.get(
        "/retention/policies/",
        {"category": "default", "period_days": "5", "permanent": "1"},
    )
    assert both.status_code == 400

    # The apply form needs the CSRF token like every browser post.
    browser = CsrfClient(enforce_csrf_checks=True)
    browser.force_login(storage_admin)
    no_token = browser.post("/retention/policies/", {"category": "default", "period_days": "400"})
    assert no_token.status_code == 403
    applied = client.post(
        "/retention/policies/", {"category": "default", "name": "默认", "period_days": 400}
    )
    # POST-redirect-GET: the page comes back by GET with the outcome in words.
    assert applied.status_code == 302 and applied["Location"] == "/retention/policies/"
    assert "策略已生效" in client.get("/retention/policies/").content.decode()
    row = retention_of(recording)
    assert row.retention_until == row.anchor_at + __import__("datetime").timedelta(days=400)
    assert object_lock_until(recording) == row.retention_until
    shorter = client.post(
        "/retention/policies/", {"category": "default", "name": "默认", "period_days": 30}
    )
    assert shorter.status_code == 409 and "不能缩短" in shorter.content.decode()
    officer = client_for(make_user(role=Role.FIELD_OFFICER))
    assert officer.get("/retention/policies/").status_code == 403


def test_fixity_history_and_alert_acknowledgement(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    from backend.retention.fixity import fixity_sweep

    lost = store_recording(put=False)
    fixity_sweep(limit=5)
    client = client_for(storage_admin)
    history = client.get(f"/api/retention/recordings/{lost.pk}/fixity").json()
    assert [h["outcome"] for h in history] == ["missing"]
    assert client.get("/api/retention/recordings/not-a-uuid/fixity").status_code == 422
    alert = client.get("/api/retention/fixity/alerts").json()[0]
    done = client.post(f"/api/retention/fixity/alerts/{alert['id']}/acknowledge")
    assert done.status_code == 200 and done.json()["acknowledged_at"]
    again = client.post(f"/api/retention/fixity/alerts/{alert['id']}/acknowledge")
    assert again.status_code == 409 and again.json()["code"] == "alert_already_acknowledged"
    assert client.post("/api/retention/fixity/alerts/999999/acknowledge").status_code == 404
    assert client.get("/api/retention/fixity/alerts").json() == []  # open ones only
    officer = client_for(make_user(role=Role.FIELD_OFFICER))
    assert officer.get(f"/api/retention/recordings/{lost.pk}/fixity").status_code == 403
