"""A typical case from a closed case file: pre-filled from the case and its decision, the
natural-person party masked, a minor's name masked for good; an open case refused."""

from __future__ import annotations

import datetime

import pytest

from backend.caselibrary.models import Redaction
from backend.caselibrary.services import library_case_start, redaction_set_undone
from backend.cases.models import Case, Decision
from backend.config.errors import Conflict
from tests.caselibrary.conftest import LibraryWorld, public_text_of

pytestmark = pytest.mark.django_db


def _case(world: LibraryWorld, *, stage: str, minor: bool = False) -> Case:
    sequence = Case.objects.filter(unit=world.county).count() + 1
    case = Case.objects.create(
        unit=world.county,
        year=2026,
        sequence=sequence,
        number=f"青司罚〔2026〕{sequence}号",
        category="行政处罚",
        matter="未经许可从事法律服务",
        party_name="黄小明",
        party_kind="natural",
        party_minor=minor,
        stage=stage,
        filed_on=datetime.date(2026, 3, 2),
        opened_by=world.county_reviewer,
    )
    Decision.objects.create(
        case=case,
        kind="penalty",
        document_number=f"青司罚决〔2026〕{sequence}号",
        summary="黄小明（电话13607712345）以律师名义代理诉讼，给予警告并罚款五千元",
        legal_basis="《中华人民共和国律师法》第五十五条",
        decided_on=datetime.date(2026, 4, 1),
        recorded_by=world.county_reviewer,
    )
    return case


def test_closed_case_becomes_a_masked_draft(library_world: LibraryWorld) -> None:
    world = library_world
    case = _case(world, stage="closed")
    draft = library_case_start(
        actor=world.county_reviewer, category_code="lawyers", case_id=case.pk
    )
    assert "律师法》第五十五条" in draft.analysis and "黄小明" in draft.facts
    text = public_text_of(draft)
    assert "黄小明" not in text and "13607712345" not in text and "黄某" in text
    with pytest.raises(Conflict):
        library_case_start(
            actor=world.county_reviewer,
            category_code="lawyers",
            case_id=_case(world, stage="investigating").pk,
        )


def test_a_minor_is_always_masked(library_world: LibraryWorld) -> None:
    world = library_world
    draft = library_case_start(
        actor=world.county_reviewer,
        category_code="lawyers",
        case_id=_case(world, stage="closed", minor=True).pk,
    )
    name = Redaction.objects.get(case=draft, kind="name")
    assert name.minor
    with pytest.raises(Conflict) as refused:
        redaction_set_undone(
            actor=world.county_reviewer, case_id=draft.pk, redaction_id=name.pk, undone=True
        )
    assert refused.value.code == "minor_always_masked"
