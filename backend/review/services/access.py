"""Access requests: creating them, their documents, approval or rejection, and revoking grants."""

from __future__ import annotations

import datetime
import hashlib
import io
import uuid
from collections.abc import Iterable
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.footage.models import Recording
from backend.footage.storage import object_store
from backend.review.models import (
    OUTSIDE_BODIES,
    PARTIES,
    AccessDocument,
    AccessDocumentKind,
    AccessGrant,
    AccessRequest,
    AccessRequestState,
    ApprovalAuthority,
    ExportPackage,
    ProxiesState,
    RequesterKind,
)
from backend.review.selectors import (
    recording_unit,
    user_may_approve,
    user_may_revoke,
)
from backend.review.services.exports import _enqueue_copies_withdrawal

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_GRANT_DAYS = 90
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
