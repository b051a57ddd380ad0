"""Daily Merkle roots: sealing, chaining, RFC 3161 stamps from a real local TSA, the
shipped offline verifier, and audit_verify catching a database edit."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from backend.footage.models import Recording
from backend.integrity.models import DayRoot, Leaf
from backend.integrity.services.periodic import integrity_pass
from backend.integrity.services.proofs import recording_proof
from backend.integrity.services.sealing import day_seal
from backend.integrity.services.verification import integrity_verify
from provenance.merkle import EMPTY_ROOT, leaf_hash
from provenance.statements import GENESIS
from tests.integrity.conftest import closed_port_url, local_noon, stored_recording

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

VERIFIER = Path(__file__).resolve().parents[2] / "ops" / "verify_fieldvault.py"


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def run_verifier(
    file: Path, proof: dict, ca: Path | None, *, env: dict | None = None, tmp: Path
) -> subprocess.CompletedProcess[str]:
    proof_path = tmp / "proof.json"
    proof_path.write_text(json.dumps(proof, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, str(VERIFIER), str(file), str(proof_path)]
    if ca is not None:
        command += ["--ca", str(ca)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.mark.clock
def test_a_proof_verifies_offline_and_fails_when_anything_changes(
    integrity_settings, field, local_tsa, tmp_path: Path
) -> None:
    day = days_ago(2)
    recordings = [
        stored_recording(field, local_noon(day) + datetime.timedelta(minutes=i)) for i in range(5)
    ]
    outcome = integrity_pass()
    assert day in outcome.sealed
    assert day in outcome.stamp.stamped and not outcome.stamp.waiting
    recording, payload = recordings[2]
    proof = recording_proof(recording)
    assert proof["tree_size"] == 5 and proof["leaf"]["index"] == 2 and proof["timestamp"]
    file = tmp_path / recording.file_name
    file.write_bytes(payload)

    good = run_verifier(file, proof, local_tsa.ca, tmp=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "openssl ts -verify" in good.stdout and "VERIFIED" in good.stdout

    # One byte of the file.
    file.write_bytes(bytes([payload[0] ^ 1]) + payload[1:])
    assert run_verifier(file, proof, local_tsa.ca, tmp=tmp_path).returncode == 1
    file.write_bytes(payload)
    # One leaf: another leaf's data in its place (the file no longer matches) and the
    # leaf with the size changed but the file's hash kept.
    leaf = json.loads(proof["leaf"]["data"])
    leaf["clip_id"] = "forged"
    forged_leaf = {**proof, "leaf": {**proof["leaf"], "data": json.dumps(leaf)}}
    assert run_verifier(file, forged_leaf, local_tsa.ca, tmp=tmp_path).returncode == 1
    # One node of the audit path.
    path = list(proof["audit_path"])
    path[1] = hashlib.sha256(b"other").hexdigest()
    assert (
        run_verifier(file, {**proof, "audit_path": path}, local_tsa.ca, tmp=tmp_path).returncode
        == 1
    )
    # The root (in the statement, which is what the token stamps).
    statement = json.loads(proof["statement"])
    statement["root"] = hashlib.sha256(b"other root").hexdigest()
    forged_statement = json.dumps(
        statement, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    result = run_verifier(
        file, {**proof, "statement": forged_statement}, local_tsa.ca, tmp=tmp_path
    )
    assert result.returncode == 1 and "leads to" in result.stdout
    # The root *and* a path that leads to it cannot be forged without the token failing:
    # a statement for the real root with another previous day's hash.
    statement = json.loads(proof["statement"])
    statement["previous"] = hashlib.sha256(b"rewritten history").hexdigest()
    rechained = json.dumps(statement, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    result = run_verifier(file, {**proof, "statement": rechained}, local_tsa.ca, tmp=tmp_path)
    assert result.returncode == 1 and "timestamp token does not verify" in result.stdout
    # One byte of the token.
    token = bytearray(base64.b64decode(proof["timestamp"]["token"]))
    token[-40] ^= 1
    forged_token = {**proof["timestamp"], "token": base64.b64encode(bytes(token)).decode()}
    result = run_verifier(file, {**proof, "timestamp": forged_token}, local_tsa.ca, tmp=tmp_path)
    assert result.returncode == 1, result.stdout
    # Another CA: the token's signer does not chain to it.
    other_ca = tmp_path / "other-ca"
    from provenance.local_tsa import authority_make

    authority_make(other_ca)
    result = run_verifier(file, proof, other_ca / "ca.pem", tmp=tmp_path)
    assert result.returncode == 1

    # Without openssl the script says so and exits 2 (everything else verified).
    no_openssl = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    result = run_verifier(file, proof, local_tsa.ca, env=no_openssl, tmp=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "NOT verified (no `openssl` command here)" in result.stdout


@pytest.mark.clock
def test_a_database_edit_of_an_old_recording_is_caught_by_audit_verify(
    integrity_settings, field, tmp_path: Path
) -> None:
    day = days_ago(5)
    victim, _ = stored_recording(field, local_noon(day))
    stored_recording(field, local_noon(day) + datetime.timedelta(hours=1))
    stored_recording(field, local_noon(days_ago(3)))
    integrity_pass()
    call_command("audit_verify")  # intact

    Recording.objects.filter(pk=victim.pk).update(sha256="f" * 64)
    with pytest.raises(CommandError, match="day roots: 1 problem"):
        call_command("audit_verify")
    report = integrity_verify()
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert f"day {day.isoformat()} leaf 0 (recording {victim.pk})" in problem

    # An administrator who rewrites the leaf, the root and the statement as well is caught
    # by the timestamp: the token stamps the statement as it was.
    from provenance.merkle import MerkleTree
    from provenance.statements import statement_parse

    root = DayRoot.objects.get(day=day)
    leaf = Leaf.objects.get(day=root, index=0)
    data = json.loads(leaf.data)
    data["sha256"] = "f" * 64
    new_data = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    Leaf.objects.filter(pk=leaf.pk).update(
        data=new_data, leaf_hash=leaf_hash(new_data.encode()).hex()
    )
    tree = MerkleTree(
        [item.encode() for item in root.leaves.order_by("index").values_list("data", flat=True)]
    )
    statement = statement_parse(root.statement.encode())
    forged = statement.__class__(**{**statement.__dict__, "root": tree.root.hex()})
    DayRoot.objects.filter(pk=root.pk).update(
        root=tree.root.hex(),
        statement=forged.to_bytes().decode(),
        statement_hash=forged.digest().hex(),
    )
    report = integrity_verify()
    assert any(
        f"day {day.isoformat()}: the timestamp token does not match" in p for p in report.problems
    ), report.problems
    # … and the next day no longer chains to it.
    assert any("does not chain to the day before" in p for p in report.problems)


def test_a_tsa_outage_delays_the_stamp_and_the_next_pass_stamps(
    integrity_settings, field, local_tsa
) -> None:
    stored_recording(field, local_noon(days_ago(2)))
    integrity_settings.FV_TSA_URL = closed_port_url()
    outcome = integrity_pass()
    assert outcome.sealed and not outcome.stamp.stamped
    assert "unreachable" in outcome.stamp.error
    waiting = DayRoot.objects.order_by("day")
    assert all(root.stamp_token is None and root.stamp_attempts == 1 for root in waiting)
    assert integrity_verify().unstamped  # the gap is visible
    # Published unstamped: the statement now, the token once there is one.
    published = Path(integrity_settings.FV_INTEGRITY_PUBLISH_DIR)
    assert (published / f"{days_ago(2).isoformat()}.statement.json").exists()
    assert not (published / f"{days_ago(2).isoformat()}.tsr").exists()

    integrity_settings.FV_TSA_URL = local_tsa.url
    outcome = integrity_pass()
    assert not outcome.sealed and outcome.stamp.stamped and not outcome.stamp.waiting
    for root in DayRoot.objects.all():
        assert root.stamp_token is not None and root.stamp_attempts == 2
        assert root.stamp_gen_time >= root.sealed_at - datetime.timedelta(seconds=2)
    assert (published / f"{days_ago(2).isoformat()}.tsr").exists()
    assert integrity_verify().intact and not integrity_verify().unstamped


@pytest.mark.clock
def test_an_empty_day_and_a_one_leaf_day(integrity_settings, field, local_tsa, tmp_path) -> None:
    one, payload = stored_recording(field, local_noon(days_ago(4)))
    stored_recording(field, local_noon(days_ago(2)))
    integrity_pass()
    empty = DayRoot.objects.get(day=days_ago(3))
    assert empty.tree_size == 0 and empty.root == EMPTY_ROOT.hex()
    assert empty.stamp_token is not None
    single = DayRoot.objects.get(day=days_ago(4))
    assert single.tree_size == 1
    assert single.root == leaf_hash(single.leaves.get().data.encode()).hex()
    assert single.previous == GENESIS
    assert empty.previous == single.statement_hash
    proof = recording_proof(one)
    assert proof["audit_path"] == []
    file = tmp_path / "one.mp4"
    file.write_bytes(payload)
    assert run_verifier(file, proof, local_tsa.ca, tmp=tmp_path).returncode == 0
    assert integrity_verify().intact


@pytest.mark.clock
def test_a_repeated_pass_changes_nothing(integrity_settings, field) -> None:
    for days in (3, 2):
        stored_recording(field, local_noon(days_ago(days)))
    first = integrity_pass()
    assert first.sealed and first.stamp.stamped and first.published
    before = list(DayRoot.objects.order_by("day").values_list("day", "root", "statement_hash"))
    leaves = Leaf.objects.count()
    second = integrity_pass()
    assert not second.sealed and not second.stamp.stamped and not second.published
    assert (
        list(DayRoot.objects.order_by("day").values_list("day", "root", "statement_hash")) == before
    )
    assert Leaf.objects.count() == leaves
    sealed = {day: root for day, root, _hash in before}
    assert day_seal(days_ago(2)).root == sealed[days_ago(2)]  # sealing again: the sealed day
    call_command("integrity_periodic")


def test_a_pass_that_crosses_midnight_seals_only_the_days_due_at_its_start(
    integrity_settings, field, monkeypatch
) -> None:
    import time_machine

    from backend.integrity.services import sealing

    integrity_settings.FV_INTEGRITY_GRACE_SECONDS = 0
    day = timezone.localdate() + datetime.timedelta(days=30)  # X, the day that ends
    before_midnight = datetime.datetime.combine(day, datetime.time(23, 59, 59, 500000))
    before_midnight = timezone.make_aware(before_midnight)
    with time_machine.travel(before_midnight - datetime.timedelta(hours=12), tick=False) as clock:
        stored_recording(field, timezone.now())  # about noon of X
        stored_recording(field, timezone.now() - datetime.timedelta(days=1))  # noon of X-1
        clock.move_to(before_midnight)
        late, _ = stored_recording(field, timezone.now())  # 23:59:59.5 of X
        real_seal = sealing.day_seal
        after_midnight: list = []

        def seal_while_the_clock_crosses(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = real_seal(*args, **kwargs)
            if not after_midnight:
                clock.move_to(before_midnight + datetime.timedelta(seconds=1))
                after_midnight.append(stored_recording(field, timezone.now())[0])
            return result

        monkeypatch.setattr(sealing, "day_seal", seal_while_the_clock_crosses)
        outcome = integrity_pass()
        # Sealed up to X-1: X had not ended when the pass started.
        assert outcome.sealed[-1] == day - datetime.timedelta(days=1)
        assert not DayRoot.objects.filter(day=day).exists()
        assert timezone.localdate() == day + datetime.timedelta(days=1)
        outcome = integrity_pass()
    assert outcome.sealed == [day]
    sealed = DayRoot.objects.get(day=day)
    ids = [leaf.object_id for leaf in sealed.leaves.filter(kind="recording")]
    assert str(late.pk) in ids and str(after_midnight[0].pk) not in ids
    assert integrity_verify().intact


def test_roots_export_for_a_notary_is_append_only(integrity_settings, field, tmp_path) -> None:
    stored_recording(field, local_noon(days_ago(2)))
    integrity_pass()
    target = tmp_path / "notary"
    call_command("integrity_roots_export", str(target))
    names = sorted(path.name for path in target.iterdir())
    day = days_ago(2).isoformat()
    assert {"tsa-ca.pem", f"{day}.statement.json", f"{day}.tsr"} <= set(names)
    root = DayRoot.objects.get(day=days_ago(2))
    assert (target / f"{day}.statement.json").read_text() == root.statement
    # The token in the file verifies against the statement with openssl alone.
    check = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(target / f"{day}.statement.json"),
            "-in",
            str(target / f"{day}.tsr"),
            "-CAfile",
            str(target / "tsa-ca.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and "OK" in check.stdout, check.stdout + check.stderr
    call_command("integrity_roots_export", str(target))  # again: nothing changes
    assert sorted(path.name for path in target.iterdir()) == names
    # A published file is never replaced.
    (target / f"{day}.statement.json").write_text("{}")
    with pytest.raises(CommandError, match="published with other content"):
        call_command("integrity_roots_export", str(target))
    assert (target / f"{day}.statement.json").read_text() == "{}"
    file = tmp_path / "a-file"
    file.write_text("x")
    with pytest.raises(CommandError, match="not a directory"):
        call_command("integrity_roots_export", str(file))
