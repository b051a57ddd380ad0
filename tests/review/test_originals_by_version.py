"""Issue 13, item 3: overwrite and hide by key with the application's S3 credentials.

Before: the embedded identity was Admin; a plain DELETE put a delete marker over an
original, and a put_object on its key made the download hand a copy-grant holder the
forged bytes (the application read by key, never by version).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from django.conf import settings
from django.test import Client

from backend.accounts.models import Role
from backend.footage.models import Recording
from backend.footage.storage import destruction_store, object_store
from backend.review.models import AccessRegisterEntry
from backend.review.playback import OriginalMismatch
from tests.review.conftest import World, outside_copy_grant, store_recording

ROOT = Path(__file__).resolve().parents[2]


def _download(world: World, recording: Recording, grant_id: str) -> Client:
    client = Client()
    client.force_login(world.users[Role.LEGAL_OFFICER])
    return client.post(f"/recordings/{recording.pk}/download/", {"grant": grant_id})


def test_a_forged_put_on_the_key_does_not_change_the_download(world: World) -> None:
    original = os.urandom(300_000)
    recording = store_recording(device=world.device, officer=world.officer, data=original)
    assert recording.storage_version_id
    grant = outside_copy_grant(world, recording)
    bucket, key = settings.FV_ORIGINALS_BUCKET, recording.storage_key
    # The application's own identity may write (it stores originals), so it can add a
    # version under the key; the current version by key is then the forgery.
    object_store().client.put_object(
        Bucket=bucket, Key=key, Body=b"forged", Metadata={"sha256": recording.sha256}
    )
    assert object_store().client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"forged"

    response = _download(world, recording, str(grant.pk))

    if response.status_code == 302:  # a link to S3 (as before the fix): what it hands out
        body = requests.get(response["Location"], timeout=10).content
    else:
        assert response.status_code == 200, response.content
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert response["Content-Length"] == str(len(original))
    assert body == original, body[:20]
    assert AccessRegisterEntry.objects.filter(action="download").count() == 1


def test_a_download_whose_bytes_do_not_hash_to_the_record_is_refused(world: World) -> None:
    recording = store_recording(device=world.device, officer=world.officer)
    grant = outside_copy_grant(world, recording)
    bucket, key = settings.FV_ORIGINALS_BUCKET, recording.storage_key
    same_size = os.urandom(recording.size_bytes)
    forged = object_store().client.put_object(Bucket=bucket, Key=key, Body=same_size)
    other_size = object_store().client.put_object(Bucket=bucket, Key=key, Body=b"short")

    # The recorded version made to point at a forgery (as if ingest had been fooled).
    Recording.objects.filter(pk=recording.pk).update(storage_version_id=other_size["VersionId"])
    refused = _download(world, recording, str(grant.pk))
    assert refused.status_code == 409 and b"original_integrity_failed" in refused.content
    assert not AccessRegisterEntry.objects.filter(action="download").exists()

    Recording.objects.filter(pk=recording.pk).update(storage_version_id=forged["VersionId"])
    response = _download(world, recording, str(grant.pk))
    assert response.status_code == 200
    received = b""
    with pytest.raises(OriginalMismatch):
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            received += chunk
    # The stream stops short: the holder never has a complete file.
    assert len(received) < recording.size_bytes


def test_the_application_identity_cannot_delete_or_unprotect_originals(world: World) -> None:
    recording = store_recording(device=world.device, officer=world.officer)
    client = object_store().client
    bucket, key = settings.FV_ORIGINALS_BUCKET, recording.storage_key
    refused = []
    attempts = {
        "plain DELETE (delete marker)": lambda: client.delete_object(Bucket=bucket, Key=key),
        "DELETE of the version": lambda: client.delete_object(
            Bucket=bucket, Key=key, VersionId=recording.storage_version_id
        ),
        "bucket policy": lambda: client.put_bucket_policy(
            Bucket=bucket, Policy='{"Version": "2012-10-17", "Statement": []}'
        ),
        "lifecycle": lambda: client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "x",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": 1},
                    }
                ]
            },
        ),
        "object-lock configuration": lambda: client.put_object_lock_configuration(
            Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
        ),
        "versioning": lambda: client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        ),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ClientError) as error:
            attempt()
        assert error.value.response["Error"]["Code"] == "AccessDenied", name
        refused.append(name)
    batch = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}]})
    assert [e["Code"] for e in batch.get("Errors", [])] == ["AccessDenied"]
    # Still readable by key: no delete marker was written.
    assert client.head_object(Bucket=bucket, Key=key)["VersionId"] == recording.storage_version_id
    # The destruction identity may delete (here a marker; the locked version stays).
    destruction_store().client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(ClientError):
        client.head_object(Bucket=bucket, Key=key)


def _check_deploy(*flags: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FV_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="backend.config.settings.production",
        DJANGO_SECRET_KEY="k" * 20 + "-a-long-random-production-value-0123456789",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        FV_S3_ENDPOINT_URL="https://s3.bureau.example",
        FV_S3_ACCESS_KEY="fv-app-7c1d",
        FV_S3_SECRET_KEY="s3-app-secret-of-the-bureau-9f2e",
        FV_S3_DESTRUCTION_ACCESS_KEY="fv-destruction-a3b9",
        FV_S3_DESTRUCTION_SECRET_KEY="s3-destruction-secret-of-the-bureau-4d8c",
    )
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_fails_with_the_embedded_secrets() -> None:
    clean = _check_deploy()
    assert clean.returncode == 0, clean.stderr
    embedded_key = _check_deploy(
        "--fail-level", "ERROR", DJANGO_SECRET_KEY=settings.EMBEDDED_SECRET_KEY
    )
    assert embedded_key.returncode != 0 and "fieldvault.E001" in embedded_key.stderr
    embedded_s3 = _check_deploy(
        FV_S3_ACCESS_KEY="fieldvault-embedded", FV_S3_SECRET_KEY="fieldvault-embedded-secret"
    )
    assert embedded_s3.returncode != 0 and "fieldvault.E002" in embedded_s3.stderr
    shared = _check_deploy(FV_S3_DESTRUCTION_ACCESS_KEY="fv-app-7c1d")
    assert shared.returncode != 0 and "fieldvault.E003" in shared.stderr
    # Plain `check --deploy` (Django's default fail level) fails too.
    plain = _check_deploy(DJANGO_SECRET_KEY=settings.EMBEDDED_SECRET_KEY)
    assert plain.returncode != 0
