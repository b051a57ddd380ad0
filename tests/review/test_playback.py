"""The player gets the proxy through a short-lived presigned URL that answers Range requests
(seeking), with the poster and the thumbnail strip; without a proxy it plays the original."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from backend.accounts.models import Role
from backend.footage.models import RecordingDerivative
from backend.footage.storage import object_store
from backend.review.models import AccessRegisterEntry
from tests.review.conftest import World, store_recording

pytestmark = pytest.mark.django_db


def _derivative(recording: object, profile: str, data: bytes, content_type: str) -> None:
    key = f"derivatives/{recording.pk}/{profile}"  # type: ignore[attr-defined]
    object_store().put_stream(
        bucket=settings.FV_DERIVATIVES_BUCKET,
        key=key,
        body=io.BytesIO(data),
        content_type=content_type,
    )
    RecordingDerivative.objects.create(
        recording=recording,
        profile=profile,
        profile_version=1,
        bucket=settings.FV_DERIVATIVES_BUCKET,
        key=key,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_player_uses_the_presigned_proxy_with_poster_and_strip(
    world: World, sample_mp4: Path
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    proxy = sample_mp4.read_bytes()
    _derivative(recording, "proxy-720p", proxy, "video/mp4")
    _derivative(recording, "poster", b"\xff\xd8poster", "image/jpeg")
    _derivative(recording, "thumb-strip", b"\xff\xd8strip", "image/jpeg")
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    api = client.get(f"/api/review/recordings/{recording.pk}/playback").json()
    assert api["source"] == "proxy" and api["media_type"] == "video/mp4"
    assert api["expires_seconds"] == settings.FV_PRESIGNED_URL_SECONDS
    assert "X-Amz-Expires=" in api["media_url"] and "X-Amz-Signature=" in api["media_url"]
    # Seeking: the presigned URL serves a byte range.
    part = httpx.get(api["media_url"], headers={"Range": "bytes=1000-1999"}, timeout=10)
    assert part.status_code == 206 and part.content == proxy[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(proxy)}"
    assert httpx.get(api["poster_url"], timeout=10).content == b"\xff\xd8poster"
    assert httpx.get(api["thumbnails_url"], timeout=10).content == b"\xff\xd8strip"
    # A tampered signature is refused by the store itself.
    forged = api["media_url"].replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert httpx.get(forged, timeout=10).status_code == 403
    page = client.get(f"/recordings/{recording.pk}/").content.decode()
    assert "播放转码副本" in page and 'poster="http' in page and 'class="thumbs"' in page
    assert AccessRegisterEntry.objects.filter(recording=recording, action="view").count() == 2


def test_without_a_proxy_the_original_plays_by_range(world: World, sample_mp4: Path) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    api = client.get(f"/api/review/recordings/{recording.pk}/playback").json()
    assert api["source"] == "original" and api["poster_url"] is None
    part = httpx.get(api["media_url"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert part.status_code == 206 and part.content == sample_mp4.read_bytes()[:100]
    assert part.headers["Content-Type"] == "video/mp4"


def test_every_api_path_that_hands_out_content_registers_the_view(
    world: World, sample_mp4: Path
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    _derivative(recording, "proxy-720p", sample_mp4.read_bytes(), "video/mp4")
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    body = client.get(f"/api/recordings/{recording.pk}").json()
    assert any(d["url"] for d in body["derivatives"])  # the content is handed out …
    assert AccessRegisterEntry.objects.filter(recording=recording).exists()  # … so register it
