"""The yearly statistics report (行政执法统计年报) as far as this app has the data: the
publication figures per category from the maintained tallies, and the certified officers
(执法证件统计, the list for 年审) from the roster of the user's units. Hand-entered
categories (复议, 诉讼, 培训, 普法, 规范性文件) are printed as to be completed.

The workbook follows the officials' layout: a title row and a unit/year row merged across
the table, a two-row header with the categories merged under one heading, then the rows."""

from __future__ import annotations

import datetime
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.models import Officer, Role, Unit, UnitKind, User
from backend.accounts.selectors import unit_scope_q
from backend.audit.services import Actor, audit_record
from backend.config.errors import Conflict, InvalidInput
from backend.corrections.models import Subject
from backend.corrections.selectors import LOCATED_DEFINITION, office_year_located
from backend.publication.models import Category, TallyMeasure, YearlyReportFiling
from backend.publication.selectors import tallies_for_year
from backend.tabular import neutralise_formula

CATEGORIES = (Category.PENALTY, Category.CHECK, Category.INSPECTION)
MEASURES = (
    TallyMeasure.OFFERED,
    TallyMeasure.PUBLISHED,
    TallyMeasure.ON_TIME,
    TallyMeasure.EXCLUDED,
    TallyMeasure.WITHDRAWN,
    TallyMeasure.EXPIRED,
)


@dataclass(frozen=True)
class ReportRow:
    measure: str  # a TallyMeasure value
    values: tuple[int, ...]  # one per category
    total: int

    @property
    def label(self) -> str:
        return str(TallyMeasure(self.measure).label)


@dataclass(frozen=True)
class RosterRow:
    name: str
    unit: str
    certificate_number: str
    valid_until: str


# The categories the legal officer enters by hand when filing (第五条).
HAND_ENTERED: dict[str, Any] = {
    "training_sessions": gettext_lazy("法制学习、培训：举办培训班（次）"),
    "training_attendance": gettext_lazy("法制学习、培训：参训人次"),
    "campaigns": gettext_lazy("普法宣传：活动（次）"),
    "normative_documents": gettext_lazy("规范性文件（件）"),
    "complaints": gettext_lazy("投诉举报：受理（件）"),
    "reconsiderations": gettext_lazy("被申请行政复议（件）"),
    "lawsuits": gettext_lazy("被提起行政诉讼（件）"),
}


def publication_rows(year: int, user: User) -> list[ReportRow]:
    tallies = tallies_for_year(year, user)
    rows = []
    for measure in MEASURES:
        values = tuple(tallies.get((category.value, measure.value), 0) for category in CATEGORIES)
        rows.append(ReportRow(measure.value, values, sum(values)))
    return rows


def certified_officers(year: int, user: User) -> list[RosterRow]:
    """Officers of the user's units whose certificate is valid on 31 December of the year."""
    year_end = datetime.date(year, 12, 31)
    officers = (
        Officer.objects.filter(
            unit_scope_q(user, unit_field="unit"),
            certificate_valid_until__gte=year_end,
        )
        .exclude(certificate_number__isnull=True)
        .exclude(certificate_number="")
        .select_related("unit")
        .order_by("unit__name", "name")[:2000]
    )
    return [
        RosterRow(
            o.name,
            o.unit.name,
            o.certificate_number or "",
            o.certificate_valid_until.isoformat() if o.certificate_valid_until else "",
        )
        for o in officers
    ]


@dataclass(frozen=True)
class LocatedRow:
    """社区矫正定位率 of one justice office for the year, in subject-days."""

    office: str
    located_days: int
    active_days: int

    @property
    def share(self) -> str:
        if not self.active_days:
            return "—"
        return f"{self.located_days / self.active_days * 100:.1f} %"


def located_rows(year: int, user: User) -> list[LocatedRow]:
    """定位率 of every justice office of the user's units holding subjects in the year."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    held = Subject.objects.filter(term_start__lte=last, term_end__gte=first).values("office_id")
    offices = Unit.objects.filter(kind=UnitKind.OFFICE, pk__in=held)
    if user.role != Role.SYSTEM_ADMIN:
        if user.unit is None:
            return []
        offices = offices.filter(path__startswith=user.unit.path)
    rows = []
    for office in offices.order_by("path")[:200]:
        figure = office_year_located(office=office, year=year)
        rows.append(LocatedRow(office.name, figure.located, figure.active))
    return rows


@dataclass(frozen=True)
class YearlyReport:
    year: int
    unit: str
    publication: list[ReportRow]
    officers: list[RosterRow]
    hand_entered: dict[str, int | None]
    filed_at: str | None = None
    filed_by: str | None = None
    located: list[LocatedRow] = field(default_factory=list)

    @property
    def located_definition(self) -> str:
        return str(LOCATED_DEFINITION)

    @property
    def categories(self) -> list[str]:
        return [str(category.label) for category in CATEGORIES]

    @property
    def officer_count(self) -> int:
        return len(self.officers)

    @property
    def hand_rows(self) -> list[tuple[str, int | None]]:
        return [(str(label), self.hand_entered.get(code)) for code, label in HAND_ENTERED.items()]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> YearlyReport:
        return cls(
            year=data["year"],
            unit=data["unit"],
            publication=[
                ReportRow(r["measure"], tuple(r["values"]), r["total"]) for r in data["publication"]
            ],
            officers=[RosterRow(**r) for r in data["officers"]],
            hand_entered=dict(data["hand_entered"]),
            filed_at=data.get("filed_at"),
            filed_by=data.get("filed_by"),
            located=[LocatedRow(**r) for r in data.get("located", [])],
        )


def _unit_name(user: User) -> str:
    return user.unit.name if user.unit_id and user.unit else _("全部单位")


def yearly_report_rows(year: int, user: User) -> YearlyReport:
    """The filed (frozen) report of the user's unit for the year, or the draft computed now."""
    filed = (
        YearlyReportFiling.objects.filter(year=year, unit_id=user.unit_id)
        .values_list("snapshot", flat=True)
        .first()
        if user.unit_id
        else None
    )
    if filed is not None:
        return YearlyReport.from_json(filed)
    return YearlyReport(
        year=year,
        unit=_unit_name(user),
        publication=publication_rows(year, user),
        officers=certified_officers(year, user),
        hand_entered=dict.fromkeys(HAND_ENTERED),
        located=located_rows(year, user),
    )


def yearly_report_file(*, year: int, user: User, hand_entered: dict[str, int]) -> YearlyReport:
    """File the unit's report: the computed figures and the hand-entered ones are frozen
    together; a filed report never changes (a second filing is refused)."""
    if user.unit_id is None:
        raise InvalidInput(_("只有所属单位的法制审核人员可以报送年报。"), code="no_unit")
    missing = sorted(set(HAND_ENTERED) - set(hand_entered))
    if missing or any(value < 0 for value in hand_entered.values()):
        raise InvalidInput(
            _("请填写全部手工统计项（非负整数）。"),
            code="hand_entered_incomplete",
            details={"missing": missing},
        )
    with transaction.atomic():
        if (
            YearlyReportFiling.objects.select_for_update()
            .filter(year=year, unit_id=user.unit_id)
            .exists()
        ):
            raise Conflict(_("该年度年报已报送，不能修改。"), code="already_filed")
        now = timezone.now()
        report = YearlyReport(
            year=year,
            unit=_unit_name(user),
            publication=publication_rows(year, user),
            officers=certified_officers(year, user),
            hand_entered={code: int(hand_entered[code]) for code in HAND_ENTERED},
            filed_at=timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
            filed_by=user.get_full_name() or user.username,
            located=located_rows(year, user),
        )
        filing = YearlyReportFiling.objects.create(
            year=year, unit_id=user.unit_id, filed_at=now, filed_by=user, snapshot=report.as_json()
        )
        audit_record(
            actor=Actor.user(user),
            action="yearly_report.filed",
            object_type="yearly_report",
            object_id=filing.pk,
            data={"year": year, "unit": user.unit_id, "hand_entered": report.hand_entered},
        )
    return report


def yearly_report_xlsx(year: int, user: User) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    data = yearly_report_rows(year, user)
    categories = data.categories
    width = 3 + len(categories)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("执法公示统计")[:31]
    sheet.cell(1, 1, _("%(year)s 年度行政执法统计年报") % {"year": year})
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = centre
    unit = data.unit
    sheet.cell(
        2,
        1,
        _("填报单位：%(unit)s　　统计期间：%(year)s-01-01 至 %(year)s-12-31　　制表日期：%(day)s")
        % {"unit": unit, "year": year, "day": timezone.localdate().isoformat()},
    )
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    # Two header rows: 序号 / 统计项目 / 合计 merged down, the categories under one heading.
    sheet.cell(3, 1, _("序号"))
    sheet.cell(3, 2, _("统计项目"))
    sheet.cell(3, 3, _("行政执法决定（结果）公示，按类别"))
    sheet.cell(3, width, _("合计"))
    sheet.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    sheet.merge_cells(start_row=3, start_column=2, end_row=4, end_column=2)
    sheet.merge_cells(start_row=3, start_column=3, end_row=3, end_column=width - 1)
    sheet.merge_cells(start_row=3, start_column=width, end_row=4, end_column=width)
    for offset, name in enumerate(categories):
        sheet.cell(4, 3 + offset, name)
    line = 5
    for number, row in enumerate(data.publication, start=1):
        sheet.cell(line, 1, number)
        sheet.cell(line, 2, neutralise_formula(row.label))
        for offset, value in enumerate(row.values):
            sheet.cell(line, 3 + offset, value)
        sheet.cell(line, width, row.total)
        line += 1
    for row_cells in sheet.iter_rows(min_row=3, max_row=line - 1, max_col=width):
        for cell in row_cells:
            cell.border = box
            if cell.row <= 4:
                cell.font = Font(bold=True)
                cell.alignment = centre
    line += 1
    sheet.cell(
        line,
        1,
        _("执法证件统计：持有效执法证件人员 %(count)s 人（名单见“年审名单”）")
        % {"count": data.officer_count},
    )
    sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
    for located in data.located:
        line += 1
        sheet.cell(
            line,
            1,
            neutralise_formula(
                _("社区矫正定位率：%(office)s %(share)s（有效定位 %(n)s / 在册 %(total)s 人日）")
                % {
                    "office": located.office,
                    "share": located.share,
                    "n": located.located_days,
                    "total": located.active_days,
                }
            ),
        )
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
    if data.located:
        line += 1
        sheet.cell(line, 1, neutralise_formula(data.located_definition))
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
    for label, entered in data.hand_rows:
        line += 1
        sheet.cell(line, 1, neutralise_formula(label))
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width - 1)
        sheet.cell(line, width, entered if entered is not None else _("待填报"))
    line += 1
    if data.filed_at:
        status = _("已于 %(at)s 由 %(who)s 报送") % {"at": data.filed_at, "who": data.filed_by}
    else:
        status = _("草稿（未报送）")
    sheet.cell(line, 1, neutralise_formula(status))
    sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
    sheet.column_dimensions["B"].width = 28
    for offset in range(len(categories) + 1):
        sheet.column_dimensions[chr(ord("C") + offset)].width = 16

    roster = workbook.create_sheet(_("年审名单")[:31])
    roster.append([_("%(year)s 年度持证执法人员名单") % {"year": year}])
    roster.merge_cells(start_row=1, start_column=1, end_row=1, end_column=5)
    roster["A1"].font = Font(bold=True, size=14)
    roster.append([_("序号"), _("姓名"), _("单位"), _("证件编号"), _("有效期至")])
    for number, officer in enumerate(data.officers, start=1):
        roster.append(
            [
                number,
                neutralise_formula(officer.name),
                neutralise_formula(officer.unit),
                neutralise_formula(officer.certificate_number),
                officer.valid_until,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
