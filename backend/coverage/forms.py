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
