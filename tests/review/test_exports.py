"""Export packages: originals unaltered, `sha256sum -c` alone verifies, watermarks safe."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from backend.accounts.models import Role
from backend.review import services
from backend.review.models import AccessRegisterEntry, ExportPackage
from backend.review.packaging import (
    watermark_clean_text,
    watermark_filter,
    watermark_media,
)
from media.fonts import cjk_font_path
from media.probe import probe_inprocess
from media.tools import ffmpeg_binary
from tests.review.conftest import World, outside_copy_grant, store_recording

pytestmark = pytest.mark.django_db

MARKUP = "<script>alert('x')</script>: \"%{pts}\" \\ ;,[x] 法院"


def _export_zip(
    world: World, *, sample_mp4: Path, kind: str, name: str, capture: Any
) -> tuple[bytes, Any]:
    clerk = world.users[Role.LEGAL_OFFICER]
    recording = store_recording(
        device=world.device,
        officer=world.officer,
        data_path=sample_mp4,
        file_name="DSJ 0001:现场.mp4",
    )
    request = services.access_request_create(
        requester=clerk,
        requester_kind=kind,
        purpose="审判需要",
        recording_ids=[str(recording.pk)],
        want_copy=True,
        applicant_name=name,
        applicant_organisation="甲县人民法院",
        applicant_id_number="A1",
    )
    for doc in ("letter_of_introduction", "identity"):
        services.access_document_add(
            request=request,
            user=clerk,
            kind=doc,
            file_name="a.pdf",
            content_type="application/pdf",
            body=io.BytesIO(b"%PDF"),
        )
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    client = Client()
    client.force_login(clerk)
    # The watermarked copies are made by a job queued on commit (immediate in tests).
    with capture(execute=True):
        created = client.post(
            f"/api/review/grants/{grant.pk}/exports",
            {"purpose": "移送法院"},
            content_type="application/json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["proxies_state"] == "pending"
    assert ExportPackage.objects.get(pk=created.json()["id"]).proxies_state == "ready"
    response = client.get(created.json()["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content), recording  # type: ignore[attr-defined]


def test_package_verifies_with_sha256sum_alone(
    world: World, sample_mp4: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    data, recording = _export_zip(
        world,
        sample_mp4=sample_mp4,
        kind="court",
        name=MARKUP,
        capture=django_capture_on_commit_callbacks,
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    originals = [n for n in names if n.startswith("originals/")]
    proxies = [n for n in names if n.startswith("proxies/")]
    assert len(originals) == 1 and len(proxies) == 1
    assert {"SHA256SUMS", "manifest.json", "audit-extract.jsonl", "README.txt"} <= set(names)
    # The original's bytes are exactly the stored bytes.
    assert (tmp_path / originals[0]).read_bytes() == sample_mp4.read_bytes()
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # original, proxy, manifest, audit extract, and integrity/: the proof (pending: stored
    # today), the verifier and its README.
    assert check.stdout.count(": OK") == 7
    readme = (tmp_path / "README.txt").read_text(encoding="utf-8")
    assert "sha256sum -c SHA256SUMS" in readme and "如何校验" in readme
    audit = (tmp_path / "audit-extract.jsonl").read_text(encoding="utf-8")
    assert "recording.stored" in audit and "access_request.approved" in audit
    # The watermarked proxy is a different, playable file.
    proxy = tmp_path / proxies[0]
    assert proxy.read_bytes() != sample_mp4.read_bytes()
    assert probe_inprocess(proxy).video is not None
    # A bad byte in the package is caught by sha256sum alone.
    (tmp_path / originals[0]).write_bytes(b"x" + sample_mp4.read_bytes()[1:])
    broken = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert broken.returncode != 0 and "FAILED" in broken.stdout
    assert AccessRegisterEntry.objects.filter(recording=recording, action="export").count() == 1
    assert AccessRegisterEntry.objects.filter(action="download").count() == 1


def test_staff_export_has_no_proxies(world: World, sample_mp4: Path) -> None:
    outsider = world.other_users[Role.SUPERVISOR]
    request = services.access_request_create(
        requester=outsider,
        requester_kind="staff",
        purpose="复查",
        recording_ids=[str(world.recordings["own"].pk)],
        want_copy=True,
    )
    grant = services.access_request_approve(request_id=request.pk, approver=world.bureau_head)
    export = services.export_create(grant=grant, user=outsider)
    assert not export.with_proxies and export.watermark_text == ""


def test_watermark_with_markup_is_drawn_literally(tmp_path: Path) -> None:
    source = tmp_path / "black.mp4"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=640x360:r=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(source),
        ],
        check=True,
    )
    text = MARKUP + "\n第二行\x00"
    assert "\n" not in watermark_clean_text(text) and "\x00" not in watermark_clean_text(text)
    target = tmp_path / "out.mp4"
    watermark_media(
        source=str(source), target=target, text=text, media_kind="video", work_dir=tmp_path
    )
    frame = tmp_path / "frame.png"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(target),
            "-frames:v",
            "1",
            str(frame),
        ],
        check=True,
    )
    image = Image.open(frame).convert("L")
    width, height = image.size
    bottom = image.crop((0, height * 2 // 3, width, height))
    top = image.crop((0, 0, width, height // 3))
    assert bottom.getextrema()[1] > 200  # the text is there, bright on black
    assert top.getextrema()[1] < 40  # and nowhere else
    # The text never enters the filter string; unsafe paths are refused.
    built = watermark_filter(text_file=tmp_path / "t.txt", font_file=str(cjk_font_path()))
    assert "script" not in built and "expansion=none" in built
    with pytest.raises(ValueError):
        watermark_filter(text_file=Path("/tmp/x:y'.txt"), font_file=str(cjk_font_path()))


def test_download_waits_for_the_watermarked_copies_and_the_job_is_idempotent(
    world: World, sample_mp4: Path
) -> None:
    recording = store_recording(device=world.device, officer=world.officer, data_path=sample_mp4)
    grant = outside_copy_grant(world, recording)
    clerk = grant.holder
    export = services.export_create(grant=grant, user=clerk)  # its job waits for the commit
    assert export.proxies_state == "pending"
    client = Client()
    client.force_login(clerk)
    early = client.get(f"/exports/{export.pk}/download/")
    assert early.status_code == 409 and b"export_not_ready" in early.content
    assert "export-download" not in client.get(f"/exports/{export.pk}/").content.decode()
    assert not AccessRegisterEntry.objects.filter(action="download").exists()
    assert services.export_proxies_prepare(export_id=export.pk) == "ready"
    assert services.export_proxies_prepare(export_id=export.pk) == "not due"  # a duplicate job
    export.refresh_from_db()
    (proxy,) = export.proxies
    assert proxy["recording_id"] == str(recording.pk) and proxy["path"].startswith("proxies/")
    ready = client.get(f"/exports/{export.pk}/download/")
    assert ready.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(ready.streaming_content))) as archive:  # type: ignore[attr-defined]
        assert archive.read(proxy["path"]) != sample_mp4.read_bytes()
        assert f"{proxy['sha256']}  {proxy['path']}" in archive.read("SHA256SUMS").decode()
        original = next(n for n in archive.namelist() if n.startswith("originals/"))
        assert archive.read(original) == sample_mp4.read_bytes()  # never altered


def test_a_copy_that_cannot_be_made_marks_the_export_failed(world: World) -> None:
    # A "photo" whose bytes are no image: ffmpeg refuses it; the original stays as stored.
    broken = store_recording(
        device=world.device,
        officer=world.officer,
        data=b"not an image at all" * 64,
        file_name="IMG_0001.jpg",
        media_kind="photo",
    )
    grant = outside_copy_grant(world, broken)
    export = services.export_create(grant=grant, user=grant.holder)
    assert services.export_proxies_prepare(export_id=export.pk) == "failed"
    export.refresh_from_db()
    assert export.proxies_state == "failed" and "ffmpeg" in export.proxies_error
    client = Client()
    client.force_login(grant.holder)
    refused = client.get(f"/exports/{export.pk}/download/")
    assert refused.status_code == 409 and b"export_not_ready" in refused.content
    assert "生成失败" in client.get(f"/exports/{export.pk}/").content.decode()
