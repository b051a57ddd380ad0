"""Access requests, grants, the register, playback and exports for signed-in users.

Scoping is the pages' scoping (backend.review.selectors)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status
from ninja.security import django_auth

from backend.accounts.models import User
from backend.review import selectors, services
from backend.review.models import AccessGrant, AccessRequest, RegisterAction
from backend.review.playback import recording_media_urls
from backend.review.schemas import (
    AccessRequestIn,
    AccessRequestOut,
    DecisionIn,
    ExportIn,
    ExportOut,
    GrantOut,
    PlaybackOut,
    RegisterEntryOut,
    RevokeIn,
)
from backend.web.requests import client_ip

router = Router(tags=["access review"], auth=django_auth)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _request_out(item: AccessRequest) -> AccessRequestOut:
    grant = getattr(item, "grant", None) if item.state == "approved" else None
    return AccessRequestOut(
        id=str(item.pk),
        requester_id=item.requester_id,
        requester_kind=item.requester_kind,
        purpose=item.purpose,
        want_copy=item.want_copy,
        state=item.state,
        required_authority=item.required_authority,
        recording_ids=sorted(str(r.pk) for r in item.recordings.all()),
        activity_id=item.activity_ref or None,
        created_at=item.created_at,
        decided_by_id=item.decided_by_id,
        decided_at=item.decided_at,
        grant_id=str(grant.pk) if grant else None,
    )


def _grant_out(grant: AccessGrant) -> GrantOut:
    return GrantOut(
        id=str(grant.pk),
        request_id=str(grant.request_id),
        holder_id=grant.holder_id,
        can_copy=grant.can_copy,
        expires_at=grant.expires_at,
        recording_ids=sorted(str(r.pk) for r in grant.recordings.all()),
        granted_by_id=grant.granted_by_id,
        granted_at=grant.granted_at,
        state="revoked" if grant.revoked_at else ("active" if grant.is_active() else "expired"),
        revoked_at=grant.revoked_at,
        revoked_by_id=grant.revoked_by_id,
        revoke_reason=grant.revoke_reason,
    )


@router.get("grants", response=list[GrantOut], operation_id="review_grants_list")
def list_grants(request: HttpRequest) -> list[GrantOut]:
    """Grants the caller holds, approved or revoked (newest first, at most 200)."""
    items = selectors.grants_visible_to(_user(request)).order_by("-granted_at")[:200]
    return [_grant_out(grant) for grant in items]


@router.post("grants/{grant_id}/revoke", response=GrantOut, operation_id="review_grants_revoke")
def revoke_grant(request: HttpRequest, grant_id: str, payload: RevokeIn) -> GrantOut:
    """Revoke a grant early with a reason: it stops working at once (playback, export and
    download answer 403 `grant_revoked`). Its approver, the bureau head over its recordings
    or a system administrator may revoke; the holder gets 403 `revoker_is_holder`; grants
    the caller may not see are 404. 409 `grant_already_revoked` / `grant_expired`."""
    user = _user(request)
    grant = selectors.grant_for_revoker(user=user, grant_id=grant_id)
    return _grant_out(
        services.access_grant_revoke(grant_id=grant.pk, user=user, reason=payload.reason)
    )


@router.get("access-requests", response=list[AccessRequestOut], operation_id="review_requests_list")
def list_requests(request: HttpRequest) -> list[AccessRequestOut]:
    """The caller's own requests and those they may decide (newest first, at most 200)."""
    items = selectors.access_requests_visible_to(_user(request)).order_by("-created_at")[:200]
    return [_request_out(item) for item in items]


@router.post(
    "access-requests", response={201: AccessRequestOut}, operation_id="review_requests_create"
)
def create_request(request: HttpRequest, payload: AccessRequestIn) -> Status:
    """File an access request (调阅申请) naming its purpose and the recordings, an activity
    (all its linked recordings), or both."""
    created = services.access_request_create(requester=_user(request), **payload.dict())
    return Status(201, _request_out(created))


@router.post(
    "access-requests/{request_id}/approve",
    response=GrantOut,
    operation_id="review_requests_approve",
)
def approve(request: HttpRequest, request_id: str, payload: DecisionIn) -> GrantOut:
    """Approve a pending request (never one's own): returns the grant. `recording_ids`
    narrows the grant to some of the requested recordings; `view_only` withholds copying."""
    user = _user(request)
    item = selectors.access_request_get(user=user, request_id=request_id)
    grant = services.access_request_approve(
        request_id=item.pk,
        approver=user,
        valid_days=payload.valid_days,
        note=payload.note,
        view_only=payload.view_only,
        recording_ids=payload.recording_ids,
    )
    return _grant_out(grant)


@router.post(
    "access-requests/{request_id}/reject",
    response=AccessRequestOut,
    operation_id="review_requests_reject",
)
def reject(request: HttpRequest, request_id: str, payload: DecisionIn) -> AccessRequestOut:
    """Reject a pending request (never one's own)."""
    user = _user(request)
    item = selectors.access_request_get(user=user, request_id=request_id)
    return _request_out(
        services.access_request_reject(request_id=item.pk, approver=user, note=payload.note)
    )


@router.get("register", response=list[RegisterEntryOut], operation_id="review_register")
def register(
    request: HttpRequest, q: str = "", action: str = "", limit: int = Query(100, ge=1, le=1000)
) -> list[RegisterEntryOut]:
    """Search the access register (查阅登记簿) within the caller's scope."""
    selectors.require_role(_user(request), selectors.REGISTER_PAGE_ROLES)
    entries = selectors.register_search(_user(request), text=q, action=action)[:limit]
    return [
        RegisterEntryOut(
            id=e.pk,
            occurred_at=e.occurred_at,
            user_id=e.user_id,
            user_display=e.user_display,
            action=e.action,
            basis=e.basis,
            purpose=e.purpose,
            recording_id=str(e.recording_id) if e.recording_id else None,
            grant_id=str(e.grant_id) if e.grant_id else None,
            export_id=str(e.export_id) if e.export_id else None,
        )
        for e in entries
    ]


@router.get(
    "recordings/{recording_id}/playback", response=PlaybackOut, operation_id="review_playback"
)
def playback(request: HttpRequest, recording_id: str, grant: str = "") -> PlaybackOut:
    """Short-lived presigned URLs for playing a recording; the view is registered. 404 for
    recordings outside scope and grants; 403 `grant_expired` / `grant_does_not_cover`;
    410 `recording_destroyed` for a recording destroyed after its retention ran out."""
    user = _user(request)
    access = selectors.recording_access_for(
        user=user, recording_id=recording_id, grant_id=grant or None
    )
    selectors.recordings_require_not_destroyed([access.recording])
    entry = services.register_write(
        user=user,
        action=RegisterAction.VIEW,
        basis=access.basis,
        purpose=access.purpose,  # the grant's, never the caller's (a link could forge it)
        recording=access.recording,
        grant=access.grant,
        ip_address=client_ip(request),
    )
    urls = recording_media_urls(access.recording)
    return PlaybackOut(
        recording_id=str(access.recording.pk),
        source=urls.source,
        media_url=urls.media,
        media_type=urls.media_type,
        poster_url=urls.poster,
        thumbnails_url=urls.thumbnails,
        expires_seconds=urls.expires_seconds,
        register_entry_id=entry.pk,
    )


@router.post(
    "grants/{grant_id}/exports", response={201: ExportOut}, operation_id="review_exports_create"
)
def create_export(request: HttpRequest, grant_id: str, payload: ExportIn) -> Status:
    """Make an export under a copy grant; download the ZIP from `download_url`. For outside
    bodies and parties the watermarked viewing copies are made first by a background job:
    until `proxies_state` is `ready` the download answers 409 `export_not_ready`. 410
    `recording_destroyed` when the grant names a recording destroyed after its retention."""
    user = _user(request)
    grant = selectors.grant_for_holder(user=user, grant_id=grant_id)
    export = services.export_create(
        grant=grant, user=user, purpose=payload.purpose, ip_address=client_ip(request)
    )
    return Status(
        201,
        ExportOut(
            id=str(export.pk),
            grant_id=str(grant.pk),
            download_url=reverse("review:export_download", args=[export.pk]),
            with_proxies=export.with_proxies,
            proxies_state=export.proxies_state,
            file_count=len(export.manifest.get("recordings", [])),
        ),
    )
