"""Forms of the gap explanations (messages in Chinese first)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.coverage.models import ExplanationReason


class ExplanationForm(forms.Form):
    gap = forms.ChoiceField(label=_("说明的时段"), required=False)
    reason = forms.ChoiceField(label=_("原因"), choices=ExplanationReason.choices)
    text = forms.CharField(
        label=_("说明（选择“其他”时必填）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, gaps: list[tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["gap"].choices = [("", _("整个执法活动（未记录）")), *(gaps or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reason") == ExplanationReason.OTHER and not data.get("text", "").strip():
            self.add_error("text", _("选择“其他”时必须填写说明"))
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("审核结果"), choices=[("accept", _("采纳")), ("reject", _("不采纳"))]
    )
    note = forms.CharField(
        label=_("审核意见"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("请填写审核意见")},
    )


class LinkForm(forms.Form):
    """A supervisor links a recording by hand: one of the candidates or its number."""

    candidate = forms.ChoiceField(label=_("候选音像记录"), required=False)
    recording = forms.CharField(
        label=_("或填写音像记录编号"), required=False, max_length=64, strip=True
    )
    reason = forms.CharField(
        label=_("关联原因"),
        max_length=500,
        error_messages={"required": _("请填写关联原因")},
    )

    def __init__(self, *args: Any, candidates: list[tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].choices = [("", _("（不选）")), *(candidates or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("candidate") and not data.get("recording"):
            self.add_error("recording", _("请选择候选音像记录或填写编号"))
        return data

    def recording_number(self) -> str:
        return str(self.cleaned_data.get("recording") or self.cleaned_data.get("candidate") or "")


class UnlinkForm(forms.Form):
    reason = forms.CharField(
        label=_("取消关联原因"),
        max_length=500,
        error_messages={"required": _("请填写取消关联原因")},
    )
