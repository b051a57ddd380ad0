"""The seed's access rules (行政执法记录信息调阅监督制度) and the bad inputs of issue 6."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import audit_verify
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from backend.review import services
from backend.review.models import (
    AccessBasis,
    AccessGrant,
    AccessRegisterEntry,
    AccessRequest,
    LoginAttempt,
    RegisterAction,
)
from tests.review.conftest import PASSWORD, World, store_recording

pytestmark = pytest.mark.django_db


def client_for(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def request_for(
    world: World,
    *,
    requester: Any,
    kind: str = "staff",
    copy: bool = False,
    recordings: list[Any] | None = None,
    **extra: Any,
) -> AccessRequest:
    return services.access_request_create(
        requester=requester,
        requester_kind=kind,
        purpose="复查执法过程",
        recording_ids=[str(r.pk) for r in (recordings or [world.recordings["own"]])],
        want_copy=copy,
        **extra,
    )


def add_documents(request: AccessRequest, user: Any, *kinds: str) -> None:
    for kind in kinds:
        services.access_document_add(
            request=request,
            user=user,
            kind=kind,
            file_name=f"{kind}.pdf",
            content_type="application/pdf",
            body=io.BytesIO(b"%PDF-1.4 " + kind.encode()),
        )


# -- who may look ----------------------------------------------------------------------------


def test_legal_officer_views_directly_but_copies_only_with_office_head_approval(
    world: World,
) -> None:
    legal = world.users[Role.LEGAL_OFFICER]
    own = world.recordings["own"]
    page = client_for(legal).get(f"/recordings/{own.pk}/")
    assert page.status_code == 200
    assert AccessRegisterEntry.objects.get(user=legal).basis == "scope"
    # Viewing needs no request; asking for one without copying is refused.
    with pytest.raises(InvalidInput) as refused:
        request_for(world, requester=legal, kind="legal_officer", copy=False)
    assert refused.value.code == "legal_officer_views_directly"
    # Direct scope gives no download.
    assert client_for(legal).post(f"/recordings/{own.pk}/download/").status_code == 403
    request = request_for(world, requester=legal, kind="legal_officer", copy=True)
    assert request.required_authority == "office_head"
    grant = services.access_request_approve(request_id=request.pk, approver=world.office_head)
    assert grant.can_copy and grant.holder == legal


def test_other_staff_need_the_bureau_head(world: World) -> None:
    outsider = world.other_users[Role.FIELD_OFFICER]
    own = world.recordings["own"]
    assert client_for(outsider).get(f"/recordings/{own.pk}/").status_code == 404
    request = request_for(world, requester=outsider)
    with pytest.raises(PermissionDenied) as lacking:
        services.access_request_approve(request_id=request.pk, approver=world.office_head)
    assert lacking.value.code == "approver_lacks_authority"
    # A supervisor of another bureau holds no office over these recordings either.
    with pytest.raises(PermissionDenied):
        services.access_request_approve(
            request_id=request.pk, approver=world.other_users[Role.SUPERVISOR]
        )
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    assert not grant.can_copy
    page = client_for(outsider).get(f"/recordings/{own.pk}/?grant={grant.pk}")
    assert page.status_code == 200
    entry = AccessRegisterEntry.objects.get(user=outsider)
    assert (entry.basis, entry.grant_id, entry.purpose) == ("grant", grant.pk, "复查执法过程")


def test_approval_by_the_requester_is_refused_even_for_a_head(world: World) -> None:
    head = world.bureau_head
    request = request_for(world, requester=head)
    with pytest.raises(PermissionDenied) as refused:
        services.access_request_approve(request_id=request.pk, approver=head)
    assert refused.value.code == "approver_is_requester"
    # And through the API, as a JSON error.
    response = client_for(head).post(
        f"/api/review/access-requests/{request.pk}/approve",
        {"valid_days": 3},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "approver_is_requester"
    # The database refuses it too, whatever code path writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessRequest.objects.filter(pk=request.pk).update(decided_by=head, state="approved")


def test_outside_body_needs_letter_and_identity_and_gets_watermarked_copies(
    world: World,
) -> None:
    clerk = world.users[Role.LEGAL_OFFICER]
    with pytest.raises(InvalidInput):
        request_for(world, requester=clerk, kind="police", copy=True)  # no applicant identity
    request = request_for(
        world,
        requester=clerk,
        kind="police",
        copy=True,
        applicant_name="赵警官",
        applicant_organisation="甲县公安局",
        applicant_id_number="110101199001011234",
    )
    with pytest.raises(Conflict) as missing:
        services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    assert set(missing.value.details["missing"]) == {"identity", "letter_of_introduction"}
    add_documents(request, clerk, "letter_of_introduction", "identity")
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    export = services.export_create(grant=grant, user=clerk)
    assert export.with_proxies and "甲县公安局 赵警官" in export.watermark_text


def test_party_may_view_but_not_copy_and_lawyer_needs_licence(world: World) -> None:
    clerk = world.users[Role.SUPERVISOR]
    identity = {"applicant_name": "钱某", "applicant_id_number": "1101"}
    with pytest.raises(InvalidInput) as refused:
        request_for(world, requester=clerk, kind="party", copy=True, **identity)
    assert refused.value.code == "party_may_not_copy"
    lawyer = request_for(world, requester=clerk, kind="party_lawyer", **identity)
    add_documents(lawyer, clerk, "letter_of_introduction", "identity")
    with pytest.raises(Conflict) as missing:
        services.access_request_approve(request_id=lawyer.pk, approver=world.bureau_head)
    assert set(missing.value.details["missing"]) == {"lawyer_licence", "power_of_attorney"}


# -- grants used wrongly ---------------------------------------------------------------------


def test_expired_grant_and_grant_for_another_recording(world: World) -> None:
    outsider = world.other_users[Role.SUPERVISOR]
    own = world.recordings["own"]
    second = store_recording(device=world.device, officer=world.officer)
    request = request_for(world, requester=outsider, recordings=[own])
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    client = client_for(outsider)
    # A grant for one recording used for another: refused, and without a grant: 404.
    response = client.get(f"/recordings/{second.pk}/?grant={grant.pk}")
    assert response.status_code == 403 and b"grant_does_not_cover" in response.content
    assert client.get(f"/recordings/{second.pk}/").status_code == 404
    api = client.get(f"/api/review/recordings/{second.pk}/playback?grant={grant.pk}")
    assert api.status_code == 403 and api.json()["code"] == "grant_does_not_cover"
    # Expired.
    AccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = client.get(f"/recordings/{own.pk}/?grant={grant.pk}")
    assert response.status_code == 403 and b"grant_expired" in response.content
    assert client.get(f"/recordings/{own.pk}/").status_code == 404
    api = client.get(f"/api/review/recordings/{own.pk}/playback?grant={grant.pk}")
    assert api.status_code == 403 and api.json()["code"] == "grant_expired"
    # Someone else's grant is not found at all.
    stranger = client_for(world.other_users[Role.LEGAL_OFFICER])
    assert stranger.get(f"/recordings/{own.pk}/?grant={grant.pk}").status_code == 404
    assert not AccessRegisterEntry.objects.filter(recording=second).exists()


def test_guessing_recording_ids_across_units_answers_404(world: World) -> None:
    other = world.recordings["other"]
    for role in Role.values:
        if role == Role.SYSTEM_ADMIN:
            continue
        client = client_for(world.users[role])
        assert client.get(f"/recordings/{other.pk}/").status_code == 404, role
        api = client.get(f"/api/review/recordings/{other.pk}/playback")
        assert api.status_code == 404 and api.json()["code"] == "recording_not_found", role
        assert client.get(f"/api/recordings/{other.pk}").status_code == 404, role
    client = client_for(world.users[Role.SUPERVISOR])
    assert client.get("/recordings/not-a-uuid/").status_code == 404
    assert not AccessRegisterEntry.objects.filter(recording=other).exists()


def test_form_posts_without_csrf_token_are_refused(world: World) -> None:
    client = client_for(world.users[Role.SUPERVISOR], csrf=True)
    body = {
        "requester_kind": "staff",
        "purpose": "x",
        "recording_ids": str(world.recordings["other"].pk),
    }
    assert client.post("/access/", body).status_code == 403
    api = client.post(
        "/api/review/access-requests",
        {**body, "recording_ids": []},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert not AccessRequest.objects.exists()
    # With the token the same form is accepted.
    page = client.get("/access/")
    token = page.cookies["csrftoken"].value
    accepted = client.post("/access/", {**body, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_export_of_a_recording_now_under_legal_hold_is_allowed_and_registered(
    world: World,
) -> None:
    from backend.retention.services import legal_hold_place

    outsider = world.other_users[Role.SUPERVISOR]
    own = world.recordings["own"]
    request = request_for(world, requester=outsider, copy=True)
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    # The recording is put on legal hold (保全) after the grant: the export is still allowed.
    hold = legal_hold_place(
        actor=world.users[Role.LEGAL_OFFICER],
        target_kind="recording",
        reason="诉讼保全",
        recording_id=own.pk,
    )
    assert hold.recording_id == own.pk
    client = client_for(outsider)
    response = client.post(f"/grants/{grant.pk}/export/", {"purpose": "移送审查"})
    assert response.status_code == 302
    export_entry = AccessRegisterEntry.objects.get(action="export")
    assert export_entry.recording == own and export_entry.grant == grant
    download = client.get(response["Location"] + "download/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert own.sha256 in body.decode("latin-1")
    assert AccessRegisterEntry.objects.filter(action="download", export__isnull=False).count() == 1


def test_expired_copy_grant_neither_exports_nor_downloads(world: World) -> None:
    outsider = world.other_users[Role.SUPERVISOR]
    request = request_for(world, requester=outsider, copy=True)
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    export = services.export_create(grant=grant, user=outsider)
    AccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    client = client_for(outsider)
    created = client.post(
        f"/api/review/grants/{grant.pk}/exports", {}, content_type="application/json"
    )
    assert created.status_code == 403 and created.json()["code"] == "grant_expired"
    download = client.get(f"/exports/{export.pk}/download/")
    assert download.status_code == 403 and b"grant_expired" in download.content
    assert not AccessRegisterEntry.objects.filter(action="download").exists()


def test_view_only_grant_cannot_export(world: World) -> None:
    outsider = world.other_users[Role.SUPERVISOR]
    request = request_for(world, requester=outsider, copy=False)
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    response = client_for(outsider).post(
        f"/api/review/grants/{grant.pk}/exports", {}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["code"] == "grant_view_only"


# -- the register ----------------------------------------------------------------------------


def test_register_is_append_only_and_audited(world: World) -> None:
    supervisor = world.users[Role.SUPERVISOR]
    recording = world.recordings["own"]
    client = client_for(supervisor)
    client.get(f"/recordings/{recording.pk}/?purpose=月度抽查")
    entry = AccessRegisterEntry.objects.get()
    # A link cannot write the register's purpose (issue 13 item 9): the access decides it
    # (a grant's request, or the scope's own wording), never the URL.
    assert entry.purpose == "职责范围内直接查阅"
    played = client.get(f"/api/review/recordings/{recording.pk}/playback?purpose=伪造事由")
    assert played.status_code == 200, played.content
    assert set(AccessRegisterEntry.objects.values_list("purpose", flat=True)) == {
        "职责范围内直接查阅"
    }
    entry = services.register_write(
        user=supervisor,
        action=RegisterAction.VIEW,
        basis=AccessBasis.SCOPE,
        purpose="月度抽查",
        recording=recording,
    )
    assert AuditEvent.objects.filter(
        action="recording.viewed", object_id=str(world.recordings["own"].pk)
    ).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessRegisterEntry.objects.filter(pk=entry.pk).update(purpose="改过")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessRegisterEntry.objects.filter(pk=entry.pk).delete()
    assert AccessRegisterEntry.objects.get(pk=entry.pk).purpose == "月度抽查"
    assert audit_verify().intact


def test_register_search_and_xlsx(world: World) -> None:
    from openpyxl import load_workbook

    supervisor = world.users[Role.SUPERVISOR]
    client = client_for(supervisor)
    services.register_write(
        user=supervisor,
        action=RegisterAction.VIEW,
        basis=AccessBasis.SCOPE,
        purpose='=HYPERLINK("x")',
        recording=world.recordings["own"],
    )
    page = client.get("/register/?q=HYPERLINK")
    assert page.status_code == 200 and "HYPERLINK" in page.content.decode()
    assert "没有登记记录" in client.get("/register/?q=nothing-like-this").content.decode()
    by_id = client.get(f"/register/?q={world.recordings['own'].pk}").content.decode()
    assert by_id.count('class="entry"') == 1
    by_other_id = client.get(f"/register/?q={world.recordings['other'].pk}").content.decode()
    assert by_other_id.count('class="entry"') == 0
    # The auditor reads it too; a field officer of the other bureau does not see it.
    assert "HYPERLINK" in client_for(world.users[Role.AUDITOR]).get("/register/").content.decode()
    other = client_for(world.other_users[Role.FIELD_OFFICER]).get("/register/")
    assert "HYPERLINK" not in other.content.decode()
    response = client.get("/register.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active  # type: ignore[attr-defined]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "序号" and len(rows) == 2
    assert rows[1][7].startswith("'=")  # a formula typed as purpose stays text
    # Taking a copy of the register is itself audited, with the search used.
    client.get("/register.xlsx?q=HYPERLINK")
    exported = AuditEvent.objects.filter(action="access_register.exported").order_by("sequence")
    assert exported.count() == 2
    assert exported.last().data == {"filters": {"text": "HYPERLINK"}, "rows": 1}  # type: ignore[union-attr]


# -- sign-in ---------------------------------------------------------------------------------


def test_lockout_after_repeated_failures(world: World, settings: Any) -> None:
    settings.FV_LOGIN_MAX_FAILURES = 3
    settings.FV_LOGIN_LOCKOUT_MINUTES = 10
    user = world.users[Role.SUPERVISOR]
    client = Client()
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": user.username, "password": "no"})
        assert response.status_code == 200
    locked = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 200 and "已锁定" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # After the window the right password works again.
    LoginAttempt.objects.update(occurred_at=timezone.now() - datetime.timedelta(minutes=11))
    ok = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert client.session.get_expire_at_browser_close()


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    response = Client().get("/register/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# -- roles -----------------------------------------------------------------------------------


def test_storage_admin_sees_storage_facts_not_content(world: World) -> None:
    client = client_for(world.users[Role.STORAGE_ADMIN])
    page = client.get("/storage/")
    assert page.status_code == 200 and world.recordings["own"].sha256[:16] in page.content.decode()
    assert client.get(f"/recordings/{world.recordings['own'].pk}/").status_code == 404
    assert client.get("/audit/").status_code == 403
    auditor = client_for(world.users[Role.AUDITOR])
    assert auditor.get("/audit/").status_code == 200
    assert auditor.get("/storage/").status_code == 403
    assert auditor.get(f"/recordings/{world.recordings['own'].pk}/").status_code == 404


def test_field_officer_sees_only_own_recordings(world: World) -> None:
    colleague = store_recording(device=world.device, officer=None)
    client = client_for(world.users[Role.FIELD_OFFICER])
    assert client.get(f"/recordings/{world.recordings['own'].pk}/").status_code == 200
    assert client.get(f"/recordings/{colleague.pk}/").status_code == 404
    listing = client.get("/recordings/").content.decode()
    assert str(world.recordings["own"].pk) in listing and str(colleague.pk) not in listing


def test_recording_page_shows_chain_of_custody_in_order(world: World) -> None:
    own = world.recordings["own"]
    client = client_for(world.users[Role.SUPERVISOR])
    client.get(f"/recordings/{own.pk}/")
    page = client.get(f"/recordings/{own.pk}/").content.decode()
    verified, stored, viewed = (
        page.index("recording.verified"),
        page.index("recording.stored"),
        page.index("recording.viewed"),
    )
    assert verified < stored < viewed
    assert "接收时校验一致" in page and 'src="http' in page
    assert AccessRegisterEntry.objects.filter(recording=own).count() == 2


# -- requests naming an activity; grants narrowed by the approver -----------------------------


def test_request_naming_an_activity_asks_for_its_linked_recordings(world: World) -> None:
    from tests.review.conftest import make_activity

    activity = make_activity(world)
    linked = world.extra["activity_recording"]
    outsider = world.other_users[Role.SUPERVISOR]
    client = client_for(outsider)
    # The activity page is not theirs; the request form names the activity instead.
    assert client.get(f"/activities/{activity.pk}/").status_code == 404
    form = client.get(f"/access/?activity={activity.pk}").content.decode()
    assert f'value="{activity.pk}"' in form
    response = client.post(
        "/access/",
        {"requester_kind": "staff", "purpose": "跨县复查", "activity_id": str(activity.pk)},
    )
    assert response.status_code == 302, response.content[:500]
    request = AccessRequest.objects.get(requester=outsider)
    assert request.activity_ref == str(activity.pk)
    assert list(request.recordings.all()) == [linked]
    # The API takes an activity too; bad and unknown ids are precise 400s.
    api = client.post(
        "/api/review/access-requests",
        {"requester_kind": "staff", "purpose": "x", "activity_id": str(activity.pk)},
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["recording_ids"] == [str(linked.pk)]
    assert api.json()["activity_id"] == str(activity.pk)
    for value, code in (
        ("nope", "invalid_activity_id"),
        (str(world.office.pk), "invalid_activity_id"),
    ):
        bad = client.post(
            "/api/review/access-requests",
            {"requester_kind": "staff", "purpose": "x", "activity_id": value},
            content_type="application/json",
        )
        assert bad.status_code == 400 and bad.json()["code"] == code
    unknown = client.post(
        "/api/review/access-requests",
        {"requester_kind": "staff", "purpose": "x", "activity_id": str(outsider_uuid())},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_activity"
    empty = client.post(
        "/api/review/access-requests",
        {"requester_kind": "staff", "purpose": "x"},
        content_type="application/json",
    )
    assert empty.status_code == 400 and empty.json()["code"] == "recordings_required"


def outsider_uuid() -> str:
    import uuid

    return str(uuid.uuid4())


def test_approver_narrows_the_scope_and_withholds_copy(world: World) -> None:
    outsider = world.other_users[Role.SUPERVISOR]
    own = world.recordings["own"]
    second = store_recording(device=world.device, officer=world.officer)
    request = request_for(world, requester=outsider, copy=True, recordings=[own, second])
    head = client_for(world.bureau_head)
    page = head.get(f"/access/{request.pk}/").content.decode()
    assert 'name="view_only"' in page and page.count('name="scope"') == 2
    # A scope naming a recording the request did not name is refused.
    stray = world.recordings["other"]
    api = head.post(
        f"/api/review/access-requests/{request.pk}/approve",
        {"valid_days": 3, "recording_ids": [str(own.pk), str(stray.pk)]},
        content_type="application/json",
    )
    assert api.status_code == 400 and api.json()["code"] == "grant_scope_outside_request"
    empty = head.post(f"/access/{request.pk}/approve/", {"valid_days": 3, "scope_given": "1"})
    assert empty.status_code == 400 and b"grant_scope_empty" in empty.content
    assert AccessRequest.objects.get(pk=request.pk).state == "pending"
    approved = head.post(
        f"/access/{request.pk}/approve/",
        {"valid_days": 3, "scope_given": "1", "scope": [str(own.pk)], "view_only": "on"},
    )
    assert approved.status_code == 302
    grant = AccessGrant.objects.get(request=request)
    assert list(grant.recordings.all()) == [own] and not grant.can_copy
    client = client_for(outsider)
    assert client.get(f"/recordings/{own.pk}/?grant={grant.pk}").status_code == 200
    left_out = client.get(f"/recordings/{second.pk}/?grant={grant.pk}")
    assert left_out.status_code == 403 and b"grant_does_not_cover" in left_out.content
    export = client.post(
        f"/api/review/grants/{grant.pk}/exports", {}, content_type="application/json"
    )
    assert export.status_code == 403 and export.json()["code"] == "grant_view_only"
