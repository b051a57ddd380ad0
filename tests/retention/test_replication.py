"""Originals on two sites, for real: a second `weed mini` (another site, its own disk and
port) receives every stored original under the same COMPLIANCE lock; the replica's VersionId
is recorded; the lag is measured, shown on the storage page and served to Prometheus; lock
extensions and legal holds follow; with one site the page says so."""

from __future__ import annotations

import datetime
import hashlib
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from backend.accounts.models import User
from backend.footage.models import Recording
from backend.footage.storage import object_store
from backend.retention.models import OriginalReplica, RecordingRetention
from backend.retention.replication import (
    originals_replicate,
    replica_store,
    replication_lag,
)
from backend.retention.services import retention_sync_locks
from media.object_store import ObjectStoreError
from ops.seaweed import SeaweedServer
from tests.retention.conftest import StoreRecording

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture(scope="module")
def second_site() -> Iterator[SeaweedServer]:
    """Another site's S3: a second SeaweedFS on its own data directory and ports."""
    data_dir = Path(tempfile.mkdtemp(prefix="fv-test-weed-site-b-"))
    server = SeaweedServer(data_dir=data_dir).start()
    yield server
    server.stop()


@pytest.fixture
def replicated(s3: SeaweedServer, second_site: SeaweedServer, settings: Any) -> SeaweedServer:
    settings.FV_ORIGINALS_REPLICA_BUCKET = f"{settings.FV_ORIGINALS_BUCKET}-site-b"
    settings.FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL = second_site.endpoint_url
    settings.FV_ORIGINALS_REPLICA_S3_ACCESS_KEY = second_site.access_key
    settings.FV_ORIGINALS_REPLICA_S3_SECRET_KEY = second_site.secret_key
    settings.FV_ORIGINALS_REPLICA_TARGET = "site B"
    settings.FV_ORIGINALS_REPLICA_LAG_ALERT_SECONDS = 900
    return second_site


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _metric(name: str) -> float:
    text = Client().get("/metrics").content.decode()
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, text
    return float(match.group(1))


def test_stored_originals_reach_the_second_site_locked_and_verified(
    store_recording: StoreRecording, replicated: SeaweedServer, staging_dir: Path
) -> None:
    payloads = [bytes([n]) * (3000 + n) for n in range(3)]
    recordings = [store_recording(data=p, lock_seconds=7200) for p in payloads]
    twin = store_recording(data=payloads[0])  # same content: one object, shared address
    assert twin.storage_key == recordings[0].storage_key
    old = timezone.now() - datetime.timedelta(seconds=1200)
    Recording.objects.filter(pk=recordings[0].pk).update(stored_at=old)

    lag = replication_lag()
    assert lag.configured and lag.pending == 4
    assert 1190 <= lag.lag_seconds <= 1300 and lag.over_threshold
    assert _metric("fieldvault_originals_replication_configured") == 1
    assert _metric("fieldvault_originals_replication_lag_seconds") >= 1190

    report = originals_replicate()
    assert (report.copied, report.already_present, report.failed) == (3, 1, [])
    assert not report.pending_left
    lag = replication_lag()
    assert lag.pending == 0 and lag.lag_seconds == 0 and not lag.over_threshold
    assert _metric("fieldvault_originals_replication_lag_seconds") == 0

    site_b = replica_store()
    bucket = settings.FV_ORIGINALS_REPLICA_BUCKET
    for recording, payload in zip(recordings, payloads, strict=True):
        replica = OriginalReplica.objects.get(recording=recording)
        assert replica.replica_version_id and replica.replica_bucket == bucket
        assert replica.source_version_id == recording.storage_version_id
        got = site_b.client.get_object(
            Bucket=bucket, Key=recording.storage_key, VersionId=replica.replica_version_id
        )
        body = got["Body"].read()
        assert hashlib.sha256(body).hexdigest() == recording.sha256 and body == payload
        assert got["Metadata"]["sha256"] == recording.sha256
        source_head = object_store().head(settings.FV_ORIGINALS_BUCKET, recording.storage_key)
        assert got["Metadata"] == source_head["Metadata"]  # re-attachable there too
        retention = site_b.retention_of(
            bucket, recording.storage_key, version_id=replica.replica_version_id
        )
        assert retention["Mode"] == "COMPLIANCE"
        assert retention["RetainUntilDate"] == replica.retain_until
        assert replica.retain_until >= timezone.now() + datetime.timedelta(seconds=7000)
        assert retention["RetainUntilDate"] == source_head["ObjectLockRetainUntilDate"]
        # COMPLIANCE at the second site: the version cannot be deleted before its date.
        with pytest.raises(ClientError):
            site_b.client.delete_object(
                Bucket=bucket, Key=recording.storage_key, VersionId=replica.replica_version_id
            )
    assert OriginalReplica.objects.get(recording=twin).replica_version_id == (
        OriginalReplica.objects.get(recording=recordings[0]).replica_version_id
    )
    second = originals_replicate()  # idempotent: nothing left to copy
    assert (second.copied, second.already_present, second.failed) == (0, 0, [])
    # A database restore loses the replica rows too: the next pass finds the copies at the
    # second site (same content address, same SHA-256) and records the same versions.
    versions = dict(OriginalReplica.objects.values_list("recording_id", "replica_version_id"))
    OriginalReplica.objects.all().delete()
    third = originals_replicate()
    assert (third.copied, third.already_present, third.failed) == (0, 4, [])
    assert dict(OriginalReplica.objects.values_list("recording_id", "replica_version_id")) == (
        versions
    )
    call_command("replicate_originals")


def test_lock_extensions_and_legal_holds_follow_to_the_second_site(
    store_recording: StoreRecording, replicated: SeaweedServer, staging_dir: Path
) -> None:
    recording = store_recording(lock_seconds=3600)
    assert originals_replicate().copied == 1
    replica = OriginalReplica.objects.get(recording=recording)
    later = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=0)
    RecordingRetention.objects.filter(recording=recording).update(retention_until=later, held=True)
    retention_sync_locks(recording_ids=[recording.pk])  # the original's lock and hold move
    retention = RecordingRetention.objects.get(recording=recording)
    assert retention.lock_until_applied == later and retention.legal_hold_applied

    report = originals_replicate()
    assert (report.copied, report.locks_extended, report.holds_changed) == (0, 1, 1)
    replica.refresh_from_db()
    assert replica.retain_until == later and replica.legal_hold
    site_b = replica_store()
    bucket = settings.FV_ORIGINALS_REPLICA_BUCKET
    version = replica.replica_version_id
    assert (
        site_b.retention_of(bucket, recording.storage_key, version_id=version)["RetainUntilDate"]
        == later
    )
    hold = site_b.client.get_object_legal_hold(
        Bucket=bucket, Key=recording.storage_key, VersionId=version
    )
    assert hold["LegalHold"]["Status"] == "ON"
    assert originals_replicate().locks_extended == 0  # caught up


def test_an_unreachable_second_site_is_lag_on_the_page_not_a_crash(
    store_recording: StoreRecording,
    replicated: SeaweedServer,
    storage_admin: User,
    settings: Any,
    staging_dir: Path,
    django_assert_max_num_queries: Any,
) -> None:
    recording = store_recording()
    Recording.objects.filter(pk=recording.pk).update(
        stored_at=timezone.now() - datetime.timedelta(seconds=1000)
    )
    settings.FV_ORIGINALS_REPLICA_S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(ObjectStoreError, match="second site's bucket"):
        originals_replicate()
    with pytest.raises(CommandError, match="second site's bucket"):
        call_command("replicate_originals")
    client = _client(storage_admin)
    with django_assert_max_num_queries(11):  # 8 for the page, 3 for the second site's lag
        page = client.get("/retention/continuity/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "site B" in html and "复制延迟超过告警阈值" in html
    assert re.search(r"1\d{3} 秒（最早一个待复制原始文件的存储时长）", html), html


def test_one_site_is_said_so(
    store_recording: StoreRecording, storage_admin: User, staging_dir: Path
) -> None:
    assert not settings.FV_ORIGINALS_REPLICA_BUCKET  # the embedded default
    store_recording()
    assert originals_replicate().copied == 0
    assert not replication_lag().configured
    assert _metric("fieldvault_originals_replication_configured") == 0
    assert _metric("fieldvault_originals_replication_lag_seconds") == -1
    html = _client(storage_admin).get("/retention/continuity/").content.decode()
    assert "原始文件只保存在一个站点" in html
    out = __import__("io").StringIO()
    call_command("replicate_originals", stdout=out)
    assert "one site" in out.getvalue()
