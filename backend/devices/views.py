"""The docks page (采集工作站): each workstation, its slots and the camera in each, what is
still pending; cameras a dock registered and no officer holds yet are assigned here."""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import Officer, Role
from backend.accounts.selectors import unit_scope_q, user_has_role
from backend.audit.services import Actor
from backend.config.errors import FieldVaultError
from backend.devices.models import Device, DeviceAssignment, DeviceKind, DockPresence, LedgerState
from backend.devices.services import device_ledger_set
from backend.importpages import forbidden, user_of
from sync.docks import dock_camera_assign

PAGE_SIZE = 20  # docks per page: a bureau has a handful of workstations
DOCK_ROLES = (Role.SYSTEM_ADMIN, Role.SUPERVISOR)


def _allowed(request: HttpRequest) -> bool:
    user = user_of(request)
    return user_has_role(user, *DOCK_ROLES) and (
        user.role == Role.SYSTEM_ADMIN or user.unit is not None
    )


@require_GET
@login_required
def docks(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return forbidden(request, _("只有监督人员和系统管理员可以查看采集工作站。"))
    user = user_of(request)
    scope = unit_scope_q(user, unit_field="unit")
    after = request.GET.get("after", "")[:100]
    chosen = Device.objects.filter(scope, kind=DeviceKind.DOCK).select_related("unit")
    if after:
        chosen = chosen.filter(serial__gt=after)
    page = list(chosen.order_by("serial")[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    presences = (
        DockPresence.objects.filter(dock__in=page)
        .select_related("camera")
        .order_by("dock_id", "slot", "camera__serial")
    )
    holders = dict(
        DeviceAssignment.objects.filter(
            device_id__in={p.camera_id for p in presences}, ends_at__isnull=True
        ).values_list("device_id", "officer__name")
    )
    by_dock: dict[object, list[dict[str, object]]] = {dock.pk: [] for dock in page}
    for presence in presences:
        by_dock[presence.dock_id].append(
            {"presence": presence, "holder": holders.get(presence.camera_id)}
        )
    open_assignment = DeviceAssignment.objects.filter(device=OuterRef("pk"), ends_at__isnull=True)
    unassigned = list(
        Device.objects.filter(scope, registered_by_dock__isnull=False)
        .filter(~Exists(open_assignment))
        .select_related("unit", "registered_by_dock")
        .order_by("enrolled_at", "pk")[:100]
    )
    officers: dict[int | None, list[Officer]] = {}
    for camera in unassigned:  # one query per unit (cameras of one unit share the list)
        if camera.unit_id not in officers:
            officers[camera.unit_id] = list(
                Officer.objects.filter(unit=camera.unit).order_by("name", "pk")[:500]
            )
    return render(
        request,
        "devices/docks.html",
        {
            "docks": [{"dock": dock, "slots": by_dock[dock.pk]} for dock in page],
            "next_after": page[-1].serial if more else "",
            "unassigned": [
                {"camera": camera, "officers": officers[camera.unit_id]} for camera in unassigned
            ],
            "default_start": (timezone.localtime() - datetime.timedelta(days=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
    )


@require_POST
@login_required
def camera_assign(request: HttpRequest, camera_id: str) -> HttpResponse:
    if not _allowed(request):
        return forbidden(request, _("只有监督人员和系统管理员可以分配设备。"))
    user = user_of(request)
    scope = unit_scope_q(user, unit_field="unit")
    try:
        key = uuid.UUID(camera_id)
    except ValueError:
        key = None
    camera = (
        Device.objects.filter(scope, pk=key, registered_by_dock__isnull=False).first()
        if key
        else None
    )
    if camera is None:
        return render(
            request,
            "review/error.html",
            {"code": "not_found", "message": _("没有该设备")},
            status=404,
        )
    chosen = request.POST.get("officer", "")
    officer = (
        Officer.objects.filter(unit=camera.unit, pk=int(chosen)).first()
        if chosen.isdigit()
        else None
    )
    starts_at = parse_datetime(request.POST.get("starts_at", ""))
    if officer is None or starts_at is None:
        messages.error(request, _("请选择该单位的执法人员并填写开始时间。"))
        return redirect("devices:docks")
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    try:
        attributed = dock_camera_assign(
            camera=camera, officer=officer, starts_at=starts_at, actor=Actor.user(user)
        )
    except FieldVaultError as error:
        messages.error(request, error.message)
        return redirect("devices:docks")
    messages.success(
        request,
        _("已将 %(serial)s 分配给 %(name)s，%(count)s 条音像记录归属该人员。")
        % {"serial": camera.serial, "name": officer.name, "count": attributed},
    )
    return redirect("devices:docks")


# -- the device ledger (设备台账) ------------------------------------------------------------


@require_POST
@login_required
def device_ledger(request: HttpRequest, device_id: uuid.UUID) -> HttpResponse:
    """Set a device's ledger state from the silent-devices list (supervisors of its unit,
    system administrators); back to where the form was."""
    if not _allowed(request):
        return forbidden(request, _("只有监督人员和系统管理员可以登记设备台账。"))
    user = user_of(request)
    device = Device.objects.filter(unit_scope_q(user, unit_field="unit"), pk=device_id).first()
    if device is None:
        return render(
            request,
            "review/error.html",
            {"code": "not_found", "message": _("没有该设备。")},
            status=404,
        )
    try:
        device_ledger_set(
            device=device,
            ledger=request.POST.get("ledger", ""),
            note=request.POST.get("note", ""),
            actor=Actor.user(user),
        )
    except FieldVaultError as error:
        return render(
            request,
            "review/error.html",
            {"code": error.code, "message": error.message},
            status=error.status,
        )
    messages.success(
        request,
        _("设备 %(serial)s 已登记为：%(state)s")
        % {
            "serial": device.serial,
            "state": LedgerState(request.POST["ledger"]).label,
        },
    )
    return redirect("publication:timeliness")
