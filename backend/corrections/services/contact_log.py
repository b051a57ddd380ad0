"""Contacts logged in the browser by the correction officer."""

from __future__ import annotations

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Officer, Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, PermissionDenied
from backend.corrections.models import (
    Contact,
    ContactKind,
    OverdueAlert,
    Subject,
)
from backend.corrections.services.contacts import ContactInput, contact_copy, contact_write
from sync.records.services import records_commit

# --- contacts logged in the browser --------------------------------------------------------


def contact_log(*, actor: User, kind: str, subject: Subject, values: ContactInput) -> Contact:
    """A check-in, visit or talk logged by a correction officer in the browser (a tablet
    was not at hand). Same rules as a tablet's push (contact_write: the subject must be of
    the officer's own office); audited, sent to the office's tablets, and an open overdue
    alert of the period it fills is resolved at once."""
    officer = Officer.objects.filter(user=actor).first()
    if officer is None or actor.role != Role.CORRECTION_OFFICER:
        raise PermissionDenied(
            _("只有本司法所的矫正工作人员可以登记工作记录"), code="not_a_correction_officer"
        )
    if kind not in (ContactKind.CHECK_IN, ContactKind.HOME_VISIT, ContactKind.TALK):
        raise InvalidInput(_("未知的工作记录类型"), code="unknown_kind", details={"kind": kind})
    if values.subject_id != subject.pk:
        raise InvalidInput(_("矫正对象不符"), code="subject_mismatch")
    if values.started_at > timezone.now() + datetime.timedelta(minutes=5):
        raise InvalidInput(_("开始时间不能晚于现在"), code="starts_in_future")
    with transaction.atomic():
        contact = contact_write(
            kind=kind,
            record_id=uuid.uuid4(),
            officer=officer,
            device=None,
            values=values,
            existing=False,
        )
        day = timezone.localdate(contact.started_at)
        for alert in OverdueAlert.objects.select_for_update().filter(
            subject=subject,
            kind=kind,
            resolved_at__isnull=True,
            period_start__lte=day,
            period_end__gte=day,
        ):
            done = Contact.objects.filter(
                subject=subject,
                kind=kind,
                deleted_at__isnull=True,
                started_at__date__gte=alert.period_start,
                started_at__date__lte=alert.period_end,
            ).count()
            alert.done = done
            fields = ["done"]
            if done >= alert.required:
                alert.resolved_at = timezone.now()
                fields.append("resolved_at")
            alert.save(update_fields=fields)
        audit_record(
            actor=Actor.user(actor),
            action="correction_contact.logged",
            object_type="correction_contact",
            object_id=contact.pk,
            data={
                "subject_id": str(subject.pk),
                "kind": kind,
                "crosscheck_status": contact.crosscheck_status,
                "source": "web",
            },
        )
        records_commit([contact_copy(contact)])
    return contact
