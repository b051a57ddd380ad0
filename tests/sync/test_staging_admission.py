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


@pytest.mark.django_db(transaction=True)
def test_two_devices_announcing_at_once_cannot_over_admit(staging_dir: Path, settings: Any) -> None:
    """Item 4, concurrency: two devices' manifests arrive together, each alone fitting the
    staging quota. Before admission was serialised, both read the same free budget and
    together admitted twice the quota. Real PostgreSQL, two connections, two threads."""
    import threading

    from django.db import connection

    clips_per_device, size = 200, MiB
    settings.FV_STAGING_QUOTA_BYTES = clips_per_device * size
    settings.FV_STAGING_DEVICE_MAX_BYTES = 10 * clips_per_device * size
    settings.FV_STAGING_HEADROOM_BYTES = 0
    officer = make_officer()
    tokens = [make_device(officer=officer, serial=f"CAM-RACE-{n}")[1] for n in range(2)]
    begin = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    start = threading.Barrier(2)
    answers: dict[int, list[dict[str, Any]]] = {}

    def sync(number: int) -> None:
        clips = [
            {
                "clip_id": f"RACE-{number}-{n:04d}",
                "file_name": f"race-{number}-{n}.mp4",
                "size": size,
                "sha256": f"{number:02x}{n:062x}",
                "recorded_start": (begin + datetime.timedelta(minutes=n)).isoformat(),
                "recorded_end": (begin + datetime.timedelta(minutes=n, seconds=30)).isoformat(),
                "media_kind": "video",
            }
            for n in range(clips_per_device)
        ]
        try:
            start.wait(timeout=30)
            response = Client().post(
                "/api/sync/v1/manifest",
                {"device_time": datetime.datetime.now(datetime.UTC).isoformat(), "clips": clips},
                content_type="application/json",
                headers={"Authorization": f"Bearer {tokens[number]}"},
            )
            assert response.status_code == 200, response.content
            answers[number] = response.json()["clips"]
        finally:
            connection.close()

    threads = [threading.Thread(target=sync, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(answers) == {0, 1}
    admitted = [a for n in (0, 1) for a in answers[n] if a["status"] == "missing"]
    refused = [a for n in (0, 1) for a in answers[n] if a["status"] == "insufficient_storage"]
    assert len(admitted) + len(refused) == 2 * clips_per_device
    # Within the quota, to the byte, and the space is used (not refused for both).
    assert len(admitted) == clips_per_device, (len(admitted), len(refused))
    reserved = sum(
        Upload.objects.filter(state=UploadState.RECEIVING).values_list("length", flat=True)
    )
    assert reserved == settings.FV_STAGING_QUOTA_BYTES
