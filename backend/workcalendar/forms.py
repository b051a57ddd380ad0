from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.tabular import MAX_TABLE_BYTES


class YearFileForm(forms.Form):
    year = forms.IntegerField(label=_("年份"), min_value=2000, max_value=2100)
    notice = forms.CharField(label=_("通知名称或文号"), max_length=200, required=False)
    file = forms.FileField(label=_("文件（CSV 或 XLSX：日期、类型、名称）"))
    replace = forms.BooleanField(label=_("替换已录入的安排"), required=False)

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_TABLE_BYTES:
            raise forms.ValidationError(_("文件过大"))
        return upload


class YearTextForm(forms.Form):
    year = forms.IntegerField(label=_("年份"), min_value=2000, max_value=2100)
    notice = forms.CharField(label=_("通知名称或文号"), max_length=200, required=False)
    days = forms.CharField(
        label=_("安排（每行一天：日期 类型 名称，如 2027-01-01 放假 元旦）"),
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=20000,
    )
    replace = forms.BooleanField(label=_("替换已录入的安排"), required=False)
