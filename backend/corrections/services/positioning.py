"""Positions from subjects' phones and wristbands (device kind `positioning`), the allowed
area, and the alerts they raise.

A batch is stored exactly once per position: each carries the device's own id
(`client_id`) and `INSERT … ON CONFLICT DO NOTHING` keeps the first copy, so batches sent
again, late or out of order change nothing. Alerts are idempotent too: one open alert per
subject and kind, whose time span the positions only widen.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.audit.services import Actor, audit_record
from backend.config.errors import InvalidInput, PermissionDenied
from backend.corrections.events import correction_groups
from backend.corrections.models import (
    PermissionKind,
    PermissionRequest,
    PermissionStatus,
    Position,
    PositionAlert,
    PositionAlertKind,
    PositionEvent,
    PositioningBinding,
    Subject,
    SupervisionArea,
)
from backend.devices.models import Device, DeviceKind
from sync.events import publish

MAX_BATCH = 500
_INSERT = (
    "INSERT INTO %(table)s (device_id, client_id, subject_id, recorded_at, device_recorded_at, "
    "received_at, latitude, longitude, accuracy_m, source, battery, event, outside_area) "
    "VALUES %(rows)s ON CONFLICT (device_id, client_id) DO NOTHING"
)
_INSERT_UNNEST = (
    "INSERT INTO %(table)s (device_id, client_id, subject_id, recorded_at, device_recorded_at, "
    "received_at, latitude, longitude, accuracy_m, source, battery, event, outside_area) "
    "SELECT * FROM unnest(%%s::uuid[], %%s::uuid[], %%s::uuid[], %%s::timestamptz[], "
    "%%s::timestamptz[], %%s::timestamptz[], %%s::float8[], %%s::float8[], %%s::float8[], "
    "%%s::text[], %%s::int[], %%s::text[], %%s::bool[]) "
    "ON CONFLICT (device_id, client_id) DO NOTHING"
)


# --- the allowed area (GeoJSON, [lon, lat]) -------------------------------------------------


class PreparedArea:
    """A GeoJSON Polygon or MultiPolygon prepared for many point tests: a bounding box and
    the edges of every ring bucketed into latitude bands, so that a point is tested against
    the few edges of its band (a county boundary has hundreds of vertices; a day of
    positions thousands of points). Even-odd rule per ring, holes excluded."""

    BANDS = 64

    def __init__(self, geometry: dict[str, Any]) -> None:
        kind = geometry.get("type")
        polygons = (
            [geometry["coordinates"]]
            if kind == "Polygon"
            else list(geometry.get("coordinates", []))
        )
        self.polygons: list[list[tuple[float, float, list[list[tuple[float, ...]]]]]] = []
        lats = [float(p[1]) for rings in polygons for ring in rings for p in ring]
        lons = [float(p[0]) for rings in polygons for ring in rings for p in ring]
        if not lats:
            self.south = self.north = self.west = self.east = 0.0
            self.empty = True
            return
        self.empty = False
        self.south, self.north = min(lats), max(lats)
        self.west, self.east = min(lons), max(lons)
        self.height = (self.north - self.south) or 1e-12
        self.prepared: list[list[list[list[tuple[float, float, float, float]]]]] = []
        for rings in polygons:
            prepared_rings = []
            for ring in rings:
                bands: list[list[tuple[float, float, float, float]]] = [
                    [] for _ in range(self.BANDS)
                ]
                n = len(ring)
                for i in range(n):
                    xi, yi = float(ring[i][0]), float(ring[i][1])
                    xj, yj = float(ring[i - 1][0]), float(ring[i - 1][1])
                    if yi == yj:
                        continue  # a horizontal edge never changes the parity
                    lo, hi = self._band(min(yi, yj)), self._band(max(yi, yj))
                    for b in range(lo, hi + 1):
                        bands[b].append((xi, yi, xj, yj))
                prepared_rings.append(bands)
            self.prepared.append(prepared_rings)

    def _band(self, lat: float) -> int:
        b = int((lat - self.south) / self.height * self.BANDS)
        return min(max(b, 0), self.BANDS - 1)

    def contains(self, lon: float, lat: float) -> bool:
        if self.empty or not (self.south <= lat <= self.north and self.west <= lon <= self.east):
            return False
        b = self._band(lat)
        for rings in self.prepared:
            if (
                rings
                and _in_edges(lon, lat, rings[0][b])
                and not any(_in_edges(lon, lat, hole[b]) for hole in rings[1:])
            ):
                return True
        return False


def _in_edges(lon: float, lat: float, edges: list[tuple[float, float, float, float]]) -> bool:
    inside = False
    for xi, yi, xj, yj in edges:
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


def point_in_geometry(lon: float, lat: float, geometry: dict[str, Any]) -> bool:
    """Whether the point lies in a GeoJSON Polygon or MultiPolygon (holes excluded)."""
    return PreparedArea(geometry).contains(lon, lat)


def check_geometry(geometry: Any) -> dict[str, Any]:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(_("活动区域须为 GeoJSON 多边形"), code="invalid_area")
    coordinates: Any = geometry.get("coordinates") or []
    polygons: list[Any] = [coordinates] if geometry["type"] == "Polygon" else list(coordinates)
    try:
        for rings in polygons:
            for ring in rings:
                if len(ring) < 4 or any(len(p) < 2 for p in ring):
                    raise ValueError
                for lon, lat, *_rest in ring:
                    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                        raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(_("活动区域须为 GeoJSON 多边形"), code="invalid_area") from None
    if not polygons:
        raise InvalidInput(_("活动区域须为 GeoJSON 多边形"), code="invalid_area")
    return geometry


def area_set(*, subject: Subject, name: str, geometry: Any, actor: User) -> SupervisionArea:
    geometry = check_geometry(geometry)
    with transaction.atomic():
        area, _created = SupervisionArea.objects.update_or_create(
            subject=subject, defaults={"name": name[:200], "geometry": geometry}
        )
        audit_record(
            actor=Actor.user(actor),
            action="correction_area.set",
            object_type="correction_subject",
            object_id=subject.pk,
            data={"name": area.name},
        )
    return area


# --- binding a device to a subject -----------------------------------------------------------


def positioning_bind(
    *, device: Device, subject: Subject, starts_at: datetime.datetime, actor: User
) -> PositioningBinding:
    """Bind a positioning device to a subject from `starts_at`, ending its previous binding."""
    if device.kind != DeviceKind.POSITIONING:
        raise InvalidInput(_("只有定位终端可以绑定矫正对象"), code="not_a_positioning_device")
    with transaction.atomic():
        Device.objects.select_for_update().get(pk=device.pk)
        current = PositioningBinding.objects.filter(device=device, ends_at__isnull=True).first()
        if current is not None:
            if current.starts_at >= starts_at:
                raise InvalidInput(_("绑定时间须晚于上一次绑定"), code="binding_order")
            current.ends_at = starts_at
            current.save(update_fields=["ends_at"])
        binding = PositioningBinding.objects.create(
            device=device, subject=subject, starts_at=starts_at, bound_by=actor
        )
        audit_record(
            actor=Actor.user(actor),
            action="correction_positioning.bound",
            object_type="correction_subject",
            object_id=subject.pk,
            data={"device_id": str(device.pk), "starts_at": starts_at.isoformat()},
        )
    return binding


# --- ingest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionIn:
    client_id: uuid.UUID
    recorded_at: datetime.datetime  # device clock
    latitude: float
    longitude: float
    accuracy_m: float | None
    source: str
    battery: int | None
    event: str


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    unbound: list[uuid.UUID]
    alerts: list[PositionAlert]


@dataclass(frozen=True)
class _Binding:
    starts_at: datetime.datetime
    ends_at: datetime.datetime | None
    subject_id: uuid.UUID
    area: dict[str, Any] | None  # the subject's allowed area (GeoJSON), if set


def _bindings(device: Device) -> list[_Binding]:
    """The device's bindings with each subject's area, in one query."""
    return [
        _Binding(*row)
        for row in PositioningBinding.objects.filter(device=device)
        .order_by("starts_at")
        .values_list("starts_at", "ends_at", "subject_id", "subject__area__geometry")
    ]


def _subject_at(bindings: list[_Binding], when: datetime.datetime) -> uuid.UUID | None:
    for b in bindings:
        if b.starts_at <= when and (b.ends_at is None or when < b.ends_at):
            return b.subject_id
    return None


def _approved_outings(subject_ids: set[Any], lo: datetime.datetime, hi: datetime.datetime) -> dict:
    trips: dict[Any, list[tuple[datetime.datetime, datetime.datetime]]] = {}
    for subject_id, starts, ends in PermissionRequest.objects.filter(
        subject_id__in=subject_ids,
        kind=PermissionKind.OUTING,
        status=PermissionStatus.APPROVED,
        starts_at__lte=hi,
        ends_at__gte=lo,
    ).values_list("subject_id", "starts_at", "ends_at"):
        trips.setdefault(subject_id, []).append((starts, ends))
    return trips


def positions_ingest(
    *, device: Device, device_time: datetime.datetime, positions: list[PositionIn]
) -> IngestResult:
    """Store a batch; raise alerts for positions outside the allowed area (unless an approved
    外出 covers their time) and for strap-off / tamper events."""
    if device.kind != DeviceKind.POSITIONING:
        raise PermissionDenied(_("只有定位终端可以上传定位"), code="not_a_positioning_device")
    if len(positions) > MAX_BATCH:
        raise InvalidInput(_("一批最多 500 个定位"), code="batch_too_large")
    now = timezone.now()
    offset = now - device_time
    bindings = _bindings(device)
    rows: list[tuple[Any, ...]] = []
    unbound: list[uuid.UUID] = []
    seen: set[uuid.UUID] = set()
    for p in positions:
        if p.client_id in seen:
            continue
        seen.add(p.client_id)
        recorded = p.recorded_at + offset
        if recorded > now + datetime.timedelta(minutes=5):
            raise InvalidInput(
                _("定位时间不能晚于现在"),
                code="recorded_in_future",
                details={"id": str(p.client_id)},
            )
        subject_id = _subject_at(bindings, recorded)
        if subject_id is None:
            unbound.append(p.client_id)
            continue
        rows.append((p, recorded, subject_id))
    prepared = {b.subject_id: PreparedArea(b.area) for b in bindings if b.area is not None}
    outside_of = [
        subject_id in prepared and not prepared[subject_id].contains(p.longitude, p.latitude)
        for p, _recorded, subject_id in rows
    ]
    # Approved 外出 are looked up only when a position lies outside (one query).
    away = [r for r, out in zip(rows, outside_of, strict=True) if out]
    trips = (
        _approved_outings({r[2] for r in away}, min(r[1] for r in away), max(r[1] for r in away))
        if away
        else {}
    )
    values: list[Any] = []
    leaving: list[tuple[Any, str, datetime.datetime, float, float]] = []
    for (p, recorded, subject_id), outside in zip(rows, outside_of, strict=True):
        covered = outside and any(s <= recorded <= e for s, e in trips.get(subject_id, []))
        if outside and not covered:
            leaving.append(
                (subject_id, PositionAlertKind.LEFT_AREA, recorded, p.latitude, p.longitude)
            )
        if p.event in (PositionEvent.STRAP_OFF, PositionEvent.TAMPER):
            leaving.append((subject_id, p.event, recorded, p.latitude, p.longitude))
        values.extend(
            [
                device.pk,
                p.client_id,
                subject_id,
                recorded,
                p.recorded_at,
                now,
                p.latitude,
                p.longitude,
                p.accuracy_m,
                p.source,
                p.battery,
                p.event,
                outside and not covered,
            ]
        )
    with transaction.atomic():
        stored = 0
        if rows:
            stored = _insert(values, len(rows))
        alerts = _raise_alerts(leaving)
    return IngestResult(
        stored=stored, duplicates=len(rows) - stored, unbound=unbound, alerts=alerts
    )


def _insert(values: list[Any], count: int) -> int:
    """Insert the rows, skipping those already stored; the number inserted. On PostgreSQL
    one statement of 13 array parameters (its text the same for every batch, so parsed
    once), elsewhere a multi-row VALUES."""
    table = Position._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [values[i::13] for i in range(13)]
            # Only fixed text is formatted in: the values are all parameters.
            cursor.execute(_INSERT_UNNEST % {"table": table}, columns)
        else:
            placeholders = ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * count)
            cursor.execute(_INSERT % {"table": table, "rows": placeholders}, values)
        return int(cursor.rowcount)


def _raise_alerts(
    found: list[tuple[Any, str, datetime.datetime, float, float]],
) -> list[PositionAlert]:
    """One open alert per subject and kind; a position seen again only widens its span."""
    if not found:
        return []
    by_key: dict[tuple[Any, str], list[tuple[datetime.datetime, float, float]]] = {}
    for subject_id, kind, when, lat, lon in found:
        by_key.setdefault((subject_id, kind), []).append((when, lat, lon))
    offices = {
        pk: (office_id, path)
        for pk, office_id, path in Subject.objects.filter(
            pk__in={k[0] for k in by_key}
        ).values_list("pk", "office_id", "office__path")
    }
    raised: list[PositionAlert] = []
    for (subject_id, kind), points in by_key.items():
        first = min(points)
        last = max(points)
        alert = (
            PositionAlert.objects.select_for_update()
            .filter(subject_id=subject_id, kind=kind, closed_at__isnull=True)
            .first()
        )
        if alert is None:
            # A closed alert already covering these positions (a replayed batch) stays closed.
            if PositionAlert.objects.filter(
                subject_id=subject_id, kind=kind, first_at__lte=first[0], last_at__gte=last[0]
            ).exists():
                continue
            alert = PositionAlert.objects.create(
                subject_id=subject_id,
                office_id=offices[subject_id][0],
                kind=kind,
                first_at=first[0],
                last_at=last[0],
                latitude=first[1],
                longitude=first[2],
            )
            raised.append(alert)
            continue
        changed = []
        if first[0] < alert.first_at:
            alert.first_at, alert.latitude, alert.longitude = first
            changed += ["first_at", "latitude", "longitude"]
        if last[0] > alert.last_at:
            alert.last_at = last[0]
            changed.append("last_at")
        if changed:
            alert.save(update_fields=changed)
    if raised:
        events = [_alert_event(a, offices[a.subject_id][1]) for a in raised]
        transaction.on_commit(lambda: _publish(events))
    return raised


def _alert_event(alert: PositionAlert, path: str) -> tuple[str, dict[str, Any]]:
    return path, {
        "type": "correction.position_alert",
        "alert_id": alert.pk,
        "subject_id": str(alert.subject_id),
        "kind": alert.kind,
        "first_at": alert.first_at.isoformat(),
    }


def _publish(events: list[tuple[str, dict[str, Any]]]) -> None:
    for path, event in events:
        publish(correction_groups(path), event)


def position_alert_close(
    *, alert: PositionAlert, actor: User, handling: str, note: str
) -> PositionAlert:
    if actor.role not in (Role.CORRECTION_OFFICER, Role.SUPERVISOR):
        raise PermissionDenied(_("只有矫正工作人员可以处置提醒"), code="forbidden")
    if handling not in _handlings():
        raise InvalidInput(_("请选择处置方式"), code="invalid_handling")
    if not note.strip():
        raise InvalidInput(_("请填写处置情况"), code="note_required")
    with transaction.atomic():
        locked = PositionAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.closed_at is not None:
            raise InvalidInput(_("该提醒已处置"), code="alert_closed")
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.handling = handling
        locked.note = note.strip()[:5000]
        locked.save(update_fields=["closed_at", "closed_by", "handling", "note"])
        audit_record(
            actor=Actor.user(actor),
            action="correction_position_alert.closed",
            object_type="correction_subject",
            object_id=locked.subject_id,
            data={"alert_id": locked.pk, "kind": locked.kind, "handling": handling},
        )
    return locked


def _handlings() -> list[str]:
    from backend.corrections.models import AlertHandling

    return list(AlertHandling.values)
