"""The submission package round trip between two installations: an accepted case leaves as
PDF + JSON + a manifest with hashes; the receiving installation (here: the same database
after the case is removed, as if it had never been there) imports it once, into its
library, searchable; a changed byte refuses the whole package."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from backend.caselibrary import selectors
from backend.caselibrary.models import LibraryCase, LibraryState, SourceKind
from backend.caselibrary.services import library_case_review, library_case_submit
from backend.caselibrary.services.package import package_build, package_import
from backend.config.errors import Conflict, InvalidInput, PermissionDenied
from tests.caselibrary.conftest import SUBJECT_NAME, LibraryWorld
from tests.caselibrary.test_library import start

pytestmark = pytest.mark.django_db


def accepted(world: LibraryWorld) -> LibraryCase:
    case = start(world)
    library_case_submit(actor=world.author, case_id=case.pk)
    for reviewer in (world.county_reviewer, world.city_reviewer, world.province_reviewer):
        case = library_case_review(actor=reviewer, case_id=case.pk, verdict="approve")
    return case


def test_package_round_trip(
    library_world: LibraryWorld, django_assert_max_num_queries: Any
) -> None:
    world = library_world
    case = accepted(world)
    public = (case.public_title, case.public_facts, case.public_handling, case.public_analysis)
    client = Client()
    client.force_login(world.province_reviewer)
    with django_assert_max_num_queries(8):
        assert str(case.pk) in client.get("/library/package/").content.decode()
    response = client.post("/library/package/", {"cases": [str(case.pk)]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = response.content
    assert hashlib.sha256(data).hexdigest() == response["X-Content-SHA256"]
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["cases"] == [str(case.pk)]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    pdf = archive.read(f"cases/{case.pk}.pdf")
    assert pdf.startswith(b"%PDF")
    record = json.loads(archive.read(f"cases/{case.pk}.json"))
    assert SUBJECT_NAME not in json.dumps(record, ensure_ascii=False)
    assert [h["by"] for h in record["history"]] == ["覃矫正", "陆县审", "蒙市审", "黎厅审"]
    # Not the city's own bureau? The city packages its units' cases only.
    with pytest.raises(InvalidInput):
        package_build(actor=world.other_reviewer, case_ids=[case.pk])
    with pytest.raises(PermissionDenied):
        package_build(actor=world.author, case_ids=[case.pk])

    # A changed byte: the whole package refused.
    tampered = io.BytesIO()
    with zipfile.ZipFile(tampered, "w") as out:
        for item in archive.infolist():
            content = archive.read(item.filename)
            if item.filename.endswith(".json") and item.filename.startswith("cases/"):
                content = content.replace("韦某".encode(), "韦建华".encode())
            out.writestr(item.filename, content)
    with pytest.raises(Conflict):
        package_import(actor=world.province_reviewer, data=tampered.getvalue())
    with pytest.raises(InvalidInput):
        package_import(actor=world.province_reviewer, data=b"not a zip")

    # The receiving installation: the case is not there yet.
    LibraryCase.objects.filter(pk=case.pk).delete()
    upload = SimpleUploadedFile("package.zip", data, content_type="application/zip")
    assert client.post("/library/import/", {"file": upload}).status_code == 302
    imported = LibraryCase.objects.get(origin=str(case.pk))
    assert imported.state == LibraryState.ACCEPTED and imported.source_kind == SourceKind.IMPORTED
    assert (
        imported.public_title,
        imported.public_facts,
        imported.public_handling,
        imported.public_analysis,
    ) == public
    assert imported.origin_unit == world.office.name and imported.author_name == "覃矫正"
    assert set(imported.terms.values_list("term", flat=True)) == {"警告", "收监执行"}
    reader = world.other_reviewer
    assert [c.pk for c in selectors.library_search(reader, query="收监执行")[0]] == [imported.pk]
    # Imported once: the same package again adds nothing; and it packs again identically.
    assert package_import(actor=world.province_reviewer, data=data) == []
    again, _digest = package_build(actor=world.province_reviewer, case_ids=[imported.pk])
    again_record = json.loads(zipfile.ZipFile(io.BytesIO(again)).read(f"cases/{case.pk}.json"))
    assert again_record == record
