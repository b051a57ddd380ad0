"""Forms of the supervisors' pages (parsing only: the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.review.models import AccessDocumentKind, RegisterAction, RequesterKind
from backend.review.services import (
    login_attempt_record,
    login_ip_blocked_until,
    login_ip_refusal_record,
    login_locked_until,
)
from backend.web.requests import client_ip


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing a user name after repeated failures for a while."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("连续登录失败次数过多，账户已锁定，请于 %(until)s 后再试。"),
        "ip_throttled": _(
            "此 IP 地址登录失败次数过多，已暂停从该地址登录（任何用户名），请于 %(until)s 后再试。"
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip()
        ip_address = client_ip(self.request)
        blocked = login_ip_blocked_until(ip_address=ip_address)
        if blocked is not None:
            login_ip_refusal_record(username=username, ip_address=ip_address, until=blocked)
            raise ValidationError(
                self.error_messages["ip_throttled"],
                code="ip_throttled",
                params={"until": timezone.localtime(blocked).strftime("%H:%M")},
            )
        if username:
            until = login_locked_until(username=username)
            if until is not None:
                raise ValidationError(
                    self.error_messages["locked"],
                    code="locked",
                    params={"until": timezone.localtime(until).strftime("%H:%M")},
                )
        try:
            cleaned = super().clean()
        except ValidationError:
            if username:
                login_attempt_record(
                    username=username, ip_address=client_ip(self.request), succeeded=False
                )
            raise
        login_attempt_record(username=username, ip_address=client_ip(self.request), succeeded=True)
        return cleaned


class LockoutAdminAuthenticationForm(LockoutAuthenticationForm, AdminAuthenticationForm):
    """/admin/login/: the same per-name lockout and per-IP throttle (one throttle for every
    sign-in path), and the admin's own staff check."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": LockoutAuthenticationForm.error_messages["locked"],
        "ip_throttled": LockoutAuthenticationForm.error_messages["ip_throttled"],
    }


class AccessRequestForm(forms.Form):
    requester_kind = forms.ChoiceField(label=_("申请人类别"), choices=RequesterKind.choices)
    applicant_name = forms.CharField(label=_("申请人姓名"), required=False, max_length=100)
    applicant_organisation = forms.CharField(label=_("申请单位"), required=False, max_length=200)
    applicant_id_number = forms.CharField(label=_("有效证件号码"), required=False, max_length=64)
    purpose = forms.CharField(label=_("调阅事由"), widget=forms.Textarea(attrs={"rows": 3}))
    recording_ids = forms.CharField(
        label=_("音像记录编号"),
        help_text=_("每行一个编号"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    activity_id = forms.CharField(
        label=_("执法活动编号"),
        help_text=_("填写后申请该活动关联的全部音像记录"),
        required=False,
        max_length=64,
    )
    want_copy = forms.BooleanField(label=_("申请复制（导出）"), required=False)

    def recording_id_list(self) -> list[str]:
        raw = self.cleaned_data.get("recording_ids", "")
        return [part for part in raw.replace(",", "\n").split() if part]


class AccessDocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料类型"), choices=AccessDocumentKind.choices)
    document = forms.FileField(label=_("文件"))


class DecisionForm(forms.Form):
    valid_days = forms.IntegerField(label=_("有效天数"), min_value=1, max_value=90, initial=7)
    note = forms.CharField(label=_("审批意见"), required=False, max_length=500)
    view_only = forms.BooleanField(label=_("仅允许查看（不允许复制）"), required=False)


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销理由"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RegisterSearchForm(forms.Form):
    q = forms.CharField(label=_("查找"), required=False, max_length=100)
    action = forms.ChoiceField(
        label=_("方式"), required=False, choices=[("", "—"), *RegisterAction.choices]
    )
    date_from = forms.DateField(
        label=_("自"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ExportForm(forms.Form):
    purpose = forms.CharField(label=_("导出用途"), required=False, max_length=500)


AUDIT_GROUPS = (
    ("", _("全部事件")),
    ("recording.", _("音像记录")),
    ("activity.", _("执法活动")),
    ("coverage.", _("覆盖检查")),
    ("access_", _("调阅")),
    ("export.", _("导出")),
    ("destruction.", _("销毁")),
    ("retention.", _("保存期限与保全")),
    ("fixity.", _("存储完整性")),
    ("device.", _("设备")),
    ("officer.", _("执法人员")),
    ("record_", _("记录事项")),
    ("correction", _("社区矫正")),
    ("inspection", _("双随机检查")),
    ("random_draw.", _("随机抽取")),
    ("login.", _("登录")),
    ("workcalendar.", _("节假日安排")),
)


class AuditFilterForm(forms.Form):
    """Filters of the audit log: kind of event, local dates, who, and which object."""

    action = forms.ChoiceField(label=_("事件"), required=False, choices=AUDIT_GROUPS)
    date_from = forms.DateField(
        label=_("自"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    actor = forms.CharField(label=_("操作者"), required=False, max_length=100)
    object = forms.CharField(label=_("对象编号"), required=False, max_length=64)
