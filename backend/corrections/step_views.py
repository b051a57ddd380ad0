"""Pages of the steps from 宣告 to 解除, the approvals (外出、会客、迁居) and position alerts:
forms on the subject's page post here; the approver's queue lists requests to decide.

Only correction roles of the subject's office (and supervisors above it) reach a subject;
another office's answers 404. The requester of an approval cannot decide it.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import User
from backend.accounts.selectors import unit_scope_q
from backend.config.errors import FieldVaultError, NotFound
from backend.corrections.models import (
    PermissionRequest,
    PermissionStatus,
    PositionAlert,
    Subject,
)
from backend.corrections.selectors import CORRECTION_READ_ROLES, subject_get_visible
from backend.corrections.services import (
    permission_decide,
    permission_request,
    position_alert_close,
    step_record,
)
from backend.web.pages import page

QUEUE_SIZE = 100


def _reader(request: HttpRequest) -> User:
    from backend.config.errors import PermissionDenied

    user = request.user
    assert isinstance(user, User)
    if user.role not in CORRECTION_READ_ROLES:
        raise PermissionDenied(_("只有矫正工作人员和监督人员可以查看社区矫正"), code="forbidden")
    return user


def _subject(user: User, subject_id: str) -> Subject:
    subject = subject_get_visible(user=user, subject_id=subject_id)
    if subject is None:
        raise NotFound(_("没有该矫正对象"), code="subject_not_found")
    return subject


def _back(subject: Subject, anchor: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("corrections:subject", args=[subject.pk]) + anchor)


def _local(value: str) -> datetime.datetime | None:
    parsed = parse_datetime(value.strip()) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@require_POST
@page
def step_create(request: HttpRequest, subject_id: str) -> HttpResponse:
    user = _reader(request)
    subject = _subject(user, subject_id)
    data = request.POST
    on_date = parse_date(data.get("on_date", "").strip() or "x") if data.get("on_date") else None
    if on_date is None:
        messages.error(request, _("请填写日期"))
        return _back(subject, "#steps")
    try:
        step = step_record(
            subject=subject,
            kind=data.get("kind", ""),
            on_date=on_date,
            actor=user,
            present=data.get("present", ""),
            letter_number=data.get("letter_number", ""),
            reason=data.get("reason", ""),
            certificate_number=data.get("certificate_number", ""),
            outcome=data.get("outcome", ""),
        )
    except FieldVaultError as error:
        if error.status == 403:
            raise
        messages.error(request, error.message)
        return _back(subject, "#steps")
    messages.success(request, _("已登记：%(step)s") % {"step": step.get_kind_display()})
    return _back(subject, "#steps")


@require_POST
@page
def permission_create(request: HttpRequest, subject_id: str) -> HttpResponse:
    user = _reader(request)
    subject = _subject(user, subject_id)
    data = request.POST
    starts_at, ends_at = _local(data.get("starts_at", "")), _local(data.get("ends_at", ""))
    if starts_at is None or ends_at is None:
        messages.error(request, _("请填写开始和结束时间"))
        return _back(subject, "#permissions")
    try:
        made = permission_request(
            subject=subject,
            kind=data.get("kind", ""),
            reason=data.get("reason", ""),
            destination=data.get("destination", ""),
            starts_at=starts_at,
            ends_at=ends_at,
            actor=user,
        )
    except FieldVaultError as error:
        if error.status == 403:
            raise
        messages.error(request, error.message)
        return _back(subject, "#permissions")
    messages.success(
        request, _("已提交%(kind)s申请，待他人审批") % {"kind": made.get_kind_display()}
    )
    return _back(subject, "#permissions")


@require_POST
@page
def alert_close(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _reader(request)
    alert = PositionAlert.objects.filter(pk=alert_id).select_related("subject").first()
    if alert is None or subject_get_visible(user=user, subject_id=str(alert.subject_id)) is None:
        raise NotFound(_("没有该提醒"), code="alert_not_found")
    try:
        position_alert_close(
            alert=alert,
            actor=user,
            handling=request.POST.get("handling", ""),
            note=request.POST.get("note", ""),
        )
    except FieldVaultError as error:
        if error.status == 403:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, _("提醒已处置"))
    return _back(alert.subject, "#position-alerts")


def _requests_visible_to(user: User) -> list[PermissionRequest]:
    return list(
        PermissionRequest.objects.filter(unit_scope_q(user, unit_field="office"))
        .filter(status=PermissionStatus.PENDING)
        .select_related("subject", "office", "requested_by")
        .order_by("requested_at", "pk")[:QUEUE_SIZE]
    )


@require_GET
@page
def permission_queue(request: HttpRequest) -> HttpResponse:
    """The approver's queue: pending 外出、会客、迁居 of the offices in scope, oldest first."""
    user = _reader(request)
    return render(
        request,
        "corrections/permission_queue.html",
        {"requests": _requests_visible_to(user), "me": user.pk},
    )


@require_POST
@page
def permission_decision(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _reader(request)
    found = (
        PermissionRequest.objects.filter(unit_scope_q(user, unit_field="office"))
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        raise NotFound(_("没有该申请"), code="permission_not_found")
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "reject"):
        messages.error(request, _("请选择批准或不予批准"))
        return HttpResponseRedirect(reverse("corrections:permissions"))
    try:
        permission_decide(
            request=found,
            approve=decision == "approve",
            note=request.POST.get("note", ""),
            actor=user,
        )
    except FieldVaultError as error:
        if error.status == 403:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, _("已审批"))
    return HttpResponseRedirect(reverse("corrections:permissions"))
