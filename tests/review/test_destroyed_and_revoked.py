"""A destroyed recording is shown as destroyed and offers nothing to play, download or
export (410 recording_destroyed); watermarked copies of an export whose grant was revoked
or expired after it was queued are never kept."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.config.errors import Gone
from backend.footage.models import Recording, RecordingState
from backend.footage.storage import object_store
from backend.review import services
from backend.review.models import AccessGrant, AccessRegisterEntry, ExportPackage, ProxiesState
from backend.review.tasks import prepare_export_proxies
from media.object_store import ObjectStore
from tests.review.conftest import World, outside_copy_grant, store_recording

pytestmark = pytest.mark.django_db


def _destroyed(recording: Recording) -> None:
    # What retention/destruction.py leaves (tests/retention runs the whole workflow).
    Recording.objects.filter(pk=recording.pk).update(state=RecordingState.DESTROYED)


def _client(user: Any, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _staff_copy_grant(world: World, recording: Recording) -> AccessGrant:
    outsider = world.other_users[Role.SUPERVISOR]
    request = services.access_request_create(
        requester=outsider,
        requester_kind="staff",
        purpose="复查",
        recording_ids=[str(recording.pk)],
        want_copy=True,
    )
    return services.access_request_approve(request_id=request.pk, approver=world.bureau_head)


def _export_copies_in_bucket(export: ExportPackage) -> list[str]:
    listing = object_store().client.list_objects_v2(
        Bucket=settings.FV_DERIVATIVES_BUCKET, Prefix=f"exports/{export.pk}/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]


# -- destroyed recordings ------------------------------------------------------------------


def test_the_recording_page_says_destroyed_and_offers_no_player(world: World) -> None:
    recording = world.recordings["own"]
    supervisor = _client(world.users[Role.SUPERVISOR])
    before = supervisor.get(f"/recordings/{recording.pk}/").content.decode()
    assert "<video" in before and "recording-destroyed" not in before
    _destroyed(recording)
    page = supervisor.get(f"/recordings/{recording.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="recording-destroyed"' in html and "已销毁" in html
    assert "<video" not in html and "X-Amz-Signature" not in html
    assert "申请复制" not in html  # no copy request offered for it
    english = _client(world.users[Role.SUPERVISOR], "en").get(f"/recordings/{recording.pk}/")
    assert "Destroyed" in english.content.decode()
    # The list filters by the new state, labelled like the others.
    listing = supervisor.get("/recordings/?state=destroyed").content.decode()
    assert recording.file_name in listing and "已销毁" in listing


def test_playback_and_the_recording_api_give_no_urls_for_a_destroyed_recording(
    world: World,
) -> None:
    recording = world.recordings["own"]
    supervisor = _client(world.users[Role.SUPERVISOR])
    assert supervisor.get(f"/api/review/recordings/{recording.pk}/playback").status_code == 200
    _destroyed(recording)
    refused = supervisor.get(f"/api/review/recordings/{recording.pk}/playback")
    assert refused.status_code == 410
    assert refused.json() == {
        "code": "recording_destroyed",
        "message": refused.json()["message"],
        "details": {"recordings": [str(recording.pk)]},
    }
    assert "销毁" in refused.json()["message"]
    detail = supervisor.get(f"/api/recordings/{recording.pk}")
    assert detail.status_code == 200, detail.content
    assert detail.json()["state"] == "destroyed" and detail.json()["derivatives"] == []


def test_exports_and_downloads_of_a_destroyed_recording_are_refused(world: World) -> None:
    recording = world.recordings["own"]
    grant = _staff_copy_grant(world, recording)
    holder = _client(grant.holder)
    made_before = services.export_create(grant=grant, user=grant.holder)
    assert holder.get(f"/exports/{made_before.pk}/download/").status_code == 200
    _destroyed(recording)

    with pytest.raises(Gone) as refused:
        services.export_create(grant=grant, user=grant.holder)
    assert refused.value.status == 410 and refused.value.code == "recording_destroyed"
    api = holder.post(f"/api/review/grants/{grant.pk}/exports", {}, content_type="application/json")
    assert api.status_code == 410 and api.json()["code"] == "recording_destroyed"
    assert ExportPackage.objects.filter(grant=grant).count() == 1
    # The export made before the destruction can no longer be put together.
    downloads = AccessRegisterEntry.objects.filter(action="download").count()
    late = holder.get(f"/exports/{made_before.pk}/download/")
    assert late.status_code == 410 and b"recording_destroyed" in late.content
    detail = holder.get(f"/exports/{made_before.pk}/").content.decode()
    assert "已按保存期限销毁" in detail and "export-download" not in detail
    original = holder.post(f"/recordings/{recording.pk}/download/", {"grant": str(grant.pk)})
    assert original.status_code == 410 and b"recording_destroyed" in original.content
    assert AccessRegisterEntry.objects.filter(action="download").count() == downloads


# -- exports whose grant stopped working before the copies were made ------------------------


def test_a_grant_revoked_after_the_export_was_queued_gets_no_copies(
    world: World, sample_mp4: Path
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    export = services.export_create(grant=grant, user=grant.holder)  # its job waits
    assert export.proxies_state == ProxiesState.PENDING
    services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="案件撤回")

    result = prepare_export_proxies.enqueue(str(export.pk))  # the job as the worker runs it
    assert result.return_value == "revoked"
    export.refresh_from_db()
    assert export.proxies_state == ProxiesState.REVOKED == "revoked"
    assert export.proxies == [] and "案件撤回" in export.proxies_error
    assert _export_copies_in_bucket(export) == []
    event = AuditEvent.objects.get(action="export.proxies_withdrawn", object_id=str(export.pk))
    assert event.data["reason"] == "grant_revoked" and event.data["stage"] == "start"
    assert event.data["grant"] == str(grant.pk)
    # A late duplicate job does nothing; the page says why there is nothing to download.
    assert services.export_proxies_prepare(export_id=export.pk) == "not due"
    page = _client(grant.holder).get(f"/exports/{export.pk}/").content.decode()
    assert "授权已撤销" in page and "export-download" not in page


def test_a_grant_revoked_while_the_copies_are_made_keeps_none_of_them(
    world: World, sample_mp4: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    export = services.export_create(grant=grant, user=grant.holder)
    real_put = ObjectStore.put_file
    published: list[str] = []

    def put_then_revoke(self: ObjectStore, **kwargs: Any) -> None:
        real_put(self, **kwargs)
        published.append(kwargs["key"])
        # The revocation commits after the copy was published, before the export is ready.
        services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="撤销")

    monkeypatch.setattr(ObjectStore, "put_file", put_then_revoke)
    assert services.export_proxies_prepare(export_id=export.pk) == "revoked"
    assert published and published[0].startswith(f"exports/{export.pk}/")
    assert _export_copies_in_bucket(export) == []  # published, then deleted again
    export.refresh_from_db()
    assert export.proxies_state == ProxiesState.REVOKED and export.proxies == []
    event = AuditEvent.objects.get(action="export.proxies_withdrawn", object_id=str(export.pk))
    assert event.data["stage"] == "before_ready"
    assert event.data["copies_removed"] == published and event.data["copies_left"] == []
    assert not AuditEvent.objects.filter(action="export.proxies_ready").exists()


def test_a_grant_that_expired_before_the_job_ran_gets_no_copies(
    world: World, sample_mp4: Path
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    export = services.export_create(grant=grant, user=grant.holder)
    AccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert services.export_proxies_prepare(export_id=export.pk) == "expired"
    export.refresh_from_db()
    assert export.proxies_state == ProxiesState.EXPIRED and export.proxies == []
    assert _export_copies_in_bucket(export) == []
    event = AuditEvent.objects.get(action="export.proxies_withdrawn", object_id=str(export.pk))
    assert event.data["reason"] == "grant_expired"


def test_copies_of_a_ready_export_are_removed_when_its_grant_is_revoked(
    world: World, sample_mp4: Path, django_capture_on_commit_callbacks: Any
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    export = services.export_create(grant=grant, user=grant.holder)
    assert services.export_proxies_prepare(export_id=export.pk) == "ready"
    made = _export_copies_in_bucket(export)
    assert made
    with django_capture_on_commit_callbacks(execute=True):  # the queued withdrawal runs
        services.access_grant_revoke(grant_id=grant.pk, user=world.bureau_head, reason="撤回")
    export.refresh_from_db()
    assert export.proxies_state == ProxiesState.REVOKED and export.proxies == []
    assert _export_copies_in_bucket(export) == []
    event = AuditEvent.objects.get(action="export.proxies_withdrawn", object_id=str(export.pk))
    assert event.data["stage"] == "after_ready" and event.data["reason"] == "grant_revoked"
    assert sorted(event.data["copies_removed"]) == sorted(made)
    assert services.export_copies_withdraw(grant_id=grant.pk) == 0  # idempotent


def test_copies_of_a_ready_export_are_removed_once_its_grant_has_expired(
    world: World, sample_mp4: Path
) -> None:
    from backend.retention.periodic import retention_periodic

    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    export = services.export_create(grant=grant, user=grant.holder)
    assert services.export_proxies_prepare(export_id=export.pk) == "ready"
    assert _export_copies_in_bucket(export)
    assert services.export_copies_withdraw() == 0  # the grant still works: copies stay
    assert _export_copies_in_bucket(export)
    AccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    summary = retention_periodic(fixity_limit=0)  # the periodic pass withdraws them
    assert summary["export_copies_withdrawn"] == 1
    export.refresh_from_db()
    assert export.proxies_state == ProxiesState.EXPIRED and export.proxies == []
    assert _export_copies_in_bucket(export) == []
