"""Every importer on files made as bureaus make them (tests/imports/corpus.py): a title row,
a merged two-row header, synonyms, a note below, XLSX, XLS and CSV in GBK, GB18030 and UTF-8
with a BOM. A good file imports; the same file with one bad row imports nothing and names the
bad cell by sheet, row and column in Chinese."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from backend.accounts.models import Officer, UnitKind
from backend.accounts.services import officers_import
from backend.audit.services import Actor
from backend.config.errors import InvalidInput
from backend.enforcement.models import Activity, RecordRule
from backend.enforcement.services import activities_import, record_list_import
from backend.inspections.models import InspectionItem, InspectionTarget
from backend.inspections.services import inspection_items_import, inspection_targets_import
from backend.workcalendar.models import CalendarDay
from backend.workcalendar.services.entry import calendar_year_enter, rows_from_file
from tests.factories import make_officer, make_unit
from tests.imports.corpus import FORMATS, Column, Made, make

pytestmark = pytest.mark.django_db

# (errors, warnings) of one import; errors empty means it imported.
Run = Callable[[Made, dict[str, Any]], tuple[list[dict[str, Any]], list[str]]]


@dataclass(frozen=True)
class Case:
    header: Sequence[Column]
    good: Sequence[Sequence[object]]
    bad: Sequence[object]  # appended after the good rows
    letter: str
    column: str
    message: str
    run: Run
    count: Callable[[], int]
    warning: str | None = None


def _refused(call: Callable[[], Any]) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        report = call()
    except InvalidInput as error:
        details = error.details
        return [*details.get("errors", []), *details.get("row_errors", [])], []
    warnings = [w if isinstance(w, str) else w["message"] for w in report.warnings]
    return list(getattr(report, "errors", [])), warnings


def _roster(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: officers_import(
            source=made.data,
            actor=Actor.system(),
            file_name=made.name,
            default_unit=env["office"],
        )
    )


def _record_list(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: record_list_import(
            source=made.data,
            effective_from=__import__("datetime").date(2026, 1, 1),
            actor=Actor.system(),
            file_name=made.name,
        )
    )


def _activities(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: activities_import(source=made.data, actor=Actor.system(), file_name=made.name)
    )


def _items(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: inspection_items_import(
            unit=env["bureau"], source=made.data, actor=None, file_name=made.name
        )
    )


def _targets(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: inspection_targets_import(
            unit=env["bureau"], source=made.data, actor=None, file_name=made.name
        )
    )


def _calendar(made: Made, env: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    return _refused(
        lambda: calendar_year_enter(
            actor=None,
            year=CALENDAR_YEAR,
            rows=rows_from_file(made.data, file_name=made.name),
            source="import",
            replace=True,
        )
    )


# A year the package may know: entered again (replace) from the file.
CALENDAR_YEAR = 2027
OFFICER_ROW = ["科员", "司法行政", "行政"]
CASES = {
    # The roster with a merged 证件 header over 编号 and 有效期至, and synonyms.
    "roster": Case(
        header=[
            "序号",
            "姓名",
            "所在单位",
            "岗位",
            "执法类型",
            "编制类别",
            ("证件", ["编号", "有效期至"]),
            "证件情况",
        ],
        good=[
            [1, "张一", "城关司法所", *OFFICER_ROW, "14042100101", "2027-12-31", "换发"],
            [2, "李二", "城关司法所", *OFFICER_ROW, "14042100102", "2027年12月31日", "换发"],
        ],
        bad=[3, "王三", "城关司法所", *OFFICER_ROW, "14042100103", "明年", ""],
        letter="H",
        column="证件有效期至",
        message="证件有效期无法识别：明年",
        run=_roster,
        # Read under the merged header: the certificate columns are not lost.
        count=lambda: Officer.objects.filter(
            name__in=["张一", "李二", "王三"], certificate_valid_until__isnull=False
        ).count(),
    ),
    # The roster exactly as seed 003 prints it: no unit, 证件情况 as text.
    "roster_seed": Case(
        header=["序号", "姓名", "执法岗位", "执法类型", "编制类别", "证件情况"],
        good=[
            [1, "张一", *OFFICER_ROW, "已持证（14042100101，2027-12-31）"],
            [2, "李二", *OFFICER_ROW, "未持证"],
        ],
        bad=[3, "", *OFFICER_ROW, "未持证"],
        letter="B",
        column="姓名",
        message="姓名不能为空",
        run=_roster,
        count=lambda: Officer.objects.filter(name__in=["张一", "李二"]).count(),
    ),
    "record_list": Case(
        header=[
            "序号",
            "执法类别",
            "执法环节",
            "音像记录事项",
            "记录场所",
            "实施部门",
            "开始时间",
            "结束时间",
        ],
        good=[
            [
                1,
                "行政处罚",
                "调查取证",
                "调查取证",
                "现场",
                "承办机构",
                "进入调查取证场所",
                "离开调查取证场所",
            ],
            [2, "行政检查", "检查", "现场检查", "现场", "承办机构", "进入检查场所", "离开检查场所"],
        ],
        bad=[
            3,
            "行政处罚",
            "",
            "送达",
            "受送达人所在地",
            "承办机构",
            "到达送达地点",
            "离开送达地点",
        ],
        letter="C",
        column="执法环节",
        message="「执法环节」不能为空",
        run=_record_list,
        count=RecordRule.objects.count,
    ),
    "activities": Case(
        header=[
            "编号",
            "执法类别",
            "执法环节",
            "执法单位",
            "执法人员",
            "执法开始时间",
            "执法结束时间",
        ],
        good=[
            [
                "X1",
                "行政处罚",
                "调查取证",
                "城关司法所",
                "{a}、{b}",
                "2026-03-02 09:00",
                "2026-03-02 09:30",
            ],
            ["X2", "行政检查", "检查", "城关司法所", "{a}", "2026-03-03 09:00", ""],
        ],
        bad=["X3", "行政处罚", "送达", "城关司法所", "{a}", "昨天", ""],
        letter="F",
        column="开始时间",
        message="时间无法识别",
        run=_activities,
        count=Activity.objects.count,
    ),
    # The item list with 抽查 merged over 事项 and 比例.
    "inspection_items": Case(
        header=["序号", "实施主体", ("抽查", ["事项", "比例"]), "检查对象", "检查方式"],
        good=[
            [1, "司法局", "对律师事务所的监管", "5%", "律师事务所和律师", "书面检查"],
            [2, "司法局", "对公证机构的监管", "100%", "公证机构和公证员", "实地查看"],
        ],
        bad=[3, "司法局", "对司法鉴定的监管", "150%", "司法鉴定机构", ""],
        letter="D",
        column="抽查比例",
        message="抽查比例须大于 0 且不超过 100%",
        run=_items,
        count=InspectionItem.objects.count,
    ),
    # The holiday calendar as an office retypes the State Council notice: synonyms of
    # 类型 and 名称, a merged two-row header over the date.
    "holiday_calendar": Case(
        header=["序号", ("公历", ["日期"]), "安排", "节日名称"],
        good=[
            [1, "2027-01-01", "放假", "元旦"],
            [2, "2027-10-01", "放假", "国庆节"],
        ],
        bad=[3, "2027-13-01", "放假", "国庆节"],
        letter="B",
        column="日期",
        message="日期“2027-13-01”无法识别",
        run=_calendar,
        count=lambda: CalendarDay.objects.filter(
            year_id=CALENDAR_YEAR, name__in=["元旦", "国庆节"]
        ).count(),
        warning="未识别的列已忽略：序号（A 列）",
    ),
    "inspection_targets": Case(
        header=["序号", "检查对象名称", "对象类型", "信用代码", "住所", "联系人"],
        good=[
            [1, "律所甲", "律师事务所和律师", "31110000MD00000001", "青山路1号", "周"],
            [2, "公证处", "公证机构和公证员", "", "柳河街1号", "吴"],
        ],
        bad=[3, "律所丙", "律师事务所和律师", "12345", "", ""],
        letter="D",
        column="统一社会信用代码",
        message="统一社会信用代码须为 18 位：12345",
        run=_targets,
        count=InspectionTarget.objects.count,
        warning="未识别的列已忽略：联系人（F 列）",
    ),
}


@pytest.fixture
def env(db: Any) -> dict[str, Any]:
    bureau = make_unit("示范县司法局")
    office = make_unit("城关司法所", kind=UnitKind.OFFICE, parent=bureau)
    a = make_officer(office, name="甲", certificate_number="14042199901")
    b = make_officer(office, name="乙", certificate_number="14042199902")
    return {"bureau": bureau, "office": office, "a": a, "b": b}


def _rows(rows: Sequence[Sequence[object]], env: dict[str, Any]) -> list[list[object]]:
    def fill(value: object) -> object:
        if isinstance(value, str) and "{" in value:
            return value.format(a=env["a"].certificate_number, b=env["b"].certificate_number)
        return value

    return [[fill(v) for v in row] for row in rows]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case_name", list(CASES))
def test_a_real_shaped_file_imports(case_name: str, fmt: str, env: dict[str, Any]) -> None:
    case = CASES[case_name]
    title = "示范县司法局" + case_name
    made = make(fmt, title=title, header=case.header, rows=_rows(case.good, env))
    errors, warnings = case.run(made, env)
    assert errors == []
    assert case.count() == len(case.good)
    if case.warning:
        assert case.warning in warnings


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case_name", list(CASES))
def test_one_bad_row_imports_nothing_and_names_its_cell(
    case_name: str, fmt: str, env: dict[str, Any]
) -> None:
    case = CASES[case_name]
    rows = _rows([*case.good, case.bad], env)
    made = make(fmt, title="示范县司法局" + case_name, header=case.header, rows=rows)
    errors, _warnings = case.run(made, env)
    where = made.where(len(case.good), case.letter, case.column)
    assert [error["message"] for error in errors] == [f"{where}：{case.message}"] or (
        len(errors) == 1
        and errors[0]["message"].startswith(f"{where}：")
        and case.message in errors[0]["message"]
    ), errors
    assert case.count() == 0
