"""The case file (一案一卷): opening a case with its number, gathering activities,
recordings and documents, the stages up to closing and archiving (then frozen)."""

from __future__ import annotations

import datetime
import hashlib
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Unit, User
from backend.accounts.selectors import unit_scope_q
from backend.audit.services import Actor, audit_record
from backend.cases.models import (
    Case,
    CaseActivity,
    CaseCounter,
    CaseDocument,
    CaseRecording,
    CaseStage,
    CaseStageEntry,
    DocumentKind,
    PartyKind,
)
from backend.cases.selectors import catalogue_for
from backend.cases.services.catalogue import catalogue_basis
from backend.cases.services.common import (
    CASE_ROLES,
    case_locked,
    certified_officer,
    handling_officer,
    refuse_if_archived,
    today,
)
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.enforcement.models import Activity
from backend.footage.selectors import recordings_visible_to
from backend.footage.storage import object_store
from backend.workcalendar.selectors import working_calendar

ARCHIVE_WITHIN_DAYS = 30  # 执法案卷管理制度: archived within 30 days of closing
FILING_WORKING_DAYS = 7  # 立案 within 7 working days (15 when extended), seed flowcharts
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class CaseInput:
    category: str
    matter: str
    party_name: str
    party_kind: str
    party_minor: bool = False
    needs_review: bool = True
    review_basis: str = ""
    officer_ids: tuple[int, ...] = ()
    statutory_deadline: datetime.date | None = None
    number_prefix: str = ""
    # An item of the review catalogue (目录清单): the case needs review, its basis that item.
    catalogue_entry_id: int | None = None


def case_number(*, prefix: str, year: int, sequence: int) -> str:
    """The number in the configured format (FV_CASE_NUMBER_FORMAT), e.g. 平司罚〔2026〕12号."""
    return str(settings.FV_CASE_NUMBER_FORMAT).format(
        prefix=prefix or settings.FV_CASE_NUMBER_PREFIX, year=year, sequence=sequence
    )


def _next_sequence(unit: Unit, year: int) -> int:
    CaseCounter.objects.get_or_create(unit=unit, year=year)
    counter = CaseCounter.objects.select_for_update().get(unit=unit, year=year)
    CaseCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    return counter.last + 1


def case_open(*, actor: User, data: CaseInput, on: datetime.date | None = None) -> Case:
    """立案: the acting officer (certified on the day) and the named officers, every one of
    them certified on the filing day and within the actor's unit, handle the case."""
    day = on or today()
    if actor.role not in CASE_ROLES or actor.unit is None:
        raise PermissionDenied(_("只有本单位的执法人员可以立案。"), code="case_open_refused")
    me = certified_officer(actor, day)
    if data.party_kind not in PartyKind.values:
        raise InvalidInput(_("当事人类型无效。"), code="invalid_party_kind")
    missing = [
        name
        for name, value in (
            (_("执法类别"), data.category),
            (_("案由"), data.matter),
            (_("当事人"), data.party_name),
        )
        if not value.strip()
    ]
    if missing:
        raise InvalidInput(
            _("缺少：%(fields)s") % {"fields": "、".join(missing)},
            code="missing_fields",
            details={"missing": missing},
        )
    ids = {int(i) for i in data.officer_ids} - {me.pk}
    others = list(
        Officer.objects.filter(unit_scope_q(actor, unit_field="unit"), pk__in=ids).order_by("pk")
    )
    if len(others) != len(ids):
        raise InvalidInput(_("有承办人员不在本单位名单中。"), code="unknown_officers")
    uncertified = [o.name for o in others if not o.certificate_valid_on(day)]
    if uncertified:
        raise InvalidInput(
            _("以下人员在立案日无有效执法证，不能承办（持证上岗）：%(names)s")
            % {"names": "、".join(uncertified)},
            code="officers_uncertified",
            details={"officers": uncertified},
        )
    needs_review, review_basis = data.needs_review, data.review_basis.strip()
    if data.catalogue_entry_id is not None:
        entry = catalogue_for(actor).filter(pk=data.catalogue_entry_id).first()
        if entry is None:
            raise InvalidInput(_("目录清单中没有该审核项目。"), code="unknown_catalogue_entry")
        needs_review, review_basis = True, review_basis or catalogue_basis(entry)
    with transaction.atomic():
        sequence = _next_sequence(actor.unit, day.year)
        case = Case.objects.create(
            unit=actor.unit,
            year=day.year,
            sequence=sequence,
            number=case_number(prefix=data.number_prefix, year=day.year, sequence=sequence),
            category=data.category.strip(),
            matter=data.matter.strip(),
            party_name=data.party_name.strip(),
            party_kind=data.party_kind,
            party_minor=data.party_minor,
            needs_review=needs_review,
            review_basis=review_basis,
            filed_on=day,
            statutory_deadline=data.statutory_deadline,
            opened_by=actor,
        )
        case.officers.set([me, *others])
        CaseStageEntry.objects.create(case=case, stage=CaseStage.FILED, entered_on=day, by=actor)
        audit_record(
            actor=Actor.user(actor),
            action="case.opened",
            object_type="case",
            object_id=case.pk,
            data={"number": case.number, "officers": sorted(o.pk for o in [me, *others])},
        )
    return case


def _enter_stage(case: Case, stage: str, actor: User, day: datetime.date) -> None:
    case.stage = stage
    case.save(update_fields=["stage"])
    CaseStageEntry.objects.create(case=case, stage=stage, entered_on=day, by=actor)


def case_activity_link(*, actor: User, case_id: uuid.UUID | str, activity_id: str) -> CaseActivity:
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
        try:
            key = uuid.UUID(str(activity_id))
        except ValueError:
            raise InvalidInput(_("执法活动编号无效。"), code="invalid_activity") from None
        activity = Activity.objects.filter(unit_scope_q(actor, unit_field="unit"), pk=key).first()
        if activity is None:
            raise NotFound(_("没有该执法活动。"), code="activity_not_found")
        link, created = CaseActivity.objects.get_or_create(
            case=case, activity=activity, defaults={"linked_by": actor}
        )
        if created:
            if case.stage == CaseStage.FILED:
                _enter_stage(case, CaseStage.INVESTIGATING, actor, today())
            audit_record(
                actor=Actor.user(actor),
                action="case.activity_linked",
                object_type="case",
                object_id=case.pk,
                data={"activity_id": str(activity.pk)},
            )
    return link


def case_recording_link(
    *, actor: User, case_id: uuid.UUID | str, recording_id: str, reason: str
) -> CaseRecording:
    if not reason.strip():
        raise InvalidInput(_("请写明关联理由。"), code="reason_required")
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
        try:
            key = uuid.UUID(str(recording_id))
        except ValueError:
            raise InvalidInput(_("音像记录编号无效。"), code="invalid_recording") from None
        recording = recordings_visible_to(actor).filter(pk=key).first()
        if recording is None:
            raise NotFound(_("没有该音像记录。"), code="recording_not_found")
        link, created = CaseRecording.objects.get_or_create(
            case=case, recording=recording, defaults={"linked_by": actor, "reason": reason.strip()}
        )
        if created:
            audit_record(
                actor=Actor.user(actor),
                action="case.recording_linked",
                object_type="case",
                object_id=case.pk,
                data={"recording_id": str(recording.pk), "reason": reason.strip()},
            )
    return link


def document_store(*, data: bytes, file_name: str) -> tuple[str, str, str | None, str]:
    """Hash the bytes on receipt and store them under object lock, content-addressed.
    Returns (sha256, key, version id, content type)."""
    suffix = Path(file_name).suffix.lower()
    content_type = DOCUMENT_TYPES.get(suffix)
    if content_type is None:
        raise InvalidInput(_("只接受 PDF、JPG 或 DOCX 文件。"), code="unsupported_document_type")
    if not data:
        raise InvalidInput(_("文件是空的。"), code="empty_document")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(_("文件过大。"), code="document_too_large")
    sha = hashlib.sha256(data).hexdigest()
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(data)
        handle.flush()
        stored = object_store().put_original(
            bucket=settings.FV_ORIGINALS_BUCKET,
            path=Path(handle.name),
            sha256_hex=sha,
            retain_until=timezone.now()
            + datetime.timedelta(days=settings.FV_ORIGINAL_RETENTION_DAYS),
            metadata={"kind": "case-document"},
        )
    return sha, stored.key, stored.version_id, content_type


def case_document_add(
    *,
    actor: User,
    case_id: uuid.UUID | str,
    kind: str,
    title: str,
    file_name: str,
    data: bytes,
    replaces_id: str | None = None,
) -> CaseDocument:
    """Add a document to the file. A supplement answering the reviewer's request for more
    material resumes the paused review clock (补充材料期间不计入审核期限)."""
    from backend.cases.services.review import review_resume_on_supplement

    if kind not in DocumentKind.values or kind in (
        DocumentKind.OPINION_LETTER,
        DocumentKind.DECISION,
    ):
        raise InvalidInput(_("材料类型无效。"), code="invalid_document_kind")
    if not title.strip():
        raise InvalidInput(_("请填写材料标题。"), code="title_required")
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
    # Bytes go to the object store outside the transaction (a locked object cannot be rolled
    # back anyway; an unreferenced one is harmless and deduplicated by its address).
    sha, key, version, content_type = document_store(data=data, file_name=file_name)
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        replaces = None
        if replaces_id:
            replaces = CaseDocument.objects.filter(case=case, pk=replaces_id).first()
            if replaces is None:
                raise NotFound(_("没有要替换的材料。"), code="document_not_found")
        document = CaseDocument.objects.create(
            case=case,
            kind=kind,
            title=title.strip(),
            file_name=Path(file_name).name[:255],
            content_type=content_type,
            size_bytes=len(data),
            sha256=sha,
            storage_key=key,
            storage_version_id=version or "",
            replaces=replaces,
            uploaded_by=actor,
        )
        if case.stage == CaseStage.FILED:
            _enter_stage(case, CaseStage.INVESTIGATING, actor, today())
        audit_record(
            actor=Actor.user(actor),
            action="case.document_added",
            object_type="case",
            object_id=case.pk,
            data={"document_id": str(document.pk), "kind": kind, "sha256": sha},
        )
        if kind == DocumentKind.SUPPLEMENT:
            review_resume_on_supplement(case=case, actor=actor)
    return document


def generated_document_add(
    *, case: Case, kind: str, title: str, file_name: str, data: bytes, actor: User
) -> CaseDocument:
    """A document the system writes (the opinion letter): stored like an upload."""
    sha, key, version, content_type = document_store(data=data, file_name=file_name)
    return CaseDocument.objects.create(
        case=case,
        kind=kind,
        title=title,
        file_name=file_name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=sha,
        storage_key=key,
        storage_version_id=version or "",
        uploaded_by=actor,
    )


def document_read(document: CaseDocument) -> bytes:
    """The stored bytes of the version received, verified against the SHA-256 taken on
    receipt; a mismatch is a 409 naming both hashes (never served as if intact)."""
    request: dict[str, str] = {"Bucket": settings.FV_ORIGINALS_BUCKET, "Key": document.storage_key}
    if document.storage_version_id:
        request["VersionId"] = document.storage_version_id
    body = object_store().client.get_object(**request)["Body"].read()
    actual = hashlib.sha256(body).hexdigest()
    if actual != document.sha256:
        raise Conflict(
            _("材料 %(title)s 的内容与收到时的校验值不符。") % {"title": document.title},
            code="document_hash_mismatch",
            details={"expected": document.sha256, "actual": actual},
        )
    return bytes(body)


NEXT_AFTER_DECISION = {
    CaseStage.DECIDED: CaseStage.DELIVERED,
    CaseStage.DELIVERED: CaseStage.EXECUTED,
    CaseStage.EXECUTED: CaseStage.CLOSED,
}


def case_stage_advance(
    *, actor: User, case_id: uuid.UUID | str, to: str, on: datetime.date | None = None
) -> Case:
    """送达 → 执行 → 结案, one step at a time after the decision."""
    day = on or today()
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, day)
        expected = NEXT_AFTER_DECISION.get(CaseStage(case.stage))
        if expected is None or to != expected:
            raise Conflict(
                _("案件当前处于“%(stage)s”阶段，不能进入该阶段。")
                % {"stage": CaseStage(case.stage).label},
                code="stage_out_of_order",
                details={"stage": case.stage, "to": to},
            )
        _enter_stage(case, to, actor, day)
        if to == CaseStage.CLOSED:
            case.closed_on = day
            case.archive_by = day + datetime.timedelta(days=ARCHIVE_WITHIN_DAYS)
            case.save(update_fields=["closed_on", "archive_by"])
        audit_record(
            actor=Actor.user(actor),
            action="case.stage_entered",
            object_type="case",
            object_id=case.pk,
            data={"stage": to, "on": day.isoformat()},
        )
    return case


def case_archive(*, actor: User, case_id: uuid.UUID | str, archive_number: str) -> Case:
    """入档登记: the file gets its 卷宗号 and is frozen from now on."""
    if not archive_number.strip():
        raise InvalidInput(_("请填写卷宗号。"), code="archive_number_required")
    with transaction.atomic():
        case = case_locked(case_id, actor)
        refuse_if_archived(case)
        handling_officer(case, actor, today())
        if case.stage != CaseStage.CLOSED:
            raise Conflict(_("结案后才能归档。"), code="case_not_closed")
        if Case.objects.filter(unit=case.unit, archive_number=archive_number.strip()).exists():
            raise Conflict(_("卷宗号已被使用。"), code="archive_number_taken")
        case.archive_number = archive_number.strip()
        case.archived_at = timezone.now()
        case.save(update_fields=["archive_number", "archived_at"])
        _enter_stage(case, CaseStage.ARCHIVED, actor, today())
        audit_record(
            actor=Actor.user(actor),
            action="case.archived",
            object_type="case",
            object_id=case.pk,
            data={"archive_number": case.archive_number},
        )
    return case


def filing_deadline(reported_on: datetime.date, *, extended: bool = False) -> datetime.date:
    """立案 within 7 working days of the report (15 when extended)."""
    return working_calendar().add_working_days(reported_on, 15 if extended else 7).date


def archive_overdue_alerts_raise(*, today: datetime.date | None = None) -> list[uuid.UUID]:
    """Alert once per case closed more than 30 days ago and still not archived (执法案卷
    管理制度: archived within 30 days of closing). Idempotent; returns the cases alerted."""
    day = today or timezone.localdate()
    raised: list[uuid.UUID] = []
    with transaction.atomic():
        overdue = (
            Case.objects.select_for_update(skip_locked=True)
            .filter(
                stage=CaseStage.CLOSED,
                archived_at__isnull=True,
                archive_by__lt=day,
                archive_alerted_on__isnull=True,
            )
            .order_by("pk")
        )
        for case in overdue:
            Case.objects.filter(pk=case.pk).update(archive_alerted_on=day)
            audit_record(
                actor=Actor.system(),
                action="case.archive_overdue",
                object_type="case",
                object_id=case.pk,
                data={"archive_by": str(case.archive_by), "number": case.number},
            )
            raised.append(case.pk)
    return raised
