"""The integrity/ folder of every export package (checked with the shipped script alone),
the public roots endpoint, the proof endpoint and the page."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role
from backend.footage.models import Recording
from backend.integrity.services.periodic import integrity_pass
from backend.review import services
from backend.review.packaging import export_stream
from tests.review.conftest import World, store_recording
from tests.review.conftest import sample_mp4 as sample_mp4
from tests.review.conftest import world as world_fixture

world = world_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _backdate(recording: Recording, days: int) -> Recording:
    stored = timezone.now() - datetime.timedelta(days=days)
    Recording.objects.filter(pk=recording.pk).update(stored_at=stored)
    recording.refresh_from_db()
    return recording


@pytest.mark.clock
def test_every_export_package_carries_proofs_that_the_shipped_script_verifies(
    world: World, integrity_settings, tmp_path: Path
) -> None:
    old = _backdate(world.recordings["own"], 3)
    fresh = store_recording(device=world.device, officer=world.officer, file_name="today.mp4")
    integrity_pass()
    outsider = world.other_users[Role.SUPERVISOR]
    request = services.access_request_create(
        requester=outsider,
        requester_kind="staff",
        purpose="复查",
        recording_ids=[str(old.pk), str(fresh.pk)],
        want_copy=True,
    )
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    export = services.export_create(grant=grant, user=outsider)
    data = b"".join(export_stream(export))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    assert {
        "integrity/verify_fieldvault.py",
        "integrity/README.txt",
        "integrity/tsa-ca.pem",
    } <= names
    readme = (tmp_path / "integrity" / "README.txt").read_text(encoding="utf-8")
    assert "完整性证明" in readme and "Proof of integrity" in readme
    day = timezone.localtime(old.stored_at).date().isoformat()
    assert f"integrity/roots/{day}.statement.json" in names
    assert f"integrity/roots/{day}.tsr" in names
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout
    original = next(n for n in names if n.startswith("originals/") and str(old.pk)[:8] in n)
    proof = f"integrity/proofs/{Path(original).name}.proof.json"
    result = subprocess.run(
        [
            sys.executable,
            "integrity/verify_fieldvault.py",
            original,
            proof,
            "--ca",
            "integrity/tsa-ca.pem",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The recording stored today has no proof yet, and says so.
    pending = next(n for n in names if n.startswith("integrity/proofs/") and str(fresh.pk)[:8] in n)
    assert json.loads((tmp_path / pending).read_text())["pending"] is True


@pytest.mark.clock
def test_roots_are_public_and_a_proof_is_for_those_who_see_the_recording(
    world: World, integrity_settings
) -> None:
    old = _backdate(world.recordings["own"], 2)
    integrity_pass()
    anonymous = Client()
    roots = anonymous.get("/api/integrity/roots")
    assert roots.status_code == 200
    body = roots.json()
    assert body["tsa_ca_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert body["roots"] and all(r["stamped"] and r["stamp_token"] for r in body["roots"])
    since = body["roots"][-1]["day"]
    assert [
        r["day"] for r in anonymous.get(f"/api/integrity/roots?since={since}").json()["roots"]
    ] == [since]
    bad = anonymous.get("/api/integrity/roots?since=yesterday")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert anonymous.get("/api/integrity/roots?limit=0").status_code == 422

    path = f"/api/integrity/recordings/{old.pk}/proof"
    assert anonymous.get(path).status_code == 401
    supervisor = Client()
    supervisor.force_login(world.users[Role.SUPERVISOR])
    proof = supervisor.get(path)
    assert proof.status_code == 200 and proof.json()["leaf"]["index"] >= 0
    outsider = Client()
    outsider.force_login(world.other_users[Role.SUPERVISOR])
    assert outsider.get(path).json()["code"] == "recording_not_found"
    storage = Client()
    storage.force_login(world.users[Role.STORAGE_ADMIN])
    assert storage.get(path).status_code == 404
    assert supervisor.get("/api/integrity/recordings/not-a-uuid/proof").status_code == 404
    # Stored today: its day is not sealed.
    fresh = store_recording(device=world.device, officer=world.officer)
    pending = supervisor.get(f"/api/integrity/recordings/{fresh.pk}/proof")
    assert pending.status_code == 409 and pending.json()["code"] == "proof_pending"

    page = supervisor.get("/integrity/")
    assert page.status_code == 200
    assert body["roots"][-1]["root"][:14] in page.content.decode()


@pytest.mark.clock
def test_documents_added_to_a_request_file_are_leaves_of_their_day(
    world: World, integrity_settings
) -> None:
    from backend.integrity.models import Leaf
    from backend.integrity.services.verification import integrity_verify
    from backend.review.models import AccessDocument

    clerk = world.users[Role.LEGAL_OFFICER]
    request = services.access_request_create(
        requester=clerk,
        requester_kind="court",
        purpose="审判需要",
        recording_ids=[str(world.recordings["own"].pk)],
        want_copy=True,
        applicant_name="李四",
        applicant_organisation="甲县人民法院",
        applicant_id_number="A1",
    )
    document = services.access_document_add(
        request=request,
        user=clerk,
        kind="letter_of_introduction",
        file_name="介绍信.pdf",
        content_type="application/pdf",
        body=io.BytesIO(b"%PDF-1.4 letter"),
    )
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    AccessDocument.objects.filter(pk=document.pk).update(uploaded_at=two_days_ago)
    integrity_pass()
    leaf = Leaf.objects.get(kind="access_document", object_id=str(document.pk))
    assert leaf.day.day == timezone.localtime(two_days_ago).date()
    assert json.loads(leaf.data)["sha256"] == document.sha256
    assert integrity_verify().intact
    AccessDocument.objects.filter(pk=document.pk).update(sha256="0" * 64)
    problems = integrity_verify().problems
    assert len(problems) == 1 and f"(access_document {document.pk})" in problems[0]
