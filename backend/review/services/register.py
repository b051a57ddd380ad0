"""The access register: every view, download and export of a recording, audited."""

from __future__ import annotations

from django.db import transaction

from backend.accounts.models import User
from backend.audit.services import Actor, audit_record
from backend.footage.models import Recording
from backend.review.models import (
    AccessBasis,
    AccessGrant,
    AccessRegisterEntry,
    ExportPackage,
    RegisterAction,
)
from backend.review.selectors import (
    recording_unit,
)

REGISTER_AUDIT_ACTIONS: dict[str, str] = {
    RegisterAction.VIEW: "recording.viewed",
    RegisterAction.DOWNLOAD: "recording.downloaded",
    RegisterAction.EXPORT: "recording.exported",
}
# -- the access register ---------------------------------------------------------------------


def register_write(
    *,
    user: User,
    action: str,
    basis: str,
    purpose: str,
    recording: Recording | None = None,
    grant: AccessGrant | None = None,
    export: ExportPackage | None = None,
    ip_address: str | None = None,
) -> AccessRegisterEntry:
    """Enter one view, download or export in the register (and the audit chain)."""
    unit = recording_unit(recording) if recording is not None else None
    purpose = purpose.strip() or str(AccessBasis(basis).label)
    with transaction.atomic():
        entry = AccessRegisterEntry.objects.create(
            user=user,
            user_display=(user.get_full_name() or user.get_username())[:200],
            user_role=user.role,
            user_unit=(user.unit.name if user.unit else "")[:200],
            action=action,
            recording=recording,
            recording_unit_path=unit.path if unit else "",
            grant=grant,
            export=export,
            basis=basis,
            purpose=purpose,
            ip_address=ip_address,
        )
        audit_record(
            actor=Actor.user(user),
            action=REGISTER_AUDIT_ACTIONS[action],
            object_type="recording" if recording is not None else "export",
            object_id=recording.pk if recording is not None else (export.pk if export else ""),
            data={
                "register_entry": entry.pk,
                "basis": basis,
                "purpose": purpose,
                "grant": str(grant.pk) if grant else None,
                "export": str(export.pk) if export else None,
            },
        )
    return entry


def register_export_record(*, user: User, filters: dict[str, object], rows: int) -> None:
    """Who took a copy of the register itself (XLSX), with which search, how many rows."""
    audit_record(
        actor=Actor.user(user),
        action="access_register.exported",
        object_type="access_register",
        object_id="xlsx",
        data={
            "filters": {key: str(value) for key, value in filters.items() if value},
            "rows": rows,
        },
    )
