"""Forms of the correction officers' pages (messages in Chinese first)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.corrections.models import ContactKind, IdentityMethod

BROWSER_KINDS = [
    (ContactKind.CHECK_IN.value, ContactKind.CHECK_IN.label),
    (ContactKind.HOME_VISIT.value, ContactKind.HOME_VISIT.label),
    (ContactKind.TALK.value, ContactKind.TALK.label),
]


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=BROWSER_KINDS)
    started_at = forms.DateTimeField(
        label=_("开始时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    minutes = forms.IntegerField(label=_("时长（分钟）"), min_value=1, max_value=600, initial=15)
    place = forms.CharField(label=_("地点"), max_length=300, required=False)
    latitude = forms.FloatField(
        label=_("纬度"), min_value=-90, max_value=90, required=False, localize=False
    )
    longitude = forms.FloatField(
        label=_("经度"), min_value=-180, max_value=180, required=False, localize=False
    )
    identity_method = forms.ChoiceField(
        label=_("身份核验方式（报到必填）"),
        choices=[("", "—"), *IdentityMethod.choices],
        required=False,
    )
    notes = forms.CharField(
        label=_("记录"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def clean_started_at(self) -> datetime.datetime:
        value: datetime.datetime = self.cleaned_data["started_at"]
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise forms.ValidationError(_("开始时间不能晚于现在"))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ContactKind.CHECK_IN and not data.get("identity_method"):
            self.add_error("identity_method", _("报到须记录身份核验方式"))
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            self.add_error("longitude", _("纬度和经度须同时填写"))
        return data
