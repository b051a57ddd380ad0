"""/healthz, /readyz and /metrics against the real PostgreSQL, SeaweedFS and channel layer:
ready when everything answers, 503 naming the check that fails (S3 stopped, the bucket
without Object Lock, no disk headroom) without revealing addresses; metrics in the
Prometheus text format for loopback clients or the bearer token, 403 for anyone else."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from backend.footage.models import Recording, RecordingState
from backend.retention.reconcile import storage_reconcile
from ops.heartbeat import Heartbeat
from ops.ports import free_port
from tests.retention.conftest import StoreRecording, store_recording, unit

pytestmark = pytest.mark.django_db
__all__ = ["store_recording", "unit"]  # fixtures, imported for pytest
SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)$")


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def test_healthz_answers_without_the_database(django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _beating(staging_dir: Any) -> None:
    for role in ("worker", "scheduler"):
        Heartbeat(role, staging_dir).beat(force=True)


def test_readyz_is_ready_when_everything_answers(s3: Any, staging_dir: Any) -> None:
    _beating(staging_dir)
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {
        "database",
        "object_storage",
        "channel_layer",
        "staging_disk",
        "worker",
        "scheduler",
    }
    assert all(check["ok"] and check["reason"] == "ok" for check in body["checks"].values())


def test_readyz_names_the_failing_check_and_reveals_nothing(
    s3: Any, staging_dir: Any, settings: Any
) -> None:
    settings.FV_ORIGINALS_BUCKET = settings.FV_DERIVATIVES_BUCKET  # no Object Lock there
    body = Client().get("/readyz").json()
    assert body["status"] == "not_ready"
    assert body["checks"]["object_storage"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True

    settings.FV_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # S3 stopped
    response = Client().get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["object_storage"]
    assert check["ok"] is False and "127.0.0.1" not in response.content.decode()
    assert check["reason"] and len(check["reason"]) < 80

    settings.FV_READY_MIN_FREE_BYTES = 10**18  # no disk has that much free
    body = Client().get("/readyz").json()
    assert body["checks"]["staging_disk"] == {
        "ok": False,
        "reason": "staging_disk_low",
        "ms": body["checks"]["staging_disk"]["ms"],
    }
    assert str(staging_dir) not in str(body)


def test_metrics_for_loopback_and_token_only(
    store_recording: StoreRecording,
    staging_dir: Any,
    settings: Any,
    django_assert_max_num_queries: Any,
) -> None:
    staging_dir.mkdir(parents=True, exist_ok=True)
    waiting = store_recording()
    Recording.objects.filter(pk=waiting.pk).update(state=RecordingState.VERIFIED, storage_key="")
    storage_reconcile(rehash_sample=0)
    # 8 before issue 29's additions, +5: jobs, processing, two leases, latency, fixity,
    # destructions (one query each).
    with django_assert_max_num_queries(15):
        response = Client().get("/metrics")  # the test client is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.content.decode())
    assert samples['fieldvault_recordings_in_flight{state="verified"}'] == 1
    assert samples['fieldvault_recordings_in_flight{state="announced"}'] == 0
    assert samples["fieldvault_storage_queue_oldest_seconds"] >= 0
    assert samples["fieldvault_reconciliation_clean"] == 0  # the verified row's object: orphan
    assert samples['fieldvault_reconciliation_problems{kind="orphan"}'] == 1
    assert 0 <= samples["fieldvault_reconciliation_age_seconds"] < 600
    assert samples['fieldvault_backup_ok{engine="postgresql"}'] in (0, 1)
    assert samples["fieldvault_staging_free_bytes"] > 0

    remote = Client(REMOTE_ADDR="203.0.113.9")
    refused = remote.get("/metrics")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    settings.FV_METRICS_TOKEN = "metrics-secret-1"
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    allowed = remote.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret-1")
    assert allowed.status_code == 200 and "fieldvault_backup_ok" in allowed.content.decode()
    assert Client().post("/metrics").status_code == 405
