"""The official holiday arrangement (节假日安排) of each year, as the installation keeps it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    WORKDAY = "workday", _("上班")


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("chinesecalendar 软件包")
    IMPORT = "import", _("文件导入")
    FORM = "form", _("手工录入")


class CalendarYear(models.Model):
    """A year whose official arrangement is entered: its days are authoritative, every
    other weekday of it is a working day and every weekend day a rest day."""

    year = models.PositiveSmallIntegerField(_("年份"), primary_key=True)
    source = models.CharField(_("来源"), max_length=10, choices=CalendarSource.choices)
    notice = models.CharField(_("通知"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("录入时间"))

    class Meta:
        verbose_name = _("年度节假日安排")
        verbose_name_plural = _("年度节假日安排")
        ordering = ("year",)

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """One day that differs from the weekday rule: a holiday (放假) or a make-up working
    day (调休上班)."""

    date = models.DateField(_("日期"), unique=True)
    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    kind = models.CharField(_("类型"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ("date",)
        constraints = (
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "workday"]), name="calendar_day_kind"
            ),
        )

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"
