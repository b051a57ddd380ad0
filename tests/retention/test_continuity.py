"""The storage admins' backup-and-reconciliation page, and the backup position it shows:
read from a real Litestream replica in the test SeaweedFS (Litestream replicating a SQLite
file there), and from PostgreSQL's WAL archiver when the database is PostgreSQL."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from backend.accounts.models import User
from backend.retention.continuity import _litestream_position, backup_position
from backend.retention.reconcile import storage_reconcile
from ops.seaweed import SeaweedServer
from tests.retention.conftest import StoreRecording

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


def _client(user: User, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def litestream_replica(s3: SeaweedServer, tmp_path: Path, settings: Any) -> Any:
    """A SQLite file replicated by the real Litestream into a fresh bucket; yields a
    function that commits one row and returns once the replica's position moved."""
    settings.FV_BACKUP_BUCKET = f"fv-db-backup-{uuid.uuid4().hex[:8]}"
    settings.FV_BACKUP_S3_ENDPOINT_URL = s3.endpoint_url
    settings.FV_BACKUP_S3_ACCESS_KEY = s3.access_key
    settings.FV_BACKUP_S3_SECRET_KEY = s3.secret_key
    database = tmp_path / "replicated.sqlite3"
    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (i INTEGER)")
    db.commit()
    env = {
        **os.environ,
        "FV_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{database}",
        "FV_S3_ENDPOINT_URL": s3.endpoint_url,
        "FV_BACKUP_BUCKET": settings.FV_BACKUP_BUCKET,
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.litestream", "replicate"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield db
    finally:
        process.terminate()
        process.wait(timeout=30)
        db.close()


def _position_after(db: sqlite3.Connection, previous: str) -> Any:
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        position = _litestream_position()
        if position.position and position.position > previous:
            return position
        time.sleep(0.3)
    pytest.fail(f"the replica did not move past {previous!r}: {position}")


def test_litestream_position_follows_the_commits(litestream_replica: sqlite3.Connection) -> None:
    first = _position_after(litestream_replica, "")
    assert first.engine == "sqlite" and not first.error and first.at is not None
    assert 0 <= (first.age_seconds or 0) < 60
    second = _position_after(litestream_replica, first.position)
    assert int(second.position, 16) > int(first.position, 16)


def test_no_replica_is_said_so(s3: SeaweedServer, settings: Any) -> None:
    settings.FV_BACKUP_BUCKET = settings.FV_ORIGINALS_BUCKET  # reachable, holds no LTX files
    settings.FV_BACKUP_S3_ENDPOINT_URL = s3.endpoint_url
    position = _litestream_position()
    assert position.position == "" and position.error == "no backup in the bucket"


def test_postgres_position_is_the_wal_archiver() -> None:
    position = backup_position()  # the test database is PostgreSQL
    assert position.engine == "postgresql" and "archive_mode=" in position.target
    # This machine's PostgreSQL may archive or not; the page says which.
    assert position.error == "archive_mode=off" or position.position or position.error


def test_page_shows_position_and_last_reconciliation_within_budget(
    store_recording: StoreRecording,
    storage_admin: User,
    django_assert_max_num_queries: Any,
) -> None:
    lost = store_recording(put=False)
    store_recording()
    run = storage_reconcile(trigger="after_restore", rehash_sample=1)
    assert not run.is_clean
    client = _client(storage_admin)
    with django_assert_max_num_queries(8):
        page = client.get("/retention/continuity/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "备份与对账" in html and "PostgreSQL 预写日志（WAL）归档" in html
    assert "不一致" in html and str(lost.pk) in html and "恢复之后" in html
    assert "未复制到第二站点" in html
    assert run.finished_at <= timezone.now()


@pytest.fixture
def language_restored() -> Any:
    """An English request leaves English active in this thread (LocaleMiddleware): put the
    default back so the tests after this one read Chinese as they expect."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_page_in_english_has_no_chinese_ui_text(
    store_recording: StoreRecording, storage_admin: User, language_restored: Any
) -> None:
    store_recording()
    storage_reconcile(rehash_sample=1)
    html = _client(storage_admin, "en").get("/retention/continuity/").content.decode()
    assert '<html lang="en">' in html
    for phrase in ("Backup and reconciliation", "Last reconciliation", "Consistent"):
        assert phrase in html, phrase
    text = re.sub(r"<[^>]*>", " ", html.split("<main", 1)[-1])
    assert sorted(set(CJK.findall(text))) == []
