"""Selecting a case (案例选编): a draft started from a closed case file or a correction
subject's record, in the ministry's template (标题, 基本案情, 处理过程与结果, 评析/法律依据),
pre-filled from the source's own data, with links back to its evidence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.caselibrary.models import (
    EvidenceLink,
    LibraryCase,
    LibraryCategory,
    SourceKind,
    SubjectTerm,
)
from backend.caselibrary.services.common import AUTHOR_ROLES, case_locked, require_author
from backend.caselibrary.services.deidentify import (
    SECTIONS,
    Person,
    _editable,
    redactions_refresh,
)
from backend.cases import selectors as case_selectors
from backend.cases.models import Case, CaseStage, PartyKind
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.corrections import selectors as correction_selectors
from backend.corrections.models import Contact, CorrectionStep, StepKind, Subject

MAX_TERMS = 8

# The law each correction step rests on (《中华人民共和国社区矫正法》, 实施办法): the
# analysis section's starting point, which the officer completes.
STEP_BASIS = {
    StepKind.ANNOUNCEMENT: "《中华人民共和国社区矫正法》第二十二条",
    StepKind.WARNING: "《中华人民共和国社区矫正法》第二十八条、《社区矫正法实施办法》第三十五条",
    StepKind.REVOCATION_PROPOSAL: (
        "《中华人民共和国社区矫正法》第四十六条至第四十九条、《社区矫正法实施办法》第四十六条至第四十九条"
    ),
    StepKind.RELEASE: "《中华人民共和国社区矫正法》第四十四条",
}


@dataclass
class Prefill:
    title: str
    facts: str
    handling: str
    analysis: str
    persons: list[Person] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    evidence: list[EvidenceLink] = field(default_factory=list)


def _prefill_case(actor: User, case_id: uuid.UUID) -> tuple[Prefill, Case]:
    case = case_selectors.case_detail(actor, case_id)
    if case is None:
        raise NotFound(_("没有该案件。"))
    if case.stage not in (CaseStage.CLOSED, CaseStage.ARCHIVED):
        raise Conflict(_("只能从已结案的案件选编案例。"), code="case_not_closed")
    decision = getattr(case, "decision", None)
    stages = "；".join(
        f"{e.entered_on:%Y年%m月%d日}{e.get_stage_display()}" for e in case.stage_entries.all()
    )
    documents = list(case.documents.all())
    facts = (
        f"当事人{case.party_name}，{case.matter}。{case.unit.name}于{case.filed_on:%Y年%m月%d日}立案"
        f"（{case.category}）。"
    )
    handling = f"办理经过：{stages}。"
    if documents:
        handling += "主要执法文书：" + "、".join(d.title for d in documents) + "。"
    analysis = ""
    if decision is not None:
        handling += (
            f"{decision.decided_on:%Y年%m月%d日}作出{decision.get_kind_display()}"
            f"（{decision.document_number}）：{decision.summary}"
        )
        analysis = f"法律依据：{decision.legal_basis}"
    persons = (
        [Person(case.party_name, minor=case.party_minor)]
        if case.party_kind == PartyKind.NATURAL
        else []
    )
    evidence = [
        EvidenceLink(kind="document", target=str(d.pk), label=d.title, sha256=d.sha256)
        for d in documents
    ]
    evidence += [
        EvidenceLink(
            kind="recording",
            target=str(link.recording_id),
            label=link.recording.file_name,
            sha256=link.recording.sha256,
        )
        for link in case.recording_links.all()
    ]
    evidence += [
        EvidenceLink(kind="activity", target=str(link.activity_id), label=link.activity.category)
        for link in case.activity_links.all()
    ]
    title = f"{case.category}：{case.matter}"[:200]
    return Prefill(title, facts, handling, analysis, persons, [], evidence), case


def _prefill_subject(actor: User, subject_id: str) -> tuple[Prefill, Subject]:
    subject = correction_selectors.subject_get_visible(user=actor, subject_id=subject_id)
    if subject is None:
        raise NotFound(_("没有该矫正对象。"))
    steps = list(CorrectionStep.objects.filter(subject=subject).order_by("on_date", "pk"))
    kinds = {s.kind for s in steps}
    what = "、".join(
        str(label)
        for kind, label in StepKind.choices
        if kind in kinds and kind in (StepKind.WARNING, StepKind.REVOCATION_PROPOSAL)
    )
    title = f"社区矫正对象{subject.name}{what or '社区矫正'}案"
    identity = "，".join(
        part
        for part in (
            f"身份证号{subject.id_number}" if subject.id_number else "",
            f"联系电话{subject.phone}" if subject.phone else "",
            f"住{subject.address}" if subject.address else "",
        )
        if part
    )
    facts = (
        f"社区矫正对象{subject.name}"
        + (f"（{identity}）" if identity else "")
        + f"，被依法判处{subject.get_sentence_kind_display()}，"
        f"矫正期自{subject.term_start:%Y年%m月%d日}至{subject.term_end:%Y年%m月%d日}，由{subject.office.name}负责日常监督管理。"
    )
    lines = []
    for step in steps:
        line = f"{step.on_date:%Y年%m月%d日}，{step.get_kind_display()}"
        if step.reason:
            line += f"：{step.reason}"
        if step.outcome:
            line += f"（{step.outcome}）"
        lines.append(line + "。")
    handling = "\n".join(lines)
    analysis = "法律依据：" + "；".join(
        STEP_BASIS[StepKind(k)] for k in StepKind.values if k in kinds
    )
    evidence = [
        EvidenceLink(
            kind="correction_step",
            target=str(step.pk),
            label=f"{step.get_kind_display()} {step.on_date:%Y-%m-%d}",
        )
        for step in steps
    ]
    contacts = (
        Contact.objects.filter(subject=subject, deleted_at__isnull=True)
        .prefetch_related("recordings")
        .order_by("started_at", "pk")[:50]
    )
    for contact in contacts:
        for recording in contact.recordings.all():
            evidence.append(
                EvidenceLink(
                    kind="recording",
                    target=str(recording.pk),
                    label=f"{contact.get_kind_display()} {recording.file_name}",
                    sha256=recording.sha256,
                )
            )
    withheld = [subject.address] if subject.address else []
    return (
        Prefill(title[:200], facts, handling, analysis, [Person(subject.name)], withheld, evidence),
        subject,
    )


def _check_terms(
    category_code: str, term_ids: Sequence[int]
) -> tuple[LibraryCategory, list[SubjectTerm]]:
    category = LibraryCategory.objects.filter(code=category_code).first()
    if category is None or not category.active:
        raise InvalidInput(_("请选择案例类别。"), code="category_required")
    if len(set(term_ids)) > MAX_TERMS:
        raise InvalidInput(_("主题词最多%(n)s个。") % {"n": MAX_TERMS}, code="too_many_terms")
    terms = list(SubjectTerm.objects.filter(pk__in=set(term_ids), active=True))
    if len(terms) != len(set(term_ids)):
        raise InvalidInput(_("主题词须从规范主题词表中选择。"), code="term_not_in_vocabulary")
    return category, terms


def library_case_start(
    *,
    actor: User,
    category_code: str,
    term_ids: Sequence[int] = (),
    case_id: uuid.UUID | None = None,
    subject_id: str | None = None,
) -> LibraryCase:
    if actor.role not in AUTHOR_ROLES or actor.unit_id is None:
        raise PermissionDenied(_("只有本单位的工作人员可以选编案例。"), code="forbidden")
    if (case_id is None) == (subject_id is None):
        raise InvalidInput(_("请从一个案件或一名矫正对象开始。"), code="source_required")
    category, terms = _check_terms(category_code, term_ids)
    source_case: Case | None = None
    source_subject: Subject | None = None
    if case_id is not None:
        prefill, source_case = _prefill_case(actor, case_id)
        kind = SourceKind.CASE
    else:
        prefill, source_subject = _prefill_subject(actor, subject_id or "")
        kind = SourceKind.CORRECTION
    with transaction.atomic():
        library_case = LibraryCase.objects.create(
            category=category,
            title=prefill.title,
            facts=prefill.facts,
            handling=prefill.handling,
            analysis=prefill.analysis,
            source_kind=kind,
            source_case=source_case,
            source_subject=source_subject,
            author_unit_id=actor.unit_id,
            author=actor,
        )
        library_case.terms.set(terms)
        for link in prefill.evidence:
            link.case = library_case
        EvidenceLink.objects.bulk_create(prefill.evidence)
        added = redactions_refresh(library_case, persons=prefill.persons, withheld=prefill.withheld)
        audit_record(
            actor=Actor.user(actor),
            action="library_case.started",
            object_type="library_case",
            object_id=library_case.pk,
            data={"source": kind, "category": category_code, "redactions": added},
        )
    return library_case


def library_case_edit(
    *,
    actor: User,
    case_id: uuid.UUID | str,
    sections: dict[str, str],
    category_code: str,
    term_ids: Sequence[int],
) -> LibraryCase:
    """Save the sections, category and terms; the masker looks at the new text again."""
    category, terms = _check_terms(category_code, term_ids)
    title = sections.get("title", "").strip()
    if not title or len(title) > 200:
        raise InvalidInput(_("标题不能为空，最多200字。"), code="invalid_title")
    if any(len(sections.get(name, "")) > 100_000 for name in SECTIONS):
        raise InvalidInput(_("正文过长。"), code="text_too_long")
    with transaction.atomic():
        case = _editable(case_id, actor)
        require_author(case, actor)
        for name in SECTIONS:
            setattr(case, name, sections.get(name, "").strip())
        case.title = title
        case.category = category
        case.save(update_fields=[*SECTIONS, "category", "updated_at"])
        case.terms.set(terms)
        added = redactions_refresh(case)
        audit_record(
            actor=Actor.user(actor),
            action="library_case.edited",
            object_type="library_case",
            object_id=case.pk,
            data={"redactions": added},
        )
    return case


__all__ = ["case_locked", "library_case_edit", "library_case_start"]
