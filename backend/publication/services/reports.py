"""纠错 (公示制度: 发现公开的行政执法信息不准确的，及时予以更正): the public reports an
inaccuracy on a published item; staff investigate and either correct the item with a note
or answer that it was accurate; the reporter's ticket shows the outcome.

No captcha: reports are throttled per address (FV_PUBLIC_REPORTS_PER_HOUR), the address kept
only as a keyed hash."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, FieldVaultError, InvalidInput, NotFound
from backend.publication.models import ErrorReport, ItemState, PublicItem, ReportState
from backend.publication.selectors import item_for_manager
from backend.publication.services.items import public_item_correct

TEXT_MAX = 2000
CONTACT_MAX = 100


class TooManyReports(FieldVaultError):
    status = 429
    code = "too_many_reports"


def address_key(address: str | None) -> str:
    """A keyed hash of the reporter's address: enough to throttle, useless to identify."""
    secret = str(settings.SECRET_KEY).encode()
    return hmac.new(secret, (address or "-").encode(), hashlib.sha256).hexdigest()


def error_report_submit(
    *, item_id: uuid.UUID, text: str, contact: str, address: str | None
) -> ErrorReport:
    text, contact = text.strip(), contact.strip()
    if not text:
        raise InvalidInput(_("请写明哪里不准确。"), code="text_required")
    if len(text) > TEXT_MAX or len(contact) > CONTACT_MAX:
        raise InvalidInput(
            _("纠错内容不超过 %(text)s 字，联系方式不超过 %(contact)s 字。")
            % {"text": TEXT_MAX, "contact": CONTACT_MAX},
            code="too_long",
        )
    key = address_key(address)
    since = timezone.now() - datetime.timedelta(hours=1)
    recent = ErrorReport.objects.filter(address_key=key, submitted_at__gte=since)
    if recent.count() >= settings.FV_PUBLIC_REPORTS_PER_HOUR:
        raise TooManyReports(_("提交过于频繁，请一小时后再试。"))
    item = PublicItem.objects.filter(pk=item_id, state=ItemState.PUBLISHED).first()
    if item is None:
        raise NotFound(_("没有这条公示信息，或已过公开期限。"))
    report = ErrorReport.objects.create(item=item, text=text, contact=contact, address_key=key)
    audit_record(
        actor=Actor.system(),
        action="public_item.error_reported",
        object_type="public_item",
        object_id=item.pk,
        data={"report": str(report.pk)},
    )
    return report


def error_report_handle(
    *,
    actor: User,
    report_id: uuid.UUID,
    outcome: str,
    note: str,
    field_label: str = "",
    new_value: str = "",
) -> ErrorReport:
    """Close a report: `corrected` replaces the named field's text of the published item
    (its public text derived again, names masked and withheld texts removed as on
    publication; the version kept), `no_error` answers that it was accurate. The note is
    what the reporter's ticket shows."""
    if outcome not in (ReportState.CORRECTED, ReportState.NO_ERROR):
        raise InvalidInput(_("请选择核查结果。"), code="invalid_outcome")
    if not note.strip():
        raise InvalidInput(_("请填写核查说明（将告知纠错人）。"), code="note_required")
    with transaction.atomic():
        report = ErrorReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(_("没有该纠错。"))
        item_for_manager(actor, report.item_id)  # another unit's report: 404
        if report.state != ReportState.OPEN:
            raise Conflict(_("该纠错已处理。"), code="already_handled")
        if outcome == ReportState.CORRECTED:
            public_item_correct(
                item_id=report.item_id,
                field_label=field_label,
                new_value=new_value,
                note=note.strip(),
                actor=actor,
            )
        report.state = outcome
        report.outcome = note.strip()
        report.handled_by = actor
        report.handled_at = timezone.now()
        report.save()
        audit_record(
            actor=Actor.user(actor),
            action="public_item.error_report_handled",
            object_type="public_item",
            object_id=report.item_id,
            data={"report": str(report.pk), "outcome": outcome, "field": field_label},
        )
    return report
