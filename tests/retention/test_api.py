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
    page = client.get("/api/retention/capacity/page")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    xlsx = client.get("/api/retention/register.xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content)).active["A1"].value == "序号"
    assert "销毁清册" in client.get("/api/retention/register/print").content.decode()
    assert a.size_bytes == 1000
    out = io.StringIO()
    call_command("capacity_report", stdout=out)
    assert "在库 2 条" in out.getvalue() and "12 个月后预计" in out.getvalue()


def test_linear_projection() -> None:
    slope, intercept = linear_fit([(0, 10), (1, 20), (2, 30)])
    assert slope == pytest.approx(10) and intercept == pytest.approx(10)
    assert linear_fit([(0, 5)]) == (0.0, 5)
