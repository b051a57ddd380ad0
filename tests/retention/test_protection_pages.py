"""Legal holds, evidence marks and fixity in the browser's pages (issue 16 item 4): forms
that post and redirect back, refusals in words with what was typed, a second person
releases a hold; the fixity page shows the last sweep, open failures and what is due."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import Role, User
from backend.retention.models import EvidenceMark, FixityAlert, LegalHold
from tests.factories import make_user
from tests.retention.conftest import StoreRecording, retention_of

pytestmark = pytest.mark.django_db

PAGE_QUERY_BUDGET = 15


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_hold_placed_and_released_by_a_second_person_mark_added(
    store_recording: StoreRecording, legal_officer: User, storage_admin: User
) -> None:
    recording = store_recording()
    legal = client_for(legal_officer)
    page = legal.get(f"/retention/holds/?recording={recording.pk}")
    assert page.status_code == 200 and f'value="{recording.pk}"' in page.content.decode()
    # Refused: a case hold without its number comes back with the reason, typed text kept.
    bad = legal.post("/retention/holds/place/", {"target_kind": "case", "reason": "诉讼中，需保留"})
    assert bad.status_code == 400
    assert (
        "请填写活动或案件编号" in bad.content.decode() and "诉讼中，需保留" in bad.content.decode()
    )
    placed = legal.post(
        "/retention/holds/place/",
        {"target_kind": "recording", "recording": str(recording.pk), "reason": "行政诉讼"},
    )
    assert placed.status_code == 302 and placed["Location"] == "/retention/holds/"
    hold = LegalHold.objects.get(recording=recording)
    assert retention_of(recording).held
    with CaptureQueriesContext(connection) as queries:
        listing = legal.get("/retention/holds/").content.decode()
    assert len(queries) <= PAGE_QUERY_BUDGET, len(queries)
    assert "行政诉讼" in listing and "须由他人解除" in listing
    # The placer cannot release; another legal officer of the unit can.
    own = legal.post(f"/retention/holds/{hold.pk}/release/", {"reason": "结案"})
    assert own.status_code == 403
    other = client_for(make_user(role=Role.LEGAL_OFFICER, unit=legal_officer.unit))
    released = other.post(f"/retention/holds/{hold.pk}/release/", {"reason": "判决生效，结案"})
    assert released.status_code == 302
    hold.refresh_from_db()
    assert hold.released_at is not None
    # Evidence mark: a bad number comes back; a good one marks, then withdraws.
    wrong = legal.post("/retention/marks/", {"recording": "XZ-1", "kind": "evidence"})
    assert wrong.status_code == 400 and "请填写正确的音像记录编号" in wrong.content.decode()
    marked = legal.post(
        "/retention/marks/",
        {"recording": str(recording.pk), "kind": "evidence", "case_ref": "（2026）甲行初 12 号"},
    )
    assert marked.status_code == 302
    mark = EvidenceMark.objects.get(recording=recording)
    assert "（2026）甲行初 12 号" in legal.get("/retention/holds/").content.decode()
    assert legal.post(f"/retention/marks/{mark.pk}/withdraw/").status_code == 302
    mark.refresh_from_db()
    assert mark.withdrawn_at is not None
    # Storage admins read the holds page without forms; field officers are refused.
    admin_page = client_for(storage_admin).get("/retention/holds/").content.decode()
    assert 'id="hold-form"' not in admin_page
    assert (
        client_for(make_user(role=Role.FIELD_OFFICER)).get("/retention/holds/").status_code == 403
    )


def test_fixity_page_sweeps_and_acknowledges(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    store_recording()
    lost = store_recording(put=False)  # no object in the bucket: the sweep raises an alert
    admin = client_for(storage_admin)
    before = admin.get("/retention/fixity/").content.decode()
    assert 'id="fixity-due">2<' in before and 'id="fixity-last">—<' in before
    swept = admin.post("/retention/fixity/run/", follow=True)
    body = swept.content.decode()
    assert "已校验 2 条：一致 1 条，异常 1 条。" in body
    assert 'id="fixity-due">0<' in body and 'id="fixity-failed">1<' in body
    alert = FixityAlert.objects.get(recording=lost)
    assert lost.file_name in body.split('id="fixity-alerts"', 1)[1]
    assert admin.post(f"/retention/fixity/alerts/{alert.pk}/acknowledge/").status_code == 302
    assert 'id="fixity-alerts"' in (after := admin.get("/retention/fixity/").content.decode())
    assert "没有未确认的告警。" in after and 'id="fixity-next">2' in after
    assert client_for(make_user(role=Role.SUPERVISOR)).get("/retention/fixity/").status_code == 403
