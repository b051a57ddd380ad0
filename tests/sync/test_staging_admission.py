"""Staging admission (issue 14, item 4): one device cannot fill the staging volume for
all. Two devices against a small quota set in settings; real endpoint, PostgreSQL and
SeaweedFS (the clips end stored)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from backend.accounts.models import Role
from backend.footage.models import Recording, RecordingState
from sync.models import Upload, UploadState
from tests.factories import make_device, make_officer, make_user
from tests.sync.test_tus_django import Endpoint, announce, upload_of

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024


@pytest.fixture
def endpoint(staging_dir: Path, s3: Any) -> Endpoint:
    return Endpoint()


def test_a_big_clip_cannot_block_another_devices_small_one(
    endpoint: Endpoint, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.FV_STAGING_QUOTA_BYTES = 10 * MiB
    settings.FV_STAGING_DEVICE_MAX_BYTES = 6 * MiB
    settings.FV_STAGING_HEADROOM_BYTES = 0
    first_device, first = make_device(officer=make_officer(), serial="CAM-BIG")
    _second_device, second = make_device(officer=make_officer(), serial="CAM-SMALL")
    a, big = os.urandom(5 * MiB), os.urandom(100 * MiB)
    c, d = os.urandom(4 * MiB), os.urandom(3 * MiB)

    answer_a = announce(first, "A", a)
    assert answer_a["status"] == "missing" and answer_a["upload_url"]
    refused = announce(first, "BIG", big)  # past the device's share: no URL, keep it
    assert refused["status"] == "insufficient_storage" and refused["upload_url"] is None
    assert "share" in refused["detail"]
    answer_c = announce(second, "C", c)  # the other device still gets its URL
    assert answer_c["status"] == "missing"
    answer_d = announce(second, "D", d)  # 5 + 4 + 3 > 10 MiB: the quota
    assert answer_d["status"] == "insufficient_storage" and answer_d["upload_url"] is None
    assert Recording.objects.get(clip_id="D").state == RecordingState.ANNOUNCED

    # POST creation of an unadmitted clip is refused the same way, precisely.
    response = endpoint.call(
        "POST",
        token=second,
        headers={"Upload-Length": str(len(d)), "Upload-Metadata": "clip_id RA=="},
    )
    assert response is not None and response.status == 507, response
    assert response.json()["code"] == "insufficient_storage"

    # The dashboard tells the storage administrator who uses the space.
    client = Client()
    client.force_login(make_user(role=Role.STORAGE_ADMIN))
    page = client.get("/").content.decode()
    assert 'id="staging-alert"' in page and "CAM-BIG" in page and "CAM-SMALL" in page

    # C arrives and is stored: its space is free again, so D is admitted and arrives.
    with django_capture_on_commit_callbacks(execute=True):  # the store dispatch
        assert endpoint.patch(answer_c["upload_url"], 0, [c], token=second).status == 204
    assert Recording.objects.get(clip_id="C").state == RecordingState.STORED
    answer_d = announce(second, "D", d)
    assert answer_d["status"] == "missing" and answer_d["upload_url"]
    with django_capture_on_commit_callbacks(execute=True):
        assert endpoint.patch(answer_d["upload_url"], 0, [d], token=second).status == 204
    assert Recording.objects.get(clip_id="D").state == RecordingState.STORED

    # A stalls after 1 MiB and is abandoned: reclaimed after the idle days, nothing stored
    # is touched; the device's next manifest gets a fresh URL from 0.
    assert endpoint.patch(answer_a["upload_url"], 0, [a[:MiB]], token=first).status == 204
    partial = upload_of(answer_a["upload_url"])
    assert partial.staging_path.stat().st_size == MiB
    call_command("staging_reclaim_abandoned")
    assert upload_of(answer_a["upload_url"]).state == UploadState.RECEIVING  # not idle yet
    Upload.objects.filter(pk=partial.pk).update(
        updated_at=partial.updated_at - datetime.timedelta(days=settings.FV_STAGING_ABANDON_DAYS)
    )
    with django_capture_on_commit_callbacks(execute=True):  # the file goes after the commit
        call_command("staging_reclaim_abandoned")
    assert upload_of(answer_a["upload_url"]).state == UploadState.TERMINATED
    assert not partial.staging_path.exists()
    assert Recording.objects.get(clip_id="A").state == RecordingState.ANNOUNCED
    assert Recording.objects.get(clip_id="C").state == RecordingState.STORED
    assert Upload.objects.filter(recording__clip_id="C", state=UploadState.COMPLETE).exists()
    fresh = announce(first, "A", a)
    assert fresh["status"] == "missing" and fresh["upload_url"] != answer_a["upload_url"]
    assert first_device.pk is not None
