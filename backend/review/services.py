"""Every write of the review app: sign-in attempts, access requests and their approval,
the access register and exports. Each state change writes its audit event."""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.footage.models import MediaKind, Recording, RecordingState
from backend.footage.storage import object_store, original_version_params
from backend.review.models import (
    OUTSIDE_BODIES,
    PARTIES,
    AccessBasis,
    AccessDocument,
    AccessDocumentKind,
    AccessGrant,
    AccessRegisterEntry,
    AccessRequest,
    AccessRequestState,
    ApprovalAuthority,
    ExportPackage,
    LoginAttempt,
    ProxiesState,
    RegisterAction,
    RequesterKind,
)
from backend.review.selectors import (
    grant_require_usable,
    recording_unit,
    recordings_require_not_destroyed,
    user_may_approve,
    user_may_revoke,
)

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_GRANT_DAYS = 90
REGISTER_AUDIT_ACTIONS: dict[str, str] = {
    RegisterAction.VIEW: "recording.viewed",
    RegisterAction.DOWNLOAD: "recording.downloaded",
    RegisterAction.EXPORT: "recording.exported",
}


# -- sign-in lockout -----------------------------------------------------------------------


def login_failures_allowed() -> int:
    return int(getattr(settings, "FV_LOGIN_MAX_FAILURES", 5))


def login_lockout_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "FV_LOGIN_LOCKOUT_MINUTES", 15)))


def login_locked_until(
    *, username: str, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When the user name is locked (N failures since the last success, within M minutes),
    the moment the lock ends; otherwise None."""
    now = now or timezone.now()
    window_start = now - login_lockout_window()
    recent = list(
        LoginAttempt.objects.filter(username__iexact=username, occurred_at__gte=window_start)
        .order_by("-occurred_at")
        .values_list("succeeded", "occurred_at")[: login_failures_allowed()]
    )
    if len(recent) < login_failures_allowed() or any(ok for ok, _at in recent):
        return None
    return recent[0][1] + login_lockout_window()


def login_ip_failures_allowed() -> int:
    return int(getattr(settings, "FV_LOGIN_IP_MAX_FAILURES", 20))


def login_ip_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "FV_LOGIN_IP_WINDOW_MINUTES", 15)))


def login_ip_blocked_until(
    *, ip_address: str | None, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When one IP address has failed N times within M minutes (any user names), the moment
    the block ends (when the oldest of those N failures leaves the window); otherwise None.
    Unlike the per-name lockout a success does not reset it: signing in to one's own
    account must not buy more guesses at other people's."""
    if not ip_address:
        return None
    now = now or timezone.now()
    allowed = login_ip_failures_allowed()
    recent = list(
        LoginAttempt.objects.filter(
            ip_address=ip_address, succeeded=False, occurred_at__gte=now - login_ip_window()
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[:allowed]
    )
    if len(recent) < allowed:
        return None
    return recent[-1] + login_ip_window()


def login_ip_refusal_record(
    *, username: str, ip_address: str | None, until: datetime.datetime
) -> None:
    """Audit a sign-in refused because its IP address is throttled. No LoginAttempt row is
    written, so the refusal neither extends the block nor counts against the user name."""
    audit_record(
        actor=Actor.system(),
        action="login.ip_throttled",
        object_type="ip_address",
        object_id=(ip_address or "")[:64],
        data={"ip": ip_address, "username": username[:150], "until": until.isoformat()},
    )


def login_attempt_record(*, username: str, ip_address: str | None, succeeded: bool) -> None:
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=username[:150], ip_address=ip_address, succeeded=succeeded
        )
        audit_record(
            actor=Actor.system(),
            action="login.succeeded" if succeeded else "login.failed",
            object_type="username",
            object_id=username[:64],
            data={"ip": ip_address},
        )


# -- access requests -----------------------------------------------------------------------

REQUIRED_DOCUMENTS: dict[str, set[str]] = {
    **{
        kind: {AccessDocumentKind.LETTER_OF_INTRODUCTION, AccessDocumentKind.IDENTITY}
        for kind in OUTSIDE_BODIES
    },
    RequesterKind.PARTY: {AccessDocumentKind.IDENTITY},
    RequesterKind.PARTY_LAWYER: {
        AccessDocumentKind.LETTER_OF_INTRODUCTION,
        AccessDocumentKind.IDENTITY,
        AccessDocumentKind.POWER_OF_ATTORNEY,
        AccessDocumentKind.LAWYER_LICENCE,
    },
}


def access_request_create(
    *,
    requester: User,
    requester_kind: str,
    purpose: str,
    recording_ids: Iterable[str],
    want_copy: bool = False,
    applicant_name: str = "",
    applicant_organisation: str = "",
    applicant_id_number: str = "",
    activity_id: str = "",
) -> AccessRequest:
    """File a request (调阅申请) naming its purpose and recordings, an activity, or both:
    naming an activity asks for every recording linked to it. The seed decides who must
    approve it: a legal officer only asks to copy, approved by the office head (第四条);
    everyone else is approved by the bureau head (第五至七条). Outside bodies and parties
    are entered by staff on their behalf with their identity; a party may view, not copy
    (第七条)."""
    if requester_kind not in RequesterKind.values:
        raise InvalidInput("unknown requester kind", code="invalid_requester_kind")
    purpose = purpose.strip()
    if not purpose:
        raise InvalidInput("a request states its purpose", code="purpose_required")
    if requester_kind == RequesterKind.LEGAL_OFFICER:
        if requester.role != Role.LEGAL_OFFICER:
            raise InvalidInput(
                "only legal officers file as the unit's legal officer",
                code="requester_kind_mismatch",
            )
        if not want_copy:
            raise InvalidInput(
                "the unit's legal officer views directly; a request is only needed to copy",
                code="legal_officer_views_directly",
            )
        authority = ApprovalAuthority.OFFICE_HEAD
    else:
        authority = ApprovalAuthority.BUREAU_HEAD
    if requester_kind in PARTIES and want_copy:
        raise InvalidInput(
            "a party or its lawyer may view the footage, not copy it", code="party_may_not_copy"
        )
    if requester_kind in OUTSIDE_BODIES | PARTIES and not (
        applicant_name.strip() and applicant_id_number.strip()
    ):
        raise InvalidInput(
            "name and ID number of the applicant are required", code="applicant_identity_required"
        )
    keys: list[uuid.UUID] = []
    for raw in recording_ids:
        try:
            keys.append(uuid.UUID(str(raw)))
        except ValueError as exc:
            raise InvalidInput(
                "not a recording id", code="invalid_recording_id", details={"value": str(raw)[:80]}
            ) from exc
    recordings = list(Recording.objects.filter(pk__in=keys))
    if len(recordings) != len(set(keys)):
        raise InvalidInput(
            "unknown recordings named",
            code="unknown_recordings",
            details={"count": len(set(keys)) - len(recordings)},
        )
    activity_ref = ""
    if activity_id.strip():
        activity_ref, linked = _activity_recordings(activity_id.strip())
        known = {r.pk for r in recordings}
        recordings.extend(r for r in linked if r.pk not in known)
    if not recordings:
        raise InvalidInput(
            "name at least one recording, or an activity with linked recordings",
            code="recordings_required",
        )
    with transaction.atomic():
        request = AccessRequest.objects.create(
            requester=requester,
            requester_kind=requester_kind,
            applicant_name=applicant_name.strip(),
            applicant_organisation=applicant_organisation.strip(),
            applicant_id_number=applicant_id_number.strip(),
            purpose=purpose,
            want_copy=want_copy,
            activity_ref=activity_ref,
            required_authority=authority,
        )
        request.recordings.set(recordings)
        audit_record(
            actor=Actor.user(requester),
            action="access_request.created",
            object_type="access_request",
            object_id=request.pk,
            data={
                "kind": requester_kind,
                "want_copy": want_copy,
                "purpose": purpose,
                "recordings": sorted(str(r.pk) for r in recordings),
                "activity": activity_ref or None,
            },
        )
    return request


def _activity_recordings(activity_id: str) -> tuple[str, list[Recording]]:
    """The activity's id and its linked recordings (links a person removed excluded).
    Any activity may be named: asking is how one reaches what one's post does not show."""
    from backend.coverage.models import RecordingLink
    from backend.enforcement.models import Activity

    try:
        key = uuid.UUID(activity_id)
    except ValueError as exc:
        raise InvalidInput(
            "not an activity id", code="invalid_activity_id", details={"value": activity_id[:80]}
        ) from exc
    if not Activity.objects.filter(pk=key).exists():
        raise InvalidInput("unknown activity named", code="unknown_activity")
    linked = Recording.objects.filter(
        pk__in=RecordingLink.objects.filter(activity_id=key, excluded=False).values("recording_id")
    ).order_by("started_at")
    return str(key), list(linked)


def access_document_add(
    *,
    request: AccessRequest,
    user: User,
    kind: str,
    file_name: str,
    content_type: str,
    body: IO[bytes],
) -> AccessDocument:
    """Attach a scanned document (letter of introduction, ID, power of attorney, licence)."""
    if kind not in AccessDocumentKind.values:
        raise InvalidInput("unknown document kind", code="invalid_document_kind")
    if request.requester_id != user.pk:
        raise PermissionDenied("only the requester adds documents", code="not_requester")
    if request.state != AccessRequestState.PENDING:
        raise Conflict("the request was already decided", code="request_decided")
    data = body.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput("document larger than 20 MB", code="document_too_large")
    if not data:
        raise InvalidInput("empty document", code="document_empty")
    digest = hashlib.sha256(data).hexdigest()
    key = f"access-documents/{request.pk}/{digest}"
    object_store().put_stream(
        bucket=settings.FV_DERIVATIVES_BUCKET,
        key=key,
        body=io.BytesIO(data),
        content_type=content_type or "application/octet-stream",
    )
    with transaction.atomic():
        document = AccessDocument.objects.create(
            request=request,
            kind=kind,
            file_name=file_name[:255],
            content_type=(content_type or "application/octet-stream")[:100],
            size_bytes=len(data),
            sha256=digest,
            storage_key=key,
            uploaded_by=user,
        )
        audit_record(
            actor=Actor.user(user),
            action="access_request.document_added",
            object_type="access_request",
            object_id=request.pk,
            data={"kind": kind, "sha256": digest, "size": len(data), "file_name": file_name[:255]},
        )
    return document


def access_request_approve(
    *,
    request_id: uuid.UUID,
    approver: User,
    valid_days: int = 7,
    note: str = "",
    view_only: bool = False,
    recording_ids: Iterable[str] | None = None,
    now: datetime.datetime | None = None,
) -> AccessGrant:
    """Approve a pending request: a grant with a scope (the request's recordings, or the
    subset `recording_ids` the approver allows), view or copy (copy only when asked for;
    `view_only` withholds it), and an expiry."""
    if not 1 <= valid_days <= MAX_GRANT_DAYS:
        raise InvalidInput(f"a grant lasts 1 to {MAX_GRANT_DAYS} days", code="invalid_validity")
    scope: set[str] | None = None
    if recording_ids is not None:
        scope = {str(r).strip() for r in recording_ids if str(r).strip()}
        if not scope:
            raise InvalidInput("a grant names at least one recording", code="grant_scope_empty")
    now = now or timezone.now()
    with transaction.atomic():
        request = _locked_request(request_id)
        _check_decider(request=request, approver=approver)
        have = set(request.documents.values_list("kind", flat=True))
        missing = sorted(REQUIRED_DOCUMENTS.get(request.requester_kind, set()) - have)
        if missing:
            raise Conflict(
                "supporting documents are missing",
                code="documents_missing",
                details={"missing": missing},
            )
        recordings = list(request.recordings.all())
        if scope is not None:
            outside = sorted(scope - {str(r.pk) for r in recordings})
            if outside:
                raise InvalidInput(
                    "a grant covers only recordings the request names",
                    code="grant_scope_outside_request",
                    details={"recordings": [value[:80] for value in outside[:20]]},
                )
            recordings = [r for r in recordings if str(r.pk) in scope]
        request.state = AccessRequestState.APPROVED
        request.decided_by = approver
        request.decided_at = now
        request.decision_note = note
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        grant = AccessGrant.objects.create(
            request=request,
            holder=request.requester,
            can_copy=request.want_copy and not view_only,
            expires_at=now + datetime.timedelta(days=valid_days),
            granted_by=approver,
            granted_at=now,
        )
        grant.recordings.set(recordings)
        audit_record(
            actor=Actor.user(approver),
            action="access_request.approved",
            object_type="access_request",
            object_id=request.pk,
            data={
                "grant": str(grant.pk),
                "can_copy": grant.can_copy,
                "expires_at": grant.expires_at.isoformat(),
                "note": note,
                "recordings": sorted(str(r.pk) for r in recordings),
            },
        )
    return grant


def access_request_reject(
    *, request_id: uuid.UUID, approver: User, note: str = ""
) -> AccessRequest:
    with transaction.atomic():
        request = _locked_request(request_id)
        _check_decider(request=request, approver=approver)
        request.state = AccessRequestState.REJECTED
        request.decided_by = approver
        request.decided_at = timezone.now()
        request.decision_note = note
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=Actor.user(approver),
            action="access_request.rejected",
            object_type="access_request",
            object_id=request.pk,
            data={"note": note},
        )
    return request


MAX_REVOKE_REASON = 1000


def access_grant_revoke(
    *, grant_id: uuid.UUID, user: User, reason: str, now: datetime.datetime | None = None
) -> AccessGrant:
    """Revoke a grant early (提前撤销): it stops working at once for viewing, playback,
    export and download. Its approver, the bureau head over its recordings or a system
    administrator may revoke, never its holder; a reason is required. Revoking leaves the
    request approved (the register and exports keep pointing at the grant), so nobody can
    revoke and then approve the same request anew."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a revocation states its reason", code="revoke_reason_required")
    if len(reason) > MAX_REVOKE_REASON:
        raise InvalidInput(
            f"the reason is longer than {MAX_REVOKE_REASON} characters",
            code="revoke_reason_too_long",
        )
    now = now or timezone.now()
    with transaction.atomic():
        grant = AccessGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            raise NotFound("no such grant", code="grant_not_found")
        if grant.holder_id == user.pk:
            raise PermissionDenied(
                "the holder of a grant may not revoke it", code="revoker_is_holder"
            )
        if not user_may_revoke(user=user, grant=grant):
            raise PermissionDenied(
                "revoking needs the grant's approver, the bureau head or a system administrator",
                code="revoker_lacks_authority",
            )
        if grant.revoked_at is not None:
            raise Conflict(
                "the grant was already revoked",
                code="grant_already_revoked",
                details={"revoked_at": grant.revoked_at.isoformat()},
            )
        if grant.expires_at <= now:
            raise Conflict(
                "the grant has already expired",
                code="grant_expired",
                details={"expired_at": grant.expires_at.isoformat()},
            )
        grant.revoked_at = now
        grant.revoked_by = user
        grant.revoke_reason = reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        # Copies already made for this grant's exports must not outlive it.
        if ExportPackage.objects.filter(grant=grant, proxies_state=ProxiesState.READY).exists():
            grant_pk = str(grant.pk)
            transaction.on_commit(lambda: _enqueue_copies_withdrawal(grant_pk))
        audit_record(
            actor=Actor.user(user),
            action="access_grant.revoked",
            object_type="access_request",
            object_id=grant.request_id,
            data={
                "grant": str(grant.pk),
                "holder": grant.holder_id,
                "reason": reason,
                "expires_at": grant.expires_at.isoformat(),
                "recordings": sorted(
                    str(pk) for pk in grant.recordings.values_list("pk", flat=True)
                ),
            },
        )
    return grant


def _locked_request(request_id: uuid.UUID) -> AccessRequest:
    request = AccessRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise NotFound("no such access request", code="access_request_not_found")
    return request


def _check_decider(*, request: AccessRequest, approver: User) -> None:
    if request.requester_id == approver.pk:
        raise PermissionDenied(
            "a requester may not decide their own request", code="approver_is_requester"
        )
    if request.state != AccessRequestState.PENDING:
        raise Conflict(
            "the request was already decided",
            code="request_decided",
            details={"state": request.state},
        )
    units = [
        recording_unit(r)
        for r in request.recordings.select_related("officer__unit", "device__unit")
    ]
    if not user_may_approve(user=approver, request=request, units=units):
        raise PermissionDenied(
            "approving this request needs the " + str(request.get_required_authority_display()),
            code="approver_lacks_authority",
            details={"required_authority": request.required_authority},
        )


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


# -- exports -----------------------------------------------------------------------------------


def export_create(
    *,
    grant: AccessGrant,
    user: User,
    purpose: str = "",
    ip_address: str | None = None,
    now: datetime.datetime | None = None,
) -> ExportPackage:
    """Record an export under a copy grant. The package itself is streamed on download
    (backend.review.packaging); this row fixes what goes in and the hashes it must show.
    Recordings under legal hold are exported all the same: a hold stops destruction, not
    viewing, and the export is registered like any other."""
    now = now or timezone.now()
    if grant.holder_id != user.pk:
        raise NotFound("no such grant", code="grant_not_found")
    grant_require_usable(grant, at=now)
    if not grant.can_copy:
        raise PermissionDenied("this grant allows viewing only", code="grant_view_only")
    recordings = list(
        grant.recordings.select_related(
            "device", "officer", "officer__unit", "device__unit"
        ).order_by("started_at")
    )
    recordings_require_not_destroyed(recordings)
    not_stored = [str(r.pk) for r in recordings if r.state != RecordingState.STORED]
    if not_stored:
        raise Conflict(
            "some recordings are not stored yet",
            code="recordings_not_stored",
            details={"recordings": not_stored},
        )
    request = grant.request
    outside = request.requester_kind in OUTSIDE_BODIES | PARTIES
    who = request.applicant_name or user.get_full_name() or user.get_username()
    if request.applicant_organisation:
        who = f"{request.applicant_organisation} {who}"
    watermark = f"{who} {timezone.localtime(now).date().isoformat()}" if outside else ""
    manifest = {
        "recordings": [
            {
                "id": str(r.pk),
                "file_name": r.file_name,
                "sha256": r.sha256,
                "size_bytes": r.size_bytes,
                "media_kind": r.media_kind,
                "device_serial": r.device.serial,
                "officer": r.officer.name if r.officer else None,
                "officer_certificate": r.officer.certificate_number if r.officer else None,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat(),
                "device_started_at": r.device_started_at.isoformat(),
                "clock_offset_ms": r.clock_offset_ms,
                "stored_at": r.stored_at.isoformat() if r.stored_at else None,
            }
            for r in recordings
        ],
    }
    needs_proxies = outside and any(r.media_kind in VISUAL_KINDS for r in recordings)
    with transaction.atomic():
        export = ExportPackage.objects.create(
            grant=grant,
            created_by=user,
            created_at=now,
            purpose=purpose.strip() or request.purpose,
            watermark_text=watermark,
            with_proxies=outside,
            manifest=manifest,
            proxies_state=ProxiesState.PENDING if needs_proxies else ProxiesState.NONE,
        )
        if needs_proxies:
            export_id = str(export.pk)
            transaction.on_commit(lambda: _enqueue_proxies(export_id))
        for recording in recordings:
            register_write(
                user=user,
                action=RegisterAction.EXPORT,
                basis=AccessBasis.GRANT,
                purpose=export.purpose,
                recording=recording,
                grant=grant,
                export=export,
                ip_address=ip_address,
            )
    return export


VISUAL_KINDS = frozenset({MediaKind.VIDEO, MediaKind.PHOTO})  # audio carries no visible mark
PROXIES_CLAIM_STALE = datetime.timedelta(hours=2)  # a worker killed mid-job is retried


def _enqueue_proxies(export_id: str) -> None:
    from backend.review.tasks import prepare_export_proxies

    prepare_export_proxies.enqueue(export_id)


def _enqueue_copies_withdrawal(grant_id: str) -> None:
    from backend.review.tasks import withdraw_export_copies

    withdraw_export_copies.enqueue(grant_id)


@dataclass(frozen=True)
class _GrantStopped:
    """Why an export's grant no longer allows its watermarked copies."""

    state: str  # ProxiesState.REVOKED or ProxiesState.EXPIRED
    reason: str  # grant_revoked / grant_expired (the codes grant_require_usable answers)
    error: str
    details: dict[str, object]


def _export_grant_stopped(
    export_id: uuid.UUID, *, at: datetime.datetime, lock: bool = False
) -> _GrantStopped | None:
    """Read the export's grant afresh (locked with ``lock``: a revocation locks it too) and
    say whether it was revoked or has expired at ``at``."""
    grants = AccessGrant.objects.filter(exports__pk=export_id)
    if lock:
        grants = grants.select_for_update(of=("self",))
    grant = grants.get()
    if grant.revoked_at is not None:
        return _GrantStopped(
            state=ProxiesState.REVOKED,
            reason="grant_revoked",
            error=f"grant revoked at {grant.revoked_at.isoformat()}: {grant.revoke_reason}",
            details={
                "grant": str(grant.pk),
                "revoked_at": grant.revoked_at.isoformat(),
                "revoked_by": grant.revoked_by_id,
            },
        )
    if grant.expires_at <= at:
        return _GrantStopped(
            state=ProxiesState.EXPIRED,
            reason="grant_expired",
            error=f"grant expired at {grant.expires_at.isoformat()}",
            details={"grant": str(grant.pk), "expires_at": grant.expires_at.isoformat()},
        )
    return None


def _export_proxies_withdraw(
    *, export_id: uuid.UUID, stopped: _GrantStopped, published: list[str], stage: str
) -> str:
    """The grant stopped working while (or before) its copies were made: remove what was
    already put in the derivatives bucket, say why on the export, and audit it."""
    store = object_store()
    removed: list[str] = []
    left: list[str] = []
    for key in published:
        try:
            store.client.delete_object(Bucket=settings.FV_DERIVATIVES_BUCKET, Key=key)
            removed.append(key)
        except Exception:  # named in the audit event; the export never points at it
            logger.exception("could not remove the watermarked copy %s", key)
            left.append(key)
    with transaction.atomic():
        ExportPackage.objects.filter(pk=export_id).update(
            proxies_state=stopped.state, proxies=[], proxies_error=stopped.error[:2000]
        )
        audit_record(
            actor=Actor.system(),
            action="export.proxies_withdrawn",
            object_type="export",
            object_id=export_id,
            data={
                "reason": stopped.reason,
                "stage": stage,
                **stopped.details,
                "copies_removed": removed,
                "copies_left": left,
            },
        )
    return str(stopped.state)


def export_copies_withdraw(
    *, grant_id: uuid.UUID | None = None, now: datetime.datetime | None = None
) -> int:
    """Remove the watermarked copies of ready exports whose grant stopped working — revoked
    (queued by the revocation) or expired at ``now`` (the periodic pass) — from the
    derivatives bucket, and say so on the export (state revoked/expired, audited
    ``export.proxies_withdrawn``). Returns how many exports lost their copies. Idempotent."""
    now = now or timezone.now()
    exports = ExportPackage.objects.filter(proxies_state=ProxiesState.READY).filter(
        Q(grant__revoked_at__isnull=False) | Q(grant__expires_at__lte=now)
    )
    if grant_id is not None:
        exports = exports.filter(grant_id=grant_id)
    withdrawn = 0
    for export_id in exports.values_list("pk", flat=True):
        with transaction.atomic():
            export = (
                ExportPackage.objects.select_for_update()
                .filter(pk=export_id, proxies_state=ProxiesState.READY)
                .first()
            )
            stopped = _export_grant_stopped(export_id, at=now) if export else None
            if export is None or stopped is None:
                continue
            keys = [str(p["key"]) for p in export.proxies]
            _export_proxies_withdraw(
                export_id=export_id, stopped=stopped, published=keys, stage="after_ready"
            )
            withdrawn += 1
    return withdrawn


def export_proxies_prepare(*, export_id: uuid.UUID, now: datetime.datetime | None = None) -> str:
    """Burn the watermark (requester, date) into viewing copies of the export's video and
    photos and keep them in the derivatives bucket, so that downloading the package streams
    stored bytes only. Idempotent: one job claims the export; a duplicate, late or repeated
    job finds it claimed or ready and does nothing. The originals are only read.

    The grant is checked again when the job starts, before each copy is published and,
    locked against a concurrent revocation, before the export is marked ready: a grant
    revoked (or expired) after the export was queued gets no copies. What was already
    published is deleted, the export ends ``revoked`` / ``expired`` and that is audited
    (``export.proxies_withdrawn``); the word returned is that state."""
    from backend.review.packaging import package_file_name, watermark_media

    now = now or timezone.now()
    claimed = ExportPackage.objects.filter(
        Q(proxies_state=ProxiesState.PENDING)
        | Q(proxies_state=ProxiesState.WORKING, proxies_claimed_at__lt=now - PROXIES_CLAIM_STALE),
        pk=export_id,
    ).update(proxies_state=ProxiesState.WORKING, proxies_claimed_at=now)
    if not claimed:
        return "not due"
    stopped = _export_grant_stopped(export_id, at=now)
    if stopped is not None:
        return _export_proxies_withdraw(
            export_id=export_id, stopped=stopped, published=[], stage="start"
        )
    export = ExportPackage.objects.select_related("grant").get(pk=export_id)
    store = object_store()
    made: list[dict[str, object]] = []
    work = Path(tempfile.mkdtemp(prefix="fv-export-"))
    try:
        recordings = export.grant.recordings.filter(media_kind__in=VISUAL_KINDS).order_by(
            "started_at"
        )
        destroyed = sorted(str(r.pk) for r in recordings if r.state == RecordingState.DESTROYED)
        if destroyed:
            raise RuntimeError(f"recording_destroyed: {', '.join(destroyed)}")
        for recording in recordings:
            suffix = ".jpg" if recording.media_kind == MediaKind.PHOTO else ".mp4"
            target = work / f"proxy{suffix}"
            watermark_media(
                source=store.presigned_get(
                    bucket=settings.FV_ORIGINALS_BUCKET,
                    key=recording.storage_key,
                    expires_seconds=3600,
                    **original_version_params(recording),
                ),
                target=target,
                text=export.watermark_text,
                media_kind=recording.media_kind,
                work_dir=work,
            )
            digest = hashlib.sha256()
            with target.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            name = f"{Path(package_file_name(recording)).stem}-watermarked{suffix}"
            key = f"exports/{export.pk}/{name}"
            # Transcoding takes a while: the grant may have been revoked meanwhile.
            stopped = _export_grant_stopped(export.pk, at=timezone.now())
            if stopped is not None:
                return _export_proxies_withdraw(
                    export_id=export.pk,
                    stopped=stopped,
                    published=[str(p["key"]) for p in made],
                    stage="before_publish",
                )
            store.put_file(
                bucket=settings.FV_DERIVATIVES_BUCKET,
                key=key,
                path=target,
                content_type="image/jpeg" if suffix == ".jpg" else "video/mp4",
            )
            made.append(
                {
                    "recording_id": str(recording.pk),
                    "path": f"proxies/{name}",
                    "bucket": settings.FV_DERIVATIVES_BUCKET,
                    "key": key,
                    "sha256": digest.hexdigest(),
                    "size_bytes": target.stat().st_size,
                }
            )
            target.unlink()
    except Exception as error:  # ffmpeg or S3 refused: the export says so; a new export retries
        with transaction.atomic():
            ExportPackage.objects.filter(pk=export.pk).update(
                proxies_state=ProxiesState.FAILED, proxies_error=str(error)[:2000]
            )
            audit_record(
                actor=Actor.system(),
                action="export.proxies_failed",
                object_type="export",
                object_id=export.pk,
                data={"error": str(error)[:500]},
            )
        return "failed"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        # Locked: a revocation committing now waits for this, or this sees it.
        stopped = _export_grant_stopped(export.pk, at=timezone.now(), lock=True)
        if stopped is None:
            ExportPackage.objects.filter(pk=export.pk).update(
                proxies_state=ProxiesState.READY, proxies=made, proxies_error=""
            )
            audit_record(
                actor=Actor.system(),
                action="export.proxies_ready",
                object_type="export",
                object_id=export.pk,
                data={"proxies": [{"path": p["path"], "sha256": p["sha256"]} for p in made]},
            )
    if stopped is not None:
        return _export_proxies_withdraw(
            export_id=export.pk,
            stopped=stopped,
            published=[str(p["key"]) for p in made],
            stage="before_ready",
        )
    return "ready"
