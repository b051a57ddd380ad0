"""Policies, retention dates and object locks, against the real SeaweedFS and PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core.management import call_command

from backend.accounts.models import User
from backend.config.errors import Conflict
from backend.footage.models import Recording
from backend.footage.storage import destruction_store, object_store
from backend.retention.models import PERMANENT_UNTIL, RecordingRetention, RetentionPolicy
from backend.retention.services import (
    PolicyRule,
    evidence_mark_add,
    retention_check_locks,
    retention_policy_preview,
    retention_policy_set,
    retention_sync_locks,
    winning_rule,
)
from tests.retention.conftest import StoreRecording, object_lock_until, retention_of


def test_longest_applicable_period_wins_and_permanent_beats_all() -> None:
    rules = {
        "default": PolicyRule("default", "默认", 184, False),
        "enforcement:行政处罚": PolicyRule("enforcement:行政处罚", "处罚", 1095, False),
        "evidence": PolicyRule("evidence", "证据", None, True),
    }
    assert winning_rule(["default"], rules).period_days == 184
    assert winning_rule(["default", "enforcement:行政处罚"], rules).period_days == 1095
    assert winning_rule(["default", "enforcement:行政处罚", "evidence"], rules).permanent
    anchor = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert rules["evidence"].until(anchor) == PERMANENT_UNTIL
    assert rules["default"].until(anchor) == anchor + datetime.timedelta(days=184)
    # No policy at all: the system default from settings, never "no retention".
    assert winning_rule(["unknown"], {}).period_days == settings.FV_ORIGINAL_RETENTION_DAYS


@pytest.mark.clock
@pytest.mark.django_db
def test_each_recording_shows_date_and_reason(store_recording: StoreRecording) -> None:
    recording = store_recording(ended_days_ago=1, lock_seconds=60)
    row = retention_of(recording)
    assert row.categories == ",default,"
    assert row.policy_until == row.anchor_at + datetime.timedelta(days=184)
    assert row.retention_until == row.policy_until  # later than the 60 s initial lock
    assert "184" in row.reason and "未关联执法结论" in row.reason
    # The object's lock was extended from 60 s to the policy date.
    retention_sync_locks()
    assert object_lock_until(recording) == row.retention_until
    assert retention_check_locks() == []


@pytest.mark.clock
@pytest.mark.django_db
def test_evidence_mark_makes_it_permanent_and_extends_the_lock(
    store_recording: StoreRecording, legal_officer: User
) -> None:
    recording = store_recording()
    evidence_mark_add(
        actor=legal_officer,
        recording_id=recording.pk,
        kind="evidence",
        case_ref="(2026)司罚字第12号",
    )
    row = retention_of(recording)
    assert row.permanent and row.retention_until == PERMANENT_UNTIL
    assert "证据" in row.reason
    # Read back from SeaweedFS: the COMPLIANCE lock now runs to the permanent date.
    assert object_lock_until(recording) == PERMANENT_UNTIL
    assert row.lock_until_applied == PERMANENT_UNTIL


@pytest.mark.clock
@pytest.mark.django_db
def test_policy_change_preview_lists_exact_changes_then_extends_locks(
    store_recording: StoreRecording, storage_admin: User, legal_officer: User
) -> None:
    a = store_recording(ended_days_ago=10)
    b = store_recording(ended_days_ago=20)
    evidence = store_recording(ended_days_ago=30)
    evidence_mark_add(actor=legal_officer, recording_id=evidence.pk, kind="evidence")
    retention_sync_locks()
    before = {r.pk: retention_of(r).retention_until for r in (a, b)}

    preview = retention_policy_preview(category="default", period_days=400, permanent=False)
    assert preview.refused_reason is None
    assert preview.total_changed == 2 and preview.later == 2 and preview.earlier == 0
    changes = {c.recording_id: c for c in preview.changes}
    assert set(changes) == {str(a.pk), str(b.pk)}  # the permanent one does not move
    for r in (a, b):
        change = changes[str(r.pk)]
        assert change.old_until == before[r.pk]
        assert change.new_until == retention_of(r).anchor_at + datetime.timedelta(days=400)
    # A preview writes nothing.
    assert RetentionPolicy.objects.get(category="default").period_days == 184

    retention_policy_set(
        actor=storage_admin,
        category="default",
        name="未关联执法结论的音像记录",
        period_days=400,
        permanent=False,
    )
    for r in (a, b):
        row = retention_of(r)
        assert row.retention_until == changes[str(r.pk)].new_until
        assert object_lock_until(r) == row.retention_until  # extended in SeaweedFS
    assert retention_of(evidence).retention_until == PERMANENT_UNTIL
    assert retention_check_locks() == []


@pytest.mark.django_db
def test_policy_change_that_would_shorten_a_lock_is_refused_with_reason(
    store_recording: StoreRecording, storage_admin: User
) -> None:
    recording = store_recording()
    retention_policy_set(
        actor=storage_admin, category="default", name="默认", period_days=400, permanent=False
    )
    locked = object_lock_until(recording)
    with pytest.raises(Conflict) as refused:
        retention_policy_set(
            actor=storage_admin, category="default", name="默认", period_days=100, permanent=False
        )
    assert refused.value.code == "policy_would_shorten"
    assert "不能缩短" in refused.value.message
    assert refused.value.details["earlier"] == 1
    assert refused.value.details["examples"] == [str(recording.pk)]
    assert RetentionPolicy.objects.get(category="default").period_days == 400
    assert retention_of(recording).retention_until == locked
    # And S3 itself refuses a shorter COMPLIANCE date.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        object_store().client.put_object_retention(
            Bucket=settings.FV_ORIGINALS_BUCKET,
            Key=recording.storage_key,
            Retention={
                "Mode": "COMPLIANCE",
                "RetainUntilDate": locked - datetime.timedelta(days=10),
            },
        )


@pytest.mark.django_db
def test_check_command_reports_database_and_lock_disagreement(
    store_recording: StoreRecording, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = store_recording()
    retention_sync_locks()
    call_command("retention_check_locks")
    assert "0 disagreement(s)" in capsys.readouterr().out
    # Someone moves the database date later without the lock following.
    row = retention_of(recording)
    RecordingRetention.objects.filter(pk=row.pk).update(
        retention_until=row.retention_until + datetime.timedelta(days=30)
    )
    with pytest.raises(SystemExit):
        call_command("retention_check_locks")
    out = capsys.readouterr().out
    assert "DISAGREE" in out and str(recording.pk) in out and "1 disagreement(s)" in out
    # --fix extends the lock, after which they agree.
    call_command("retention_check_locks", "--fix")
    assert "0 disagreement(s)" in capsys.readouterr().out


@pytest.mark.clock
@pytest.mark.django_db
def test_storing_a_recording_gives_it_retention_and_its_lock(
    s3: object, staging_dir: object
) -> None:
    """The real footage path: manifest, upload hook, storage; then the AFTER_STORED hook."""
    from backend.footage.models import Recording
    from sync.models import Upload
    from tests.factories import make_device, random_clip
    from tests.integration.test_manifest_and_storage import (
        clip,
        post_manifest,
        received,
        stage_bytes,
    )

    _device, token = make_device()
    data, digest = random_clip()
    assert post_manifest(token, [clip("R1", data)]).status_code == 200
    upload = Upload.objects.get(recording__clip_id="R1")
    stage_bytes(upload, data)
    received(upload, digest)
    recording = Recording.objects.get(clip_id="R1")
    row = retention_of(recording)
    assert row.lock_floor_until is not None  # the lock footage applied, read back from S3
    assert row.retention_until == max(row.policy_until, row.lock_floor_until)
    assert object_lock_until(recording) == row.retention_until
    assert retention_check_locks() == []


@pytest.mark.django_db
def test_seaweedfs_really_enforces_compliance_retention(store_recording: StoreRecording) -> None:
    """Evidence that the lock is real in SeaweedFS, not just a date in our database: the
    locked version cannot be deleted, shortened or downgraded; extension is accepted and
    read back; a plain DELETE only hides the version behind a delete marker."""
    from botocore.exceptions import ClientError

    recording = store_recording(lock_seconds=3600)
    client = object_store().client  # the application's: extends locks
    # The destruction identity, which may delete: the lock, not a missing right, refuses.
    destroyer = destruction_store().client
    bucket, key = settings.FV_ORIGINALS_BUCKET, recording.storage_key
    head = client.head_object(Bucket=bucket, Key=key)
    version = head["VersionId"]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]

    with pytest.raises(ClientError) as deleting:
        destroyer.delete_object(Bucket=bucket, Key=key, VersionId=version)
    assert deleting.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):  # "bypass" is for GOVERNANCE only
        destroyer.delete_object(
            Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
        )
    with pytest.raises(ClientError):
        client.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
        )
    with pytest.raises(ClientError):
        client.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(1)},
        )
    later = until + datetime.timedelta(days=30)
    client.put_object_retention(
        Bucket=bucket,
        Key=key,
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later},
    )
    assert object_lock_until(recording) == later

    # A plain DELETE is accepted (delete marker) but the locked version survives it.
    destroyer.delete_object(Bucket=bucket, Key=key)
    assert object_store().head(bucket, key) is None
    versions = client.list_object_versions(Bucket=bucket, Prefix=key)
    assert [v["VersionId"] for v in versions["Versions"] if v["Key"] == key] == [version]
    assert client.head_object(Bucket=bucket, Key=key, VersionId=version)["ContentLength"] == (
        recording.size_bytes
    )
    # The application reads the version recorded at ingest, which the marker does not hide;
    # for an original stored before versions were recorded, the check command sees the
    # hidden object as a disagreement.
    (by_version,) = retention_check_locks()  # found; only its lock awaits extension
    assert by_version.object_until is not None
    Recording.objects.filter(pk=recording.pk).update(storage_version_id="")
    problems = retention_check_locks()
    assert [p.key for p in problems] == [key] and problems[0].object_until is None


@pytest.mark.django_db
def test_periodic_lock_sync_works_through_every_behind_object_in_batches(
    store_recording: StoreRecording,
) -> None:
    """After a policy change many objects are behind: the periodic pass extends them batch
    after batch within its time budget; a missing object is tried once and does not stall
    the others."""
    from backend.retention.services import retention_sync_locks_for

    recordings = [store_recording() for _ in range(3)]
    lost = store_recording(put=False)
    report = retention_sync_locks_for(seconds=60, batch=1)
    assert sorted(report.extended) == sorted(r.storage_key for r in recordings)
    assert report.missing == [lost.storage_key] and report.checked == 4
    for r in recordings:
        assert object_lock_until(r) == retention_of(r).retention_until
    # Nothing behind any more but the lost one, which was tried in this pass already.
    again = retention_sync_locks_for(seconds=60, batch=1)
    assert again.extended == [] and again.missing == [lost.storage_key]
