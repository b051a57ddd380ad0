"""The case library end to end against PostgreSQL: a correction record with a 警告 and a
收监 becomes a draft whose text holds no real name, identity or phone number (checked by the
detector independent of the masking code); the review chain county → city → province with
a return and a rejection; confidentiality before acceptance; the full-text search."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.caselibrary import selectors
from backend.caselibrary.detection import find_identifiers
from backend.caselibrary.models import (
    LibraryCase,
    LibraryCategory,
    LibraryState,
    Redaction,
    SubjectTerm,
)
from backend.caselibrary.services import (
    library_case_edit,
    library_case_review,
    library_case_start,
    library_case_submit,
    masked_sections,
    redaction_add,
    redaction_set_undone,
)
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.caselibrary.conftest import (
    SUBJECT_ADDRESS,
    SUBJECT_ID,
    SUBJECT_NAME,
    SUBJECT_PHONE,
    LibraryWorld,
)

pytestmark = pytest.mark.django_db


def start(world: LibraryWorld) -> LibraryCase:
    terms = list(
        SubjectTerm.objects.filter(term__in=["警告", "收监执行"]).values_list("pk", flat=True)
    )
    return library_case_start(
        actor=world.author,
        category_code="correction-revocation",
        term_ids=terms,
        subject_id=str(world.subject.pk),
    )


def public_text(case: LibraryCase) -> str:
    case = LibraryCase.objects.get(pk=case.pk)
    return "\n".join(masked_sections(case, list(case.redactions.all())).values())


def test_correction_record_becomes_a_draft_without_identifiers(library_world: LibraryWorld) -> None:
    case = start(library_world)
    raw = "\n".join([case.title, case.facts, case.handling, case.analysis])
    # The draft is pre-filled from the record: the steps, their reasons, the law.
    for expected in (SUBJECT_NAME, SUBJECT_ID, SUBJECT_PHONE, "警告", "提请收监执行", "第二十八条"):
        assert expected in raw
    text = public_text(case)
    assert SUBJECT_NAME not in text and SUBJECT_ID not in text and SUBJECT_PHONE not in text
    assert SUBJECT_ADDRESS not in text and "3月7日" not in text
    assert "韦某" in text and "1990年出生" in text
    # The independent detector, told the real name, finds nothing; on the raw text it does.
    assert find_identifiers(text, known_names=[SUBJECT_NAME]) == []
    kinds = {f.kind for f in find_identifiers(raw, known_names=[SUBJECT_NAME])}
    assert {"name", "id_number", "phone", "birth_date"} <= kinds
    assert case.evidence.filter(kind="correction_step").count() == 3
    assert set(case.terms.values_list("term", flat=True)) == {"警告", "收监执行"}
    assert AuditEvent.objects.filter(action="library_case.started", object_id=str(case.pk)).exists()


def test_one_alias_per_person() -> None:
    from backend.publication.services.masking import alias_for

    taken: set[str] = set()
    aliases = []
    for name in ("张三", "李四", "张伟", "欧阳娜娜", "张明"):
        aliases.append(alias_for(name, taken))
        taken.add(aliases[-1])
    assert aliases == ["张某", "李某", "张某某", "欧阳某", "张某甲"]


def test_submission_refused_while_the_detector_finds_an_identifier(
    library_world: LibraryWorld,
) -> None:
    world = library_world
    case = start(world)
    name = Redaction.objects.get(case=case, kind="name")
    redaction_set_undone(actor=world.author, case_id=case.pk, redaction_id=name.pk, undone=True)
    with pytest.raises(Conflict) as refused:
        library_case_submit(actor=world.author, case_id=case.pk)
    assert refused.value.code == "identifiers_found"
    assert refused.value.details["kinds"] == ["name"]
    redaction_set_undone(actor=world.author, case_id=case.pk, redaction_id=name.pk, undone=False)
    # A landline escapes the masker's patterns; the detector sees it.
    library_case_edit(
        actor=world.author,
        case_id=case.pk,
        sections={
            "title": case.title,
            "facts": case.facts,
            "handling": case.handling + "\n其亲属电话 0771-5512345。",
            "analysis": case.analysis,
        },
        category_code="correction-revocation",
        term_ids=list(case.terms.values_list("pk", flat=True)),
    )
    with pytest.raises(Conflict):
        library_case_submit(actor=world.author, case_id=case.pk)
    redaction_add(actor=world.author, case_id=case.pk, original="0771-5512345", replacement="")
    submitted = library_case_submit(actor=world.author, case_id=case.pk)
    assert submitted.state == LibraryState.IN_REVIEW and submitted.author_name == "覃矫正"


def test_review_chain_with_a_return_and_a_rejection(library_world: LibraryWorld) -> None:
    world = library_world
    case = start(world)
    library_case_submit(actor=world.author, case_id=case.pk)
    # Confidential: the city does not see it before it reaches the city; the neighbour
    # county and the administrator never.
    assert selectors.library_case_get(world.city_reviewer, case.pk) is None
    assert selectors.library_case_get(world.other_reviewer, case.pk) is None
    assert selectors.library_case_get(world.admin, case.pk) is None
    with pytest.raises(NotFound):
        library_case_review(actor=world.city_reviewer, case_id=case.pk, verdict="approve")
    assert [c.pk for c in selectors.review_queue(world.county_reviewer)] == [case.pk]
    library_case_review(actor=world.county_reviewer, case_id=case.pk, verdict="approve")
    assert selectors.library_case_get(world.city_reviewer, case.pk) is not None
    with pytest.raises(PermissionDenied):
        library_case_review(actor=world.county_reviewer, case_id=case.pk, verdict="approve")
    with pytest.raises(InvalidInput):
        library_case_review(actor=world.city_reviewer, case_id=case.pk, verdict="return")
    returned = library_case_review(
        actor=world.city_reviewer,
        case_id=case.pk,
        verdict="return",
        comments="评析部分须写明警告与收监的具体条款适用",
    )
    assert returned.state == LibraryState.RETURNED and returned.level == 0
    library_case_edit(
        actor=world.author,
        case_id=case.pk,
        sections={
            "title": case.title,
            "facts": case.facts,
            "handling": case.handling,
            "analysis": case.analysis + "\n评析：本案先警告、后提请收监，程序完整。",
        },
        category_code="correction-revocation",
        term_ids=[],
    )
    library_case_submit(actor=world.author, case_id=case.pk)
    library_case_review(actor=world.county_reviewer, case_id=case.pk, verdict="approve")
    library_case_review(actor=world.city_reviewer, case_id=case.pk, verdict="approve")
    assert selectors.library_case_get(world.province_reviewer, case.pk) is not None
    rejected = library_case_review(
        actor=world.province_reviewer, case_id=case.pk, verdict="reject", comments="同类案例已足"
    )
    assert rejected.state == LibraryState.REJECTED
    history = [(e.action, e.by_name) for e in selectors.history_of(rejected)]
    assert history == [
        ("submit", "覃矫正"),
        ("approve", "陆县审"),
        ("return", "蒙市审"),
        ("submit", "覃矫正"),
        ("approve", "陆县审"),
        ("approve", "蒙市审"),
        ("reject", "黎厅审"),
    ]
    actions = list(
        AuditEvent.objects.filter(object_id=str(case.pk), action__startswith="library_case.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions.count("library_case.returned") == 1
    assert actions[-1] == "library_case.rejected"
    # Rejected is not in the library.
    assert selectors.library_search(world.other_reviewer)[0] == []
    with pytest.raises(Conflict):
        library_case_review(actor=world.province_reviewer, case_id=case.pk, verdict="approve")


def test_accepted_case_is_searchable_and_public_text_only(library_world: LibraryWorld) -> None:
    world = library_world
    case = start(world)
    library_case_submit(actor=world.author, case_id=case.pk)
    for reviewer in (world.county_reviewer, world.city_reviewer, world.province_reviewer):
        case = library_case_review(actor=reviewer, case_id=case.pk, verdict="approve")
    assert case.state == LibraryState.ACCEPTED
    assert SUBJECT_NAME not in case.public_facts and "韦某" in case.public_facts
    assert SUBJECT_NAME not in case.search_terms
    reader = world.other_reviewer
    assert selectors.library_case_get(reader, case.pk) is not None
    found = lambda **kw: [c.pk for c in selectors.library_search(reader, **kw)[0]]  # noqa: E731
    assert found(query="收监执行") == [case.pk]
    assert found(query="警告") == [case.pk]
    assert found(query="韦建华") == []
    assert found(query="法律援助") == []
    assert found(category_code="community-correction") == [case.pk]
    assert found(category_code="legal-aid") == []
    term = SubjectTerm.objects.get(term="警告")
    assert found(term_id=term.pk) == [case.pk]
    assert found(term_id=SubjectTerm.objects.get(term="公证处罚").pk) == []


def test_vocabulary_and_tree_are_enforced(library_world: LibraryWorld) -> None:
    world = library_world
    assert LibraryCategory.objects.filter(parent__isnull=True).count() == 9
    with pytest.raises(InvalidInput):
        library_case_start(
            actor=world.author, category_code="nope", subject_id=str(world.subject.pk)
        )
    with pytest.raises(InvalidInput):
        library_case_start(
            actor=world.author,
            category_code="community-correction",
            term_ids=[999999],
            subject_id=str(world.subject.pk),
        )
    with pytest.raises(NotFound):
        library_case_start(
            actor=world.other_reviewer,
            category_code="community-correction",
            subject_id=str(world.subject.pk),
        )


def test_full_text_uses_the_gin_index(library_world: LibraryWorld) -> None:
    """With 3,000 accepted cases, the bigram query is answered by the partial GIN index
    (migration 0002), not by reading every accepted case."""
    import random

    from django.db import connection
    from django.utils import timezone

    from backend.caselibrary.models import SourceKind
    from backend.caselibrary.search import index_text
    from backend.caselibrary.selectors import _full_text

    world = library_world
    rng = random.Random(25)
    words = ["人民调解", "法律援助", "公证", "司法鉴定", "律师", "普法", "复议", "应诉"]
    category = LibraryCategory.objects.get(code="mediation")
    LibraryCase.objects.bulk_create(
        LibraryCase(
            category=category,
            title="t",
            source_kind=SourceKind.CORRECTION,
            source_subject=world.subject,
            author_unit=world.office,
            author=world.author,
            state=LibraryState.ACCEPTED,
            accepted_at=timezone.now(),
            search_terms=index_text("".join(rng.choice(words) for _ in range(30))),
        )
        for _ in range(3000)
    )
    with connection.cursor() as cursor:
        # What autovacuum does between inserts and searches: merge GIN's pending list.
        cursor.execute("SELECT gin_clean_pending_list('library_fulltext')")
        cursor.execute("ANALYZE caselibrary_librarycase")
        qs = _full_text(LibraryCase.objects.filter(state=LibraryState.ACCEPTED), "收监执行")
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "library_fulltext" in plan, plan
