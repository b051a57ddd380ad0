"""The case library's pages through the test client: the flow from a correction record to
the library, each page's query budget, and precise 4xx for bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.caselibrary.models import LibraryCase, LibraryState, Redaction, SubjectTerm
from tests.caselibrary.conftest import SUBJECT_ID, SUBJECT_NAME, SUBJECT_PHONE, LibraryWorld

pytestmark = pytest.mark.django_db


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_from_record_to_library_through_the_pages(
    library_world: LibraryWorld, django_assert_max_num_queries: Any
) -> None:
    world = library_world
    author = client_of(world.author)
    subject = str(world.subject.pk)
    with django_assert_max_num_queries(12):
        page = author.get(f"/library/new/?subject={subject}")
    assert page.status_code == 200 and "警告" in page.content.decode()
    term = SubjectTerm.objects.get(term="警告")
    response = author.post(
        "/library/new/",
        {"subject": subject, "category": "correction-warning", "terms": [term.pk]},
    )
    assert response.status_code == 302
    case = LibraryCase.objects.get(source_subject=world.subject)
    assert response["Location"] == f"/library/{case.pk}/masking/"
    with django_assert_max_num_queries(14):
        masking = author.get(f"/library/{case.pk}/masking/")
    html = masking.content.decode()
    # Side by side: the original marked as deleted, the alias as inserted.
    assert f"<del>{SUBJECT_NAME}</del>" in html and "<ins>韦某</ins>" in html
    assert f"<del>{SUBJECT_PHONE}</del>" in html and 'id="detector-clean"' in html
    with django_assert_max_num_queries(14):
        detail = author.get(f"/library/{case.pk}/")
    text = detail.content.decode()
    assert SUBJECT_NAME not in text.split('id="evidence"')[0]
    assert SUBJECT_ID not in text and 'id="submit-form"' in text
    # Undo the alias on the page: the detector lists the name; submission refused (409).
    name = Redaction.objects.get(case=case, kind="name")
    assert author.post(f"/library/{case.pk}/unmask/", {"redaction": name.pk}).status_code == 302
    assert 'id="detector-findings"' in author.get(f"/library/{case.pk}/masking/").content.decode()
    refused = author.post(f"/library/{case.pk}/submit/")
    assert refused.status_code == 409 and "identifiers_found" in refused.content.decode()
    assert author.post(f"/library/{case.pk}/remask/", {"redaction": name.pk}).status_code == 302
    assert author.post(f"/library/{case.pk}/submit/").status_code == 302
    # The levels, each on its page.
    for reviewer in (world.county_reviewer, world.city_reviewer, world.province_reviewer):
        client = client_of(reviewer)
        with django_assert_max_num_queries(10):
            queue = client.get("/library/drafts/")
        assert str(case.pk) in queue.content.decode()
        assert 'id="review-form"' in client.get(f"/library/{case.pk}/").content.decode()
        assert client.post(f"/library/{case.pk}/approve/").status_code == 302
    assert LibraryCase.objects.get(pk=case.pk).state == LibraryState.ACCEPTED
    reader = client_of(world.other_reviewer)
    with django_assert_max_num_queries(10):
        found = reader.get("/library/", {"q": "警告", "category": "community-correction"})
    assert str(case.pk) in found.content.decode()
    page = reader.get(f"/library/{case.pk}/").content.decode()
    assert "韦某" in page and SUBJECT_NAME not in page and 'id="evidence"' not in page
    # The source text stays with the author unit and the reviewers, also after acceptance.
    assert reader.get(f"/library/{case.pk}/masking/").status_code == 403


def test_a_returned_case_shows_its_history(library_world: LibraryWorld) -> None:
    world = library_world
    author = client_of(world.author)
    author.post(
        "/library/new/", {"subject": str(world.subject.pk), "category": "correction-warning"}
    )
    case = LibraryCase.objects.get(source_subject=world.subject)
    author.post(f"/library/{case.pk}/submit/")
    county = client_of(world.county_reviewer)
    assert county.post(f"/library/{case.pk}/return/").status_code == 400  # comments required
    assert county.post(f"/library/{case.pk}/return/", {"comments": "补充评析"}).status_code == 302
    page = author.get(f"/library/{case.pk}/").content.decode()
    assert "补充评析" in page and "陆县审" in page and "覃矫正" in page
    assert 'id="edit-link"' in page
    edit = author.get(f"/library/{case.pk}/edit/")
    assert edit.status_code == 200
    saved = author.post(
        f"/library/{case.pk}/edit/",
        {
            "title": "未经批准离开居住地受警告案",
            "facts": case.facts,
            "handling": case.handling + "\n车牌桂A12345。",
            "analysis": case.analysis,
            "category": "correction-warning",
        },
    )
    assert saved.status_code == 302
    assert Redaction.objects.filter(case=case, kind="plate", original="桂A12345").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/library/?after=nonsense",
        "/library/?term=abc",
        "/library/new/",
        "/library/new/?subject=not-a-uuid",
    ],
)
def test_bad_input_is_a_precise_400(library_world: LibraryWorld, path: str) -> None:
    assert client_of(library_world.author).get(path).status_code == 400


def test_unknown_action_and_redaction(library_world: LibraryWorld) -> None:
    world = library_world
    author = client_of(world.author)
    author.post(
        "/library/new/", {"subject": str(world.subject.pk), "category": "correction-warning"}
    )
    case = LibraryCase.objects.get(source_subject=world.subject)
    assert author.post(f"/library/{case.pk}/explode/").status_code == 404
    assert author.post(f"/library/{case.pk}/unmask/", {"redaction": "x"}).status_code == 400
    assert author.post(f"/library/{case.pk}/unmask/", {"redaction": "999999"}).status_code == 404
    assert author.post(f"/library/{case.pk}/mask/", {"original": "x"}).status_code == 400
