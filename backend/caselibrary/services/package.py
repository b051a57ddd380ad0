"""The submission package (报送包; the seed's units submit on disc): accepted cases in the
template as PDF (drawn with the shipped CJK font, backend/cases/printing.py; DOCX would need
python-docx, which this installation does not have), each case's public text and signed
history as JSON, and a manifest with every file's SHA-256. The receiving installation
imports it: every hash checked first, each case once (its origin id), into its library."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.accounts.selectors import unit_scope_q
from backend.audit.services import Actor, audit_record
from backend.caselibrary.models import (
    LibraryCase,
    LibraryCategory,
    LibraryState,
    SourceKind,
    SubjectTerm,
)
from backend.caselibrary.search import index_text
from backend.cases.printing import render_pdf
from backend.config.errors import Conflict, InvalidInput, PermissionDenied

FORMAT = "fieldvault-caselibrary/1"
PACKAGE_ROLES = {Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN}
MAX_CASES = 200
MAX_PACKAGE_BYTES = 200 * 1024 * 1024


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _case_json(case: LibraryCase) -> dict[str, Any]:
    history = case.origin_history or [
        {
            "action": entry.action,
            "unit": entry.unit.name,
            "by": entry.by_name,
            "comments": entry.comments,
            "at": entry.at.isoformat(),
        }
        for entry in case.history.select_related("unit").order_by("at", "pk")
    ]
    return {
        "id": case.origin or str(case.pk),
        "category": case.category.code,
        "terms": sorted(t.term for t in case.terms.all()),
        "title": case.public_title,
        "facts": case.public_facts,
        "handling": case.public_handling,
        "analysis": case.public_analysis,
        "author_unit": case.origin_unit or case.author_unit.name,
        "author": case.author_name,
        "accepted_at": case.accepted_at.isoformat() if case.accepted_at else "",
        "history": history,
    }


def _case_pdf(record: dict[str, Any]) -> bytes:
    signed = "；".join(f"{h['unit']} {h['by']}" for h in record["history"])
    return render_pdf(
        record["title"],
        [
            f"案例类别：{record['category']}    主题词：{'、'.join(record['terms'])}",
            f"编写单位：{record['author_unit']}    编写人：{record['author']}",
            "【基本案情】",
            record["facts"],
            "【处理过程与结果】",
            record["handling"],
            "【评析/法律依据】",
            record["analysis"],
            f"署名与评审：{signed}",
        ],
    )


def package_build(*, actor: User, case_ids: Sequence[uuid.UUID]) -> tuple[bytes, str]:
    """(the ZIP's bytes, its SHA-256) for accepted cases of the caller's units."""
    if actor.role not in PACKAGE_ROLES:
        raise PermissionDenied(_("只有监督人员、法制审核人员和系统管理员可以生成报送包。"))
    ids = list(dict.fromkeys(case_ids))
    if not ids or len(ids) > MAX_CASES:
        raise InvalidInput(
            _("请选择1至%(n)s个已入库案例。") % {"n": MAX_CASES}, code="cases_required"
        )
    cases = list(
        LibraryCase.objects.filter(
            unit_scope_q(actor, unit_field="author_unit"), state=LibraryState.ACCEPTED, pk__in=ids
        )
        .select_related("category", "author_unit")
        .prefetch_related("terms")
        .order_by("accepted_at", "pk")
    )
    if len(cases) != len(ids):
        raise InvalidInput(
            _("所选案例须为本单位及下级单位已入库的案例。"), code="case_not_in_scope"
        )
    buffer = io.BytesIO()
    files: dict[str, str] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for case in cases:
            record = _case_json(case)
            for name, data in (
                (
                    f"cases/{record['id']}.json",
                    json.dumps(record, ensure_ascii=False, indent=1).encode(),
                ),
                (f"cases/{record['id']}.pdf", _case_pdf(record)),
            ):
                archive.writestr(name, data)
                files[name] = _sha256(data)
        manifest = json.dumps(
            {
                "format": FORMAT,
                "created_at": timezone.now().isoformat(),
                "unit": actor.unit.name if actor.unit else "",
                "cases": [_case_json(c)["id"] for c in cases],
                "files": files,
            },
            ensure_ascii=False,
            indent=1,
        ).encode()
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.json.sha256", _sha256(manifest) + "  manifest.json\n")
    data = buffer.getvalue()
    digest = _sha256(data)
    audit_record(
        actor=Actor.user(actor),
        action="library_package.built",
        object_type="library_package",
        object_id=digest,
        data={"cases": [str(c.pk) for c in cases]},
    )
    return data, digest


def _refuse(message: str, code: str = "package_invalid") -> Conflict:
    return Conflict(message, code=code)


def package_import(*, actor: User, data: bytes) -> list[LibraryCase]:
    """Import a package: refused whole if any hash differs; each case once."""
    if actor.role not in PACKAGE_ROLES or actor.unit_id is None:
        raise PermissionDenied(_("只有监督人员、法制审核人员和系统管理员可以导入报送包。"))
    if len(data) > MAX_PACKAGE_BYTES:
        raise InvalidInput(_("报送包过大。"), code="package_too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest_bytes = archive.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        declared = archive.read("manifest.json.sha256").decode().split()[0]
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError):
        raise InvalidInput(_("不是有效的案例报送包。"), code="package_unreadable") from None
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise InvalidInput(_("不是有效的案例报送包。"), code="package_unreadable")
    if _sha256(manifest_bytes) != declared:
        raise _refuse(_("报送包清单的校验值不符，包已被改动。"))
    records: list[dict[str, Any]] = []
    for name, digest in manifest["files"].items():
        try:
            content = archive.read(name)
        except KeyError:
            raise _refuse(_("报送包缺少文件：%(name)s") % {"name": name}) from None
        if _sha256(content) != digest:
            raise _refuse(_("文件校验值不符：%(name)s") % {"name": name})
        if name.endswith(".json"):
            try:
                record = json.loads(content)
            except ValueError:
                raise InvalidInput(_("不是有效的案例报送包。"), code="package_unreadable") from None
            if not isinstance(record, dict) or not isinstance(record.get("history", []), list):
                raise InvalidInput(_("不是有效的案例报送包。"), code="package_unreadable")
            records.append(record)
    imported: list[LibraryCase] = []
    with transaction.atomic():
        for record in records:
            origin = str(record.get("id", ""))[:64]
            local = _uuid(origin)
            existing = LibraryCase.objects.filter(origin=origin).exists() or (
                local is not None and LibraryCase.objects.filter(pk=local).exists()
            )
            if existing:
                continue
            category = LibraryCategory.objects.filter(code=record.get("category", "")).first()
            if category is None or not origin:
                raise _refuse(_("报送包中的案例类别不在本系统的分类中。"), code="unknown_category")
            terms = list(SubjectTerm.objects.filter(term__in=record.get("terms", [])))
            public = {k: str(record.get(k, "")) for k in ("title", "facts", "handling", "analysis")}
            case = LibraryCase.objects.create(
                state=LibraryState.ACCEPTED,
                category=category,
                title=public["title"][:200],
                source_kind=SourceKind.IMPORTED,
                origin=origin,
                origin_unit=str(record.get("author_unit", ""))[:200],
                origin_history=list(record.get("history", [])),
                author_unit_id=actor.unit_id,
                author=actor,
                author_name=str(record.get("author", ""))[:100],
                accepted_at=_when(record.get("accepted_at", "")),
                public_title=public["title"][:200],
                public_facts=public["facts"],
                public_handling=public["handling"],
                public_analysis=public["analysis"],
                search_terms=index_text("\n".join(public.values())),
            )
            case.terms.set(terms)
            imported.append(case)
        audit_record(
            actor=Actor.user(actor),
            action="library_package.imported",
            object_type="library_package",
            object_id=_sha256(data),
            data={"imported": [str(c.pk) for c in imported], "offered": len(records)},
        )
    return imported


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _when(text: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return timezone.now()
