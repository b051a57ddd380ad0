"""Retention pages for people rather than the API: legal holds (保全) and evidence marks
(forms for legal officers, supervisors, the system administrator and the leader in charge;
storage admins read), and the fixity page for storage admins (the last sweep, open
failures, what is due next; run a sweep, acknowledge an alert). Every form posts and
redirects back (reloading never re-posts); a refused form comes back with the reason in
words and what was typed."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.config.errors import FieldVaultError, PermissionDenied
from backend.footage.selectors import recordings_visible_to
from backend.retention import conf, fixity, services
from backend.retention.models import (
    EvidenceMark,
    FixityAlert,
    FixityCheck,
    HoldTarget,
    MarkKind,
    RecordingRetention,
)
from backend.retention.permissions import storage_admin, user_of
from backend.web.pages import page

DUE_SHOWN_LIMIT = 1000
SWEEP_FROM_PAGE = 50


def _may_hold(user: User) -> bool:
    return user.role in services.HOLD_ROLES or services.user_is_retention_approver(user)


def _may_read_holds(user: User) -> bool:
    return _may_hold(user) or services.user_is_storage_admin(user)


class HoldForm(forms.Form):
    target_kind = forms.ChoiceField(label=gettext_lazy("保全对象"), choices=HoldTarget.choices)
    recording = forms.CharField(
        label=gettext_lazy("音像记录编号（对象为音像记录时）"), required=False, max_length=64
    )
    reference = forms.CharField(
        label=gettext_lazy("活动或案件编号（对象为活动或案件时）"), required=False, max_length=120
    )
    reason = forms.CharField(
        label=gettext_lazy("保全原因"),
        max_length=500,
        error_messages={"required": gettext_lazy("请填写保全原因")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("target_kind")
        if kind == HoldTarget.RECORDING:
            try:
                data["recording_id"] = uuid.UUID(str(data.get("recording") or "").strip())
            except ValueError:
                self.add_error("recording", _("请填写正确的音像记录编号"))
        elif kind and not str(data.get("reference") or "").strip():
            self.add_error("reference", _("请填写活动或案件编号"))
        return data


class MarkForm(forms.Form):
    recording = forms.CharField(label=gettext_lazy("音像记录编号"), max_length=64)
    kind = forms.ChoiceField(label=gettext_lazy("标记"), choices=MarkKind.choices)
    activity_ref = forms.CharField(
        label=gettext_lazy("执法活动编号"), required=False, max_length=120
    )
    case_ref = forms.CharField(label=gettext_lazy("案件编号"), required=False, max_length=120)
    note = forms.CharField(label=gettext_lazy("备注"), required=False, max_length=500)

    def clean_recording(self) -> uuid.UUID:
        try:
            return uuid.UUID(str(self.cleaned_data["recording"]).strip())
        except ValueError:
            raise forms.ValidationError(_("请填写正确的音像记录编号")) from None


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("解除原因"),
        max_length=500,
        error_messages={"required": gettext_lazy("请填写解除原因")},
    )


def _holds_page(
    request: HttpRequest,
    user: User,
    *,
    hold_form: HoldForm | None = None,
    mark_form: MarkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_hold = _may_hold(user)
    typed = {"recording": request.GET.get("recording", "")[:64]}
    holds = (
        services.legal_holds_visible_to(user)
        .filter(released_at__isnull=True)
        .select_related("placed_by", "recording")
        .order_by("-placed_at")[:200]
    )
    marks = (
        EvidenceMark.objects.filter(
            withdrawn_at__isnull=True, recording__in=recordings_visible_to(user)
        )
        .select_related("marked_by", "recording")
        .order_by("-marked_at")[:200]
        if user.role in services.HOLD_ROLES
        else EvidenceMark.objects.none()
    )
    return render(
        request,
        "retention/holds.html",
        {
            "holds": [{"hold": h, "own": h.placed_by_id == user.pk} for h in holds],
            "marks": list(marks),
            "may_hold": may_hold,
            "may_mark": user.role in services.HOLD_ROLES,
            "hold_form": hold_form or HoldForm(initial=typed),
            "mark_form": mark_form or MarkForm(initial=typed),
            "release_form": ReasonForm(),
        },
        status=status,
    )


def _back() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("retention:holds"))


@require_GET
@page
def holds(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not _may_read_holds(user):
        raise PermissionDenied(_("无权查看保全"), code="not_allowed")
    return _holds_page(request, user)


@require_POST
@page
def hold_place(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not _may_hold(user):
        raise PermissionDenied(_("无权设置保全"), code="not_allowed_to_hold")
    form = HoldForm(request.POST)
    if not form.is_valid():
        return _holds_page(request, user, hold_form=form, status=400)
    data = form.cleaned_data
    try:
        services.legal_hold_place(
            actor=user,
            target_kind=data["target_kind"],
            reason=data["reason"],
            recording_id=data.get("recording_id"),
            reference=data.get("reference") or "",
        )
    except FieldVaultError as error:
        form.add_error(None, error.message)
        return _holds_page(request, user, hold_form=form, status=error.status)
    messages.success(request, _("已设置保全：保全期间不会销毁。"))
    return _back()


@require_POST
@page
def hold_release(request: HttpRequest, hold_id: int) -> HttpResponse:
    user = user_of(request)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        raise FieldVaultError(_("请填写解除原因"), code="hold_release_reason_required")
    services.legal_hold_release(actor=user, hold_id=hold_id, reason=form.cleaned_data["reason"])
    messages.success(request, _("保全已解除。"))
    return _back()


@require_POST
@page
def mark_add(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.role not in services.HOLD_ROLES:
        raise PermissionDenied(_("无权标记证据"), code="not_allowed_to_mark")
    form = MarkForm(request.POST)
    if not form.is_valid():
        return _holds_page(request, user, mark_form=form, status=400)
    data = form.cleaned_data
    try:
        services.evidence_mark_add(
            actor=user,
            recording_id=data["recording"],
            kind=data["kind"],
            activity_ref=data["activity_ref"],
            case_ref=data["case_ref"],
            note=data["note"],
        )
    except FieldVaultError as error:
        form.add_error(None, error.message)
        return _holds_page(request, user, mark_form=form, status=error.status)
    messages.success(request, _("已标记；保存期限随之重新计算。"))
    return _back()


@require_POST
@page
def mark_withdraw(request: HttpRequest, mark_id: int) -> HttpResponse:
    user = user_of(request)
    services.evidence_mark_withdraw(actor=user, mark_id=mark_id)
    messages.success(request, _("标记已撤销。"))
    return _back()


# -- fixity ------------------------------------------------------------------------------


def fixity_overview(now: datetime.datetime | None = None) -> dict[str, Any]:
    """The last sweep (the newest check and the checks of the last 24 h), the open
    failures, and what is due: how many now (shown up to 1,000) and when the next falls due."""
    now = now or timezone.now()
    period = datetime.timedelta(days=conf.fixity_period_days())
    last = FixityCheck.objects.order_by("-checked_at").values_list("checked_at", flat=True).first()
    day = FixityCheck.objects.filter(checked_at__gte=now - datetime.timedelta(days=1)).aggregate(
        checked=Count("pk"), failed=Count("pk", filter=~Q(outcome="ok"))
    )
    due_now = len(
        fixity.fixity_due_queryset(now=now).values_list("pk", flat=True)[: DUE_SHOWN_LIMIT + 1]
    )
    oldest = (
        RecordingRetention.objects.filter(destroyed_at__isnull=True, last_fixity_at__isnull=False)
        .exclude(recording__storage_key="")
        .aggregate(oldest=Min("last_fixity_at"))["oldest"]
    )
    return {
        "last_checked_at": last,
        "day_checked": day["checked"],
        "day_failed": day["failed"],
        "due_now": min(due_now, DUE_SHOWN_LIMIT),
        "due_more": due_now > DUE_SHOWN_LIMIT,
        "next_due_at": None if due_now or oldest is None else oldest + period,
        "period_days": conf.fixity_period_days(),
    }


@require_http_methods(["GET"])
@page
def fixity_page(request: HttpRequest) -> HttpResponse:
    storage_admin(request)
    alerts = (
        FixityAlert.objects.filter(acknowledged_at__isnull=True)
        .select_related("recording")
        .order_by("-raised_at")[:200]
    )
    return render(
        request,
        "retention/fixity.html",
        {"overview": fixity_overview(), "alerts": list(alerts), "sweep_size": SWEEP_FROM_PAGE},
    )


@require_POST
@page
def fixity_run(request: HttpRequest) -> HttpResponse:
    storage_admin(request)
    report = fixity.fixity_sweep(limit=SWEEP_FROM_PAGE)
    messages.success(
        request,
        _("已校验 %(checked)s 条：一致 %(ok)s 条，异常 %(failed)s 条。")
        % {"checked": report.checked, "ok": report.ok, "failed": len(report.failed)},
    )
    return HttpResponseRedirect(reverse("retention:fixity"))


@require_POST
@page
def fixity_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    actor = storage_admin(request)
    fixity.fixity_alert_acknowledge(actor=actor, alert_id=alert_id)
    messages.success(request, _("告警已确认。"))
    return HttpResponseRedirect(reverse("retention:fixity"))
