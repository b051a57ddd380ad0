"""Who may see what, for the pages and the API alike.

Direct scope (no request needed) follows issue 6 and the seed's 第四条: field officers see
their own recordings, supervisors and the unit's legal officers their unit and sub-units
(backend.footage.selectors.recordings_visible_to). Anything else needs a grant. The
storage administrator sees storage facts, never content; the auditor the audit log and
the register.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, Unit, User
from backend.audit.models import ActorKind, AuditEvent
from backend.config.errors import Gone, NotFound, PermissionDenied
from backend.footage.models import Recording, RecordingState
from backend.footage.selectors import recordings_scope_q, recordings_visible_to
from backend.retention import services as retention_services
from backend.retention.facts import categories_from_key, recordings_for_reference
from backend.retention.models import FixityCheck, HoldTarget, LegalHold, RecordingRetention
from backend.review.models import (
    AccessBasis,
    AccessGrant,
    AccessRegisterEntry,
    AccessRequest,
    AccessRequestState,
    ApprovalAuthority,
    Approver,
    ExportPackage,
    RegisterAction,
)

CONTENT_ROLES = {
    Role.FIELD_OFFICER,
    Role.CORRECTION_OFFICER,
    Role.SUPERVISOR,
    Role.LEGAL_OFFICER,
    Role.SYSTEM_ADMIN,
}
REGISTER_ROLES = {Role.AUDITOR, Role.SYSTEM_ADMIN, Role.SUPERVISOR, Role.LEGAL_OFFICER}
# Everyone but the storage administrator opens the register (their own entries at least).
REGISTER_PAGE_ROLES = REGISTER_ROLES | {Role.FIELD_OFFICER, Role.CORRECTION_OFFICER}
AUDIT_LOG_ROLES = {Role.AUDITOR, Role.SYSTEM_ADMIN}
STORAGE_ROLES = {Role.STORAGE_ADMIN, Role.SYSTEM_ADMIN}
DASHBOARD_LIVE_ROLES = {Role.SUPERVISOR, Role.SYSTEM_ADMIN, Role.STORAGE_ADMIN, Role.LEGAL_OFFICER}


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def user_may(user: User, roles: Collection[str]) -> bool:
    return _active(user) and user.role in roles


def require_role(user: User, roles: Collection[str]) -> None:
    if not user_may(user, roles):
        raise PermissionDenied("your role may not open this page", code="role_not_allowed")


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# -- recordings --------------------------------------------------------------------------


def recordings_in_scope(user: User) -> QuerySet[Recording]:
    """Recordings the user sees by their post, without any request."""
    return recordings_visible_to(user)


def grants_active_for(user: User, *, at: datetime.datetime | None = None) -> QuerySet[AccessGrant]:
    if not _active(user):
        return AccessGrant.objects.none()
    return AccessGrant.objects.filter(
        holder=user, expires_at__gt=at or timezone.now(), revoked_at__isnull=True
    )


def grant_require_usable(grant: AccessGrant, *, at: datetime.datetime | None = None) -> None:
    """403 `grant_revoked` for a grant revoked early, 403 `grant_expired` for one past its
    expiry; nothing for a grant that works now."""
    if grant.revoked_at is not None:
        raise PermissionDenied(
            "this grant was revoked",
            code="grant_revoked",
            details={"revoked_at": grant.revoked_at.isoformat()},
        )
    if not grant.is_active(at):
        raise PermissionDenied(
            "this grant has expired",
            code="grant_expired",
            details={"expired_at": grant.expires_at.isoformat()},
        )


def recordings_require_not_destroyed(recordings: Iterable[Recording]) -> None:
    """410 `recording_destroyed` when any of these recordings was destroyed after its
    retention ran out: its original and derivatives are gone, so there is nothing to play,
    download or export (its facts and custody history stay readable)."""
    destroyed = sorted(str(r.pk) for r in recordings if r.state == RecordingState.DESTROYED)
    if destroyed:
        raise Gone(
            _("该记录已按保存期限销毁，原始文件及其副本均已删除，不能播放、下载或导出"),
            code="recording_destroyed",
            details={"recordings": destroyed},
        )


def recordings_readable_by(user: User) -> QuerySet[Recording]:
    """Scope plus every recording named in an unexpired grant the user holds. Storage
    administrators see storage facts only (storage_facts_visible_to), never content.

    Both halves are conditions on the recording row (an ``EXISTS`` semi-join for the
    grants), so the query never needs ``DISTINCT`` and can walk an index in list order."""
    if not _active(user) or user.role == Role.STORAGE_ADMIN:
        return Recording.objects.none()
    base = Recording.objects.select_related("device", "officer", "officer__unit")
    scope = recordings_scope_q(user)
    if scope is not None and not scope:  # Q(): everything (the system administrator)
        return base
    # Without an active grant the OR would only stop the planner from using the scope's
    # own index: a field officer's dozen recordings were found by walking the whole list
    # index (232 ms at 120,000 recordings, growing with the table). One cheap probe first.
    if not grants_active_for(user).exists():
        return base.filter(scope) if scope is not None else base.none()
    through = AccessGrant.recordings.through
    granted = Q(
        Exists(
            through.objects.filter(
                recording_id=OuterRef("pk"),
                accessgrant__in=grants_active_for(user).values("pk"),
            )
        )
    )
    return base.filter(granted if scope is None else scope | granted)


@dataclass(frozen=True)
class RecordingAccess:
    recording: Recording
    basis: str  # AccessBasis
    grant: AccessGrant | None
    purpose: str


def recording_access_for(
    *, user: User, recording_id: str, grant_id: str | None = None
) -> RecordingAccess:
    """Decide whether `user` may view a recording now, and on what basis.

    Unknown ids and recordings outside scope and grants answer 404 (ids cannot be probed
    across units). A named grant that is not the user's answers 404 too; one that has
    expired 403 `grant_expired`; one that does not name the recording 403
    `grant_does_not_cover`."""
    key = parse_uuid(recording_id)
    if key is None or not _active(user) or user.role == Role.STORAGE_ADMIN:
        raise NotFound("no such recording", code="recording_not_found")
    if grant_id:
        grant = _grant_of(user=user, grant_id=grant_id)
        grant_require_usable(grant)
        recording = (
            grant.recordings.select_related("device", "officer", "officer__unit")
            .filter(pk=key)
            .first()
        )
        if recording is None:
            raise PermissionDenied(
                "this grant does not cover that recording", code="grant_does_not_cover"
            )
        return RecordingAccess(recording, AccessBasis.GRANT, grant, grant.request.purpose)
    recording = recordings_in_scope(user).filter(pk=key).first()
    if recording is not None:
        return RecordingAccess(recording, AccessBasis.SCOPE, None, "")
    held = (
        grants_active_for(user)
        .filter(recordings__pk=key)
        .select_related("request")
        .order_by("-expires_at")
        .first()
    )
    if held is not None:
        recording = held.recordings.select_related("device", "officer", "officer__unit").get(pk=key)
        return RecordingAccess(recording, AccessBasis.GRANT, held, held.request.purpose)
    raise NotFound("no such recording", code="recording_not_found")


def _grant_of(*, user: User, grant_id: str) -> AccessGrant:
    key = parse_uuid(grant_id)
    grant = (
        AccessGrant.objects.select_related("request", "holder", "granted_by")
        .filter(pk=key, holder=user)
        .first()
        if key
        else None
    )
    if grant is None:
        raise NotFound("no such grant", code="grant_not_found")
    return grant


def grant_for_holder(*, user: User, grant_id: str) -> AccessGrant:
    return _grant_of(user=user, grant_id=grant_id)


def grants_visible_to(user: User) -> QuerySet[AccessGrant]:
    """Grants the user holds, approved or revoked (the list of `GET /api/review/grants`)."""
    base = AccessGrant.objects.select_related(
        "request", "holder", "granted_by", "revoked_by"
    ).prefetch_related("recordings")
    if not _active(user):
        return base.none()
    return base.filter(Q(holder=user) | Q(granted_by=user) | Q(revoked_by=user))


def grant_for_revoker(*, user: User, grant_id: str) -> AccessGrant:
    """A grant the user may see for revoking: one they hold (the service then refuses 403),
    approved, or whose recordings all lie under a unit where they hold the bureau head's
    office; every grant for a system administrator. Anything else is 404, so grant ids of
    other units cannot be probed."""
    key = parse_uuid(grant_id)
    grant = (
        AccessGrant.objects.select_related("request", "holder", "granted_by", "revoked_by")
        .filter(pk=key)
        .first()
        if key and _active(user)
        else None
    )
    if grant is None or not (
        grant.holder_id == user.pk
        or grant.granted_by_id == user.pk
        or user.role == Role.SYSTEM_ADMIN
        or user_is_bureau_head_for(user=user, grant=grant)
    ):
        raise NotFound("no such grant", code="grant_not_found")
    return grant


def user_is_bureau_head_for(*, user: User, grant: AccessGrant) -> bool:
    """The user holds the bureau head's office for the unit of every recording granted."""
    paths = [
        office.unit.path
        for office in approver_offices(user)
        if office.authority == ApprovalAuthority.BUREAU_HEAD
    ]
    if not paths:
        return False
    units = [
        recording_unit(r) for r in grant.recordings.select_related("officer__unit", "device__unit")
    ]
    return bool(units) and all(
        unit is not None and any(unit.path.startswith(p) for p in paths) for unit in units
    )


def user_may_revoke(*, user: User, grant: AccessGrant) -> bool:
    """Who may revoke a grant early: its approver, the bureau head over its recordings, or a
    system administrator, never its holder."""
    if not _active(user) or user.pk == grant.holder_id:
        return False
    return (
        grant.granted_by_id == user.pk
        or user.role == Role.SYSTEM_ADMIN
        or user_is_bureau_head_for(user=user, grant=grant)
    )


def recording_unit(recording: Recording) -> Unit | None:
    if recording.officer_id is not None and recording.officer is not None:
        return recording.officer.unit
    return recording.device.unit


def recording_custody_events(recording: Recording) -> QuerySet[AuditEvent]:
    """Chain of custody: every audit event about this recording, oldest first.

    Besides the events filed under the recording itself, other apps name it in their
    event data: uploads and activity links (`recording_id`), legal holds and access
    requests (`recordings`), and Object Lock changes of its stored object (`key`).
    On PostgreSQL containment (`@>`) is used so that the GIN index on the data serves it;
    SQLite (the embedded default) has no JSON containment, so there the keys are compared
    directly and the `recordings` list is searched as text (ids are UUIDs: no false hits)."""
    key = str(recording.pk)
    about = Q(object_type="recording", object_id=key)
    if connection.vendor == "postgresql":
        about |= Q(data__contains={"recording_id": key}) | Q(data__contains={"recordings": [key]})
        if recording.storage_key:
            about |= Q(object_type="object", data__contains={"key": recording.storage_key})
    else:
        about |= Q(data__recording_id=key) | Q(data__recordings__icontains=key)
        if recording.storage_key:
            about |= Q(object_type="object", data__key=recording.storage_key)
    return AuditEvent.objects.filter(about).order_by("sequence")


def recording_fixity_last(recording: Recording) -> FixityCheck | None:
    """The newest fixity re-check of the stored original (retention app), if any."""
    return FixityCheck.objects.filter(recording=recording).order_by("-checked_at").first()


@dataclass(frozen=True)
class RecordingRetentionView:
    """What the recording page shows of retention: the date and its reason as the retention
    app computed them (longest applicable policy wins, permanent beats every period; the date
    never goes below the object's lock), and whether a legal hold covers the recording now."""

    row: RecordingRetention | None
    categories: list[str]
    lock_later: bool  # the object lock already reaches past the policy's date
    held: bool
    holds: list[LegalHold]  # empty unless the user may see hold details


def recording_retention_view(recording: Recording, *, user: User) -> RecordingRetentionView:
    """Read only: no row is created here (retention creates it when the bytes are stored).

    Everyone who may see the recording learns whether it is held; which holds, with their
    reasons and who placed them, only those who may place and release holds (a hold may
    concern the very officer who made the recording)."""
    row = RecordingRetention.objects.filter(recording_id=recording.pk).first()
    # Asked live of the retention app rather than trusting row.held, so that a hold placed on
    # an activity shows as soon as the recording is linked to it.
    held = recording.pk in retention_services.recordings_held([recording.pk])
    holds: list[LegalHold] = []
    may_see_holds = _active(user) and (
        user.role in retention_services.HOLD_ROLES
        or retention_services.user_is_retention_approver(user)
    )
    if held and may_see_holds:
        for hold in (
            LegalHold.objects.filter(released_at__isnull=True)
            .select_related("placed_by")
            .order_by("placed_at")
        ):
            if hold.target_kind == HoldTarget.RECORDING:
                if hold.recording_id == recording.pk:
                    holds.append(hold)
            elif recording.pk in recordings_for_reference(hold.target_kind, hold.reference):
                holds.append(hold)
    return RecordingRetentionView(
        row=row,
        categories=categories_from_key(row.categories) if row else [],
        lock_later=bool(row and row.retention_until > row.policy_until),
        held=held,
        holds=holds,
    )


def storage_facts_visible_to(user: User) -> QuerySet[Recording]:
    """Storage facts (state, size, hash, key, attempts) for storage administrators: no
    officer, place or content."""
    require_role(user, STORAGE_ROLES)
    return Recording.objects.only(
        "id",
        "state",
        "size_bytes",
        "sha256",
        "storage_key",
        "stored_at",
        "storage_attempts",
        "storage_last_error",
        "created_at",
        "media_kind",
        "device_id",
    ).order_by("-created_at", "-pk")


def officer_backlog(user: User, *, now: datetime.datetime | None = None) -> list[dict[str, object]]:
    """Per officer: clips announced more than 24 h ago that are still not stored."""
    cutoff = (now or timezone.now()) - datetime.timedelta(hours=24)
    # The unfinished states named positively (not an exclude of the final ones): the
    # (state, started_at, id) index then reads only the backlog, not every recording.
    unfinished = [
        s
        for s in RecordingState.values
        if s not in (RecordingState.STORED, RecordingState.DESTROYED)
    ]
    rows = (
        recordings_in_scope(user)
        .filter(state__in=unfinished, created_at__lt=cutoff)
        .values("officer_id", "officer__name", "officer__unit__name")
        .annotate(clips=Count("pk"), oldest=Min("created_at"))
        .order_by("-clips", "officer__name")
    )
    return [dict(row) for row in rows]


LOOKING_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
DAMAGED_STATES = ("damaged", "failed")  # footage.ProcessingState finals needing a person


def damaged_awaiting_look(user: User) -> QuerySet[Recording]:
    """Recordings in scope whose processing found them damaged (or gave up), that no
    supervisor, legal officer or system administrator has opened since: opening the
    recording page is the look, and the register proves it."""
    looked = AccessRegisterEntry.objects.filter(
        recording=OuterRef("pk"),
        action=RegisterAction.VIEW,
        user_role__in=LOOKING_ROLES,
        occurred_at__gte=Coalesce(
            OuterRef("processing__finished_at"),
            Value(datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)),
        ),
    )
    return (
        recordings_in_scope(user)
        .filter(processing__state__in=DAMAGED_STATES)
        .exclude(state=RecordingState.DESTROYED)  # nothing left to look at
        .exclude(Exists(looked))
        .select_related("processing")
        .order_by("-started_at")
    )


# -- requests, grants, register -----------------------------------------------------------


def approver_offices(user: User) -> QuerySet[Approver]:
    return Approver.objects.filter(user=user).select_related("unit")


def user_may_approve(*, user: User, request: AccessRequest, units: list[Unit | None]) -> bool:
    """The approver holds the required office (or the bureau head's, which covers the
    office head's) for the unit of every recording named."""
    if not _active(user) or user.pk == request.requester_id:
        return False
    wanted = {request.required_authority, ApprovalAuthority.BUREAU_HEAD}
    paths = [office.unit.path for office in approver_offices(user) if office.authority in wanted]
    if not paths:
        return False
    return all(unit is not None and any(unit.path.startswith(p) for p in paths) for unit in units)


def access_requests_visible_to(user: User) -> QuerySet[AccessRequest]:
    """The user's own requests, the ones they may decide (by their approving offices), and
    every request for auditors and system administrators."""
    base = AccessRequest.objects.select_related("requester", "decided_by").prefetch_related(
        "recordings"
    )
    if not _active(user):
        return base.none()
    if user.role in AUDIT_LOG_ROLES:
        return base
    condition = Q(requester=user)
    for office in approver_offices(user):
        condition |= Q(recordings__officer__unit__path__startswith=office.unit.path) | Q(
            recordings__officer__isnull=True,
            recordings__device__unit__path__startswith=office.unit.path,
        )
    return base.filter(condition).distinct()


def access_request_get(*, user: User, request_id: str) -> AccessRequest:
    key = parse_uuid(request_id)
    found = access_requests_visible_to(user).filter(pk=key).first() if key else None
    if found is None:
        raise NotFound("no such access request", code="access_request_not_found")
    return found


def pending_requests_for_approver(user: User) -> QuerySet[AccessRequest]:
    return (
        access_requests_visible_to(user)
        .filter(state=AccessRequestState.PENDING)
        .exclude(requester=user)
    )


def register_entries_visible_to(user: User) -> QuerySet[AccessRegisterEntry]:
    """Auditors and system administrators read the whole register; supervisors and legal
    officers the entries about their units' recordings and their own; others their own."""
    base = AccessRegisterEntry.objects.select_related("recording", "grant", "export", "user")
    if not _active(user):
        return base.none()
    if user.role in AUDIT_LOG_ROLES:
        return base
    if user.role in {Role.SUPERVISOR, Role.LEGAL_OFFICER} and user.unit is not None:
        return base.filter(Q(recording_unit_path__startswith=user.unit.path) | Q(user=user))
    return base.filter(user=user)


def register_search(
    user: User,
    *,
    text: str = "",
    action: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AccessRegisterEntry]:
    entries = register_entries_visible_to(user)
    text = text.strip()
    if text:
        condition = (
            Q(user_display__icontains=text)
            | Q(purpose__icontains=text)
            | Q(recording__file_name__icontains=text)
            | Q(recording__sha256__startswith=text.lower())
            | Q(user_unit__icontains=text)
        )
        key = parse_uuid(text)
        if key is not None:  # a recording, grant or export number finds its entries
            condition |= Q(recording_id=key) | Q(grant_id=key) | Q(export_id=key)
        entries = entries.filter(condition)
    if action:
        entries = entries.filter(action=action)
    if date_from:
        entries = entries.filter(occurred_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(occurred_at__date__lte=date_to)
    return entries


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    require_role(user, AUDIT_LOG_ROLES)
    return AuditEvent.objects.order_by("-sequence")


def _local_day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of a local (Asia/Shanghai) day, aware: a range on it uses the index."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events_filtered(
    user: User,
    *,
    action: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    actor: str = "",
    object_id: str = "",
) -> QuerySet[AuditEvent]:
    """The audit log as its page filters it: an action prefix, local dates (Asia/Shanghai, both
    ends included), an actor named by user name or full name, an object by its id. Newest first;
    the page walks it by sequence (keyset), never counting the whole log."""
    events = audit_events_visible_to(user)
    if action:
        events = events.filter(action__startswith=action)
    if date_from:
        events = events.filter(occurred_at__gte=_local_day_start(date_from))
    if date_to:
        day_after = date_to + datetime.timedelta(days=1)
        events = events.filter(occurred_at__lt=_local_day_start(day_after))
    if actor:
        names = (
            Q(username__iexact=actor)
            | Q(first_name__icontains=actor)
            | Q(last_name__icontains=actor)
        )
        ids = [str(pk) for pk in User.objects.filter(names).values_list("pk", flat=True)[:50]]
        events = events.filter(actor_kind=ActorKind.USER, actor_id__in=ids)
    if object_id:
        events = events.filter(object_id=object_id)
    return events


def export_for_holder(*, user: User, export_id: str) -> ExportPackage:
    key = parse_uuid(export_id)
    export = (
        ExportPackage.objects.select_related("grant", "grant__request")
        .filter(pk=key, grant__holder=user)
        .first()
        if key
        else None
    )
    if export is None:
        raise NotFound("no such export", code="export_not_found")
    return export


def export_destroyed_recordings(export: ExportPackage) -> list[Recording]:
    """The recordings of an export that were destroyed since it was made: its package can
    no longer be put together (the originals are gone)."""
    ids = [item["id"] for item in export.manifest.get("recordings", [])]
    return list(
        Recording.objects.filter(pk__in=ids, state=RecordingState.DESTROYED).only("id", "state")
    )
