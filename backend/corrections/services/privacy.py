"""Positions are personal data of the most sensitive kind (行踪轨迹): a subject's track is
shown only to correction officers and supervisors of the subject's office and the units
above it (never to the system administrator, never published), each view is entered in
the track-view register (定位轨迹查阅登记) and the audit chain before it is shown, and
positions older than the configured period (`FV_POSITION_RETENTION_DAYS`) are purged, the
purge audited with what it removed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, PermissionDenied
from backend.corrections.models import Position, Subject, TrackView

TRACK_ROLES = (Role.CORRECTION_OFFICER, Role.SUPERVISOR)
TRACK_MAX_POSITIONS = 2000
PURGE_CHUNK = 20_000


def may_view_tracks(user: User) -> bool:
    """Correction officers and supervisors only (scoped to units by the caller's query)."""
    return bool(
        user.is_authenticated and user.is_active and user.role in TRACK_ROLES and user.unit_id
    )


def track_in_scope(user: User, subject: Subject) -> bool:
    """The subject's current office is the user's unit or below it."""
    if not may_view_tracks(user) or user.unit is None:
        return False
    return bool(subject.office.path.startswith(user.unit.path))


@dataclass(frozen=True)
class Track:
    entry: TrackView
    positions: list[Position]
    truncated: bool


def track_view(
    *,
    user: User,
    subject: Subject,
    day: datetime.date,
    purpose: str,
    ip_address: str | None = None,
) -> Track:
    """A subject's positions of one local day, entered in the register first (same
    transaction: no track is shown without its entry)."""
    if not track_in_scope(user, subject):
        raise PermissionDenied(
            _("只有矫正对象所在司法所及其上级的矫正工作人员、监督人员可以查看定位轨迹"),
            code="track_forbidden",
        )
    purpose = purpose.strip()[:300]
    if not purpose:
        raise InvalidInput(_("请填写查看轨迹的事由"), code="purpose_required")
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    end = start + datetime.timedelta(days=1)
    with transaction.atomic():
        positions = list(
            Position.objects.filter(subject=subject, recorded_at__gte=start, recorded_at__lt=end)
            .order_by("recorded_at", "id")
            .only(
                "recorded_at",
                "latitude",
                "longitude",
                "accuracy_m",
                "source",
                "battery",
                "event",
                "outside_area",
            )[: TRACK_MAX_POSITIONS + 1]
        )
        truncated = len(positions) > TRACK_MAX_POSITIONS
        positions = positions[:TRACK_MAX_POSITIONS]
        assert user.unit is not None
        entry = TrackView.objects.create(
            user=user,
            user_display=(user.get_full_name() or user.get_username())[:200],
            user_role=user.role,
            user_unit=user.unit.name[:200],
            subject=subject,
            office_path=subject.office.path,
            day=day,
            purpose=purpose,
            positions=len(positions),
            ip_address=ip_address,
        )
        audit_record(
            actor=Actor.user(user),
            action="correction_track.viewed",
            object_type="correction_subject",
            object_id=subject.pk,
            data={
                "register_entry": entry.pk,
                "day": day.isoformat(),
                "purpose": purpose,
                "positions": len(positions),
            },
        )
    return Track(entry=entry, positions=positions, truncated=truncated)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime.datetime
    purged: int


def positions_purge(
    *, now: datetime.datetime | None = None, retention_days: int | None = None
) -> PurgeResult:
    """Delete positions recorded before now − the retention period, in chunks; one audit
    event names the cutoff and how many were removed (none when nothing was: the periodic
    pass runs it every 15 minutes)."""
    days = settings.FV_POSITION_RETENTION_DAYS if retention_days is None else retention_days
    if days < 1:
        raise InvalidInput(_("定位保存期限至少 1 天"), code="invalid_retention")
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(
                Position.objects.filter(recorded_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:PURGE_CHUNK]
            )
            if not ids:
                break
            deleted, _by_model = Position.objects.filter(id__in=ids).delete()
            purged += deleted
    if not purged:
        return PurgeResult(cutoff=cutoff, purged=0)
    audit_record(
        actor=Actor.system(),
        action="correction_positions.purged",
        object_type="correction_positions",
        object_id=cutoff.date().isoformat(),
        data={"cutoff": cutoff.isoformat(), "retention_days": days, "purged": purged},
    )
    return PurgeResult(cutoff=cutoff, purged=purged)
