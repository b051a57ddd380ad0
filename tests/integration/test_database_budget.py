"""A web process within a small PostgreSQL connection budget (issue 14): concurrent device
manifests and uploads answer 2xx, or 503 with Retry-After in the one error shape when the
database is out of reach — never a 500.

The budget is a PostgreSQL role with CONNECTION LIMIT (PostgreSQL enforces it as it enforces
max_connections). Before the pool, Django under ASGI ran each request on a thread of its own
that kept its connection open after the thread ended (CONN_MAX_AGE 60): a few requests used
the whole budget and every later one was a 500 "too many connections".

Real uvicorn (the deployed command, ops/web.py), PostgreSQL, SeaweedFS; no mocks.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.db import connection

from backend.footage.models import Recording, RecordingState
from ops.ports import free_port
from ops.seaweed import SeaweedServer
from ops.web import uvicorn_command
from tests.factories import make_device, make_officer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BUDGET = 4  # connections the web process's role may hold at once
DEVICES = 12
ROUNDS = 2  # manifests per device, all at once


def _admin(sql: str) -> None:
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(sql)


@pytest.fixture
def budget_role(transactional_db: None) -> Iterator[str]:
    """A login role limited to BUDGET connections, allowed to read and write the test DB."""
    name = f"fv_budget_{connection.settings_dict['NAME']}"[:63]
    _admin(f'DROP ROLE IF EXISTS "{name}"')
    _admin(f'CREATE ROLE "{name}" LOGIN CONNECTION LIMIT {BUDGET}')
    _admin(f'GRANT pg_read_all_data, pg_write_all_data TO "{name}"')
    try:
        yield name
    finally:
        _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")
        for _ in range(50):
            try:
                _admin(f'DROP ROLE IF EXISTS "{name}"')
                break
            except psycopg.errors.DependentObjectsStillInUse:
                time.sleep(0.1)


def start_web(role: str, s3: SeaweedServer, tmp_path: Path, **extra: str) -> tuple[Any, str]:
    from django.conf import settings

    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.config.settings",
        "DATABASE_URL": f"postgres://{role}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "FV_VAR_DIR": str(tmp_path / "var"),
        "FV_STAGING_DIR": str(tmp_path / "staging"),
        "FV_S3_ENDPOINT_URL": s3.endpoint_url,
        "FV_S3_ACCESS_KEY": s3.access_key,
        "FV_S3_SECRET_KEY": s3.secret_key,
        "FV_ORIGINALS_BUCKET": settings.FV_ORIGINALS_BUCKET,
        "FV_DERIVATIVES_BUCKET": settings.FV_DERIVATIVES_BUCKET,
        "FV_STORE_DISPATCH": "thread",
        "FV_LOG_LEVEL": "WARNING",
        **extra,
    }
    log = (tmp_path / "web.log").open("ab")
    process = subprocess.Popen(
        uvicorn_command(host="127.0.0.1", port=port, env=env, access_log=False),
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/openapi.json", timeout=10)
            return process, url
        except requests.RequestException:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.terminate()
    raise AssertionError(f"the server did not start: {(tmp_path / 'web.log').read_text()}")


def clip(device_number: int, round_number: int) -> tuple[dict[str, Any], bytes]:
    data = os.urandom(64 * 1024 + device_number)
    begin = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1, minutes=round_number)
    entry = {
        "clip_id": f"BUDGET-{device_number:02d}-{round_number}",
        "file_name": f"budget-{device_number}-{round_number}.mp4",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "recorded_start": begin.isoformat(),
        "recorded_end": (begin + datetime.timedelta(seconds=30)).isoformat(),
        "media_kind": "video",
    }
    return entry, data


class Calls:
    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.bad: list[str] = []

    def check(self, kind: str, response: requests.Response) -> None:
        self.statuses[(kind, response.status_code)] += 1
        if response.status_code >= 500 and response.status_code != 503:
            self.bad.append(f"{kind} {response.status_code} {response.text[:300]}")
        if response.status_code == 503:
            body = response.json()
            if set(body) != {"code", "message", "details"} or "Retry-After" not in response.headers:
                self.bad.append(f"{kind} 503 without the error shape or Retry-After: {body}")


def sync_one(url: str, token: str, device_number: int, round_number: int, calls: Calls) -> bool:
    """Manifest, then the whole clip in one PATCH, retrying on 503 (after Retry-After) and
    on a busy upload, as a device does. True when the clip's PATCH was acknowledged."""
    session = requests.Session()
    entry, data = clip(device_number, round_number)
    deadline = time.monotonic() + 90
    upload_url = None
    while upload_url is None and time.monotonic() < deadline:
        response = session.post(
            f"{url}/api/sync/v1/manifest",
            json={"device_time": datetime.datetime.now(datetime.UTC).isoformat(), "clips": [entry]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        calls.check("manifest", response)
        if response.status_code == 200:
            upload_url = response.json()["clips"][0]["upload_url"]
        elif response.status_code == 503:
            time.sleep(float(response.headers.get("Retry-After", "1")))
        else:
            return False
    tus = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    while upload_url is not None and time.monotonic() < deadline:
        head = session.head(url + upload_url, headers=tus, timeout=30)
        calls.check("head", head)
        if head.status_code != 200:
            time.sleep(float(head.headers.get("Retry-After", "0.5")))
            continue
        offset = int(head.headers["Upload-Offset"])
        if offset == len(data):
            return True
        response = session.patch(
            url + upload_url,
            data=data[offset:],
            headers={
                **tus,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=60,
        )
        calls.check("patch", response)
        if response.status_code == 204:
            return True
        time.sleep(float(response.headers.get("Retry-After", "0.5")))
    return False


def run_devices(url: str, tokens: list[str]) -> tuple[Calls, list[bool]]:
    calls = Calls()
    jobs = [(n, r) for r in range(ROUNDS) for n in range(len(tokens))]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = list(pool.map(lambda job: sync_one(url, tokens[job[0]], *job, calls), jobs))
    return calls, done


def enrol_devices() -> list[str]:
    officer = make_officer()
    return [make_device(officer=officer, serial=f"BUDGET-{n:02d}")[1] for n in range(DEVICES)]


def stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_a_pool_within_the_budget_queues_requests_instead_of_failing(
    budget_role: str, s3: SeaweedServer, tmp_path: Path
) -> None:
    """The deployed configuration: the process's pool fits the role's budget. 24 devices'
    manifests and uploads at once all succeed (they wait for a connection), and every clip
    ends stored (the store threads share the same pool)."""
    tokens = enrol_devices()
    process, url = start_web(budget_role, s3, tmp_path, FV_DB_POOL_MAX=str(BUDGET))
    clip_ids = [f"BUDGET-{n:02d}-{r}" for n in range(DEVICES) for r in range(ROUNDS)]
    stored = Recording.objects.filter(clip_id__in=clip_ids, state=RecordingState.STORED)
    try:
        calls, done = run_devices(url, tokens)
        deadline = time.monotonic() + 60
        while stored.count() < len(clip_ids) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop(process)
    assert not calls.bad, calls.bad
    assert all(done), calls.statuses
    assert {status for _kind, status in calls.statuses} <= {200, 204}, calls.statuses
    assert stored.count() == len(clip_ids)


def test_a_budget_taken_by_others_answers_503_with_retry_after_never_500(
    budget_role: str, s3: SeaweedServer, tmp_path: Path
) -> None:
    """Other processes hold the whole budget: PostgreSQL refuses the server's connections.
    Requests get 503 + Retry-After in the one error shape (after the pool's timeout), never
    a 500; once the budget frees up, the devices' retries succeed and every clip's upload
    is acknowledged."""
    tokens = enrol_devices()
    db = connection.settings_dict
    others = [
        psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=budget_role,
            dbname=db["NAME"],
            autocommit=True,
        )
        for _ in range(BUDGET)
    ]
    process, url = start_web(budget_role, s3, tmp_path, FV_DB_POOL_TIMEOUT="2")
    try:
        with ThreadPoolExecutor(max_workers=1) as releaser:

            def release_later() -> None:
                time.sleep(5)
                for other in others:
                    other.close()

            released = releaser.submit(release_later)
            calls, done = run_devices(url, tokens)
            released.result()
    finally:
        for other in others:
            other.close()
        stop(process)
    assert not calls.bad, calls.bad
    assert {status for _kind, status in calls.statuses} <= {200, 204, 503}, calls.statuses
    assert calls.statuses[("manifest", 503)] > 0, calls.statuses  # the budget did bind
    assert all(done), calls.statuses
