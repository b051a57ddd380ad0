"""De-identification (脱密脱敏) of a case's text with the project's one masker
(backend/publication/services/masking.py): the parties known from the source data first,
each with one alias (张某, 李某某 …), then identity, phone and plate numbers, dates of birth
and exact addresses. Each change is a `Redaction` the officer sees side by side, can add to
or undo (a minor's never); the independent detector (backend/caselibrary/detection.py)
decides whether the case may be submitted."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.caselibrary.detection import Finding, find_identifiers
from backend.caselibrary.models import (
    EDITABLE_STATES,
    LibraryCase,
    Redaction,
    RedactionKind,
)
from backend.caselibrary.services.common import case_locked, require_author
from backend.config.errors import Conflict, InvalidInput, NotFound
from backend.publication.services.masking import WITHHELD, alias_for, identifiers_in

SECTIONS = ("title", "facts", "handling", "analysis")


@dataclass(frozen=True)
class Person:
    name: str
    minor: bool = False


@dataclass(frozen=True)
class Segment:
    """A piece of a section: unchanged text (`replacement` None) or one change."""

    text: str
    replacement: str | None = None
    kind: str = ""


def _pattern(
    redactions: Iterable[Redaction],
) -> tuple[re.Pattern[str] | None, dict[str, Redaction]]:
    active = {r.original: r for r in redactions if not r.undone and r.original}
    if not active:
        return None, active
    ordered = sorted(active, key=len, reverse=True)
    return re.compile("|".join(re.escape(text) for text in ordered)), active


def segments(text: str, redactions: Iterable[Redaction]) -> list[Segment]:
    pattern, active = _pattern(redactions)
    if pattern is None:
        return [Segment(text)] if text else []
    out: list[Segment] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            out.append(Segment(text[position : match.start()]))
        change = active[match.group(0)]
        out.append(Segment(match.group(0), change.replacement, change.kind))
        position = match.end()
    if position < len(text):
        out.append(Segment(text[position:]))
    return out


def masked(text: str, redactions: Iterable[Redaction]) -> str:
    """The text with every active change applied, in one pass (a replacement is never
    replaced again)."""
    return "".join(
        s.text if s.replacement is None else s.replacement for s in segments(text, redactions)
    )


def masked_sections(case: LibraryCase, redactions: list[Redaction]) -> dict[str, str]:
    return {name: masked(getattr(case, name), redactions) for name in SECTIONS}


def redactions_refresh(
    case: LibraryCase, *, persons: Iterable[Person] = (), withheld: Iterable[str] = ()
) -> int:
    """Add the changes the masker finds in the current text (and the persons and exact
    texts the source data names); existing changes (and undone ones) are kept as they are.
    Returns the number added. Inside the caller's transaction."""
    existing = {r.original: r for r in case.redactions.all()}
    taken = {r.replacement for r in existing.values() if r.kind == RedactionKind.NAME}
    new: list[Redaction] = []

    def add(kind: str, original: str, replacement: str, *, minor: bool = False) -> None:
        original = original.strip()
        if len(original) < 2 or original in existing or len(original) > 200:
            return
        change = Redaction(
            case=case, kind=kind, original=original, replacement=replacement, minor=minor
        )
        existing[original] = change
        new.append(change)

    for person in persons:
        if person.name.strip() and person.name.strip() not in existing:
            alias = alias_for(person.name.strip(), taken)
            taken.add(alias)
            add(RedactionKind.NAME, person.name, alias, minor=person.minor)
    for text in withheld:
        add(RedactionKind.ADDRESS, text, WITHHELD)
    body = "\n".join(getattr(case, name) for name in SECTIONS)
    for kind, original, replacement in identifiers_in(body):
        add(kind, original, replacement)
    Redaction.objects.bulk_create(new)
    return len(new)


def known_names(case: LibraryCase) -> list[str]:
    """The real names the detector must not find: every person change, undone or not."""
    return [r.original for r in case.redactions.all() if r.kind == RedactionKind.NAME]


def detector_findings(case: LibraryCase) -> list[Finding]:
    redactions = list(case.redactions.all())
    text = "\n".join(masked_sections(case, redactions).values())
    return find_identifiers(text, known_names=known_names(case))


def _editable(case_id: uuid.UUID | str, actor: User) -> LibraryCase:
    case = case_locked(case_id, actor)
    require_author(case, actor)
    if case.state not in EDITABLE_STATES:
        raise Conflict(_("案例已报送，不能再修改。"), code="not_editable")
    return case


def redaction_add(
    *, actor: User, case_id: uuid.UUID | str, original: str, replacement: str, kind: str = ""
) -> Redaction:
    """The officer's own change (a name the data did not know, a place, a company …)."""
    original, replacement = original.strip(), replacement.strip()
    kind = kind or RedactionKind.OTHER
    if kind not in RedactionKind.values:
        raise InvalidInput(_("未知的脱敏类型。"), code="invalid_kind")
    if not 2 <= len(original) <= 200:
        raise InvalidInput(_("要隐去的文字应为2至200个字符。"), code="invalid_original")
    if len(replacement) > 200 or original in replacement:
        raise InvalidInput(_("替换文字无效。"), code="invalid_replacement")
    with transaction.atomic():
        case = _editable(case_id, actor)
        change, created = Redaction.objects.get_or_create(
            case=case,
            original=original,
            defaults={"kind": kind, "replacement": replacement or WITHHELD, "manual": True},
        )
        if not created:
            if not change.undone:
                raise Conflict(_("这段文字已经隐去。"), code="already_masked")
            change.undone = False
            change.replacement = replacement or change.replacement
            change.save(update_fields=["undone", "replacement"])
        audit_record(
            actor=Actor.user(actor),
            action="library_case.redaction_added",
            object_type="library_case",
            object_id=case.pk,
            data={"kind": kind, "redaction_id": change.pk},
        )
    return change


def redaction_set_undone(
    *, actor: User, case_id: uuid.UUID | str, redaction_id: int, undone: bool
) -> Redaction:
    with transaction.atomic():
        case = _editable(case_id, actor)
        change = Redaction.objects.filter(case=case, pk=redaction_id).first()
        if change is None:
            raise NotFound(_("没有该处脱敏。"))
        if undone and change.minor:
            raise Conflict(_("未成年人的身份信息一律隐去，不能撤销。"), code="minor_always_masked")
        if change.undone == undone:
            return change
        change.undone = undone
        change.save(update_fields=["undone"])
        audit_record(
            actor=Actor.user(actor),
            action="library_case.redaction_undone" if undone else "library_case.redaction_restored",
            object_type="library_case",
            object_id=case.pk,
            data={"kind": change.kind, "redaction_id": change.pk},
        )
    return change
