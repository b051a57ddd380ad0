"""The official holiday arrangement kept in the database: seeded from chinesecalendar,
entered by system administrators from the State Council's notice (file, form, command),
checked row by row with nothing half-imported, audited; the dashboard warns from
1 November while next year's arrangement is missing."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from backend.accounts.models import Role, UnitKind
from backend.audit.models import AuditEvent
from backend.workcalendar.models import CalendarDay, CalendarYear
from backend.workcalendar.selectors import working_calendar
from tests.factories import make_unit, make_user
from tests.paths import SHARED_DATA

pytestmark = pytest.mark.django_db

ARRANGEMENT = SHARED_DATA.parent / "workcalendar" / "2027_test_arrangement.csv"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def admin_client(db: Any) -> Client:
    CalendarYear.objects.filter(year=2027).delete()  # should a newer package know 2027
    bureau = make_unit("示范县司法局", kind=UnitKind.BUREAU)
    client = Client()
    client.fv_user = make_user(role=Role.SYSTEM_ADMIN, unit=bureau)  # type: ignore[attr-defined]
    client.force_login(client.fv_user)  # type: ignore[attr-defined]
    return client


def _upload(client: Client, data: bytes, name: str, year: int = 2027, **extra: Any) -> Any:
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/calendar/enter/", {"year": year, "file": upload, **extra})


def test_years_the_package_knows_are_seeded_and_official() -> None:
    years = set(CalendarYear.objects.values_list("year", flat=True))
    assert {d.year for d in chinese_calendar.holidays} <= years
    day = CalendarDay.objects.get(date=datetime.date(2026, 10, 10))
    assert (day.kind, day.name) == ("workday", "国庆节")
    calendar = working_calendar()
    assert calendar.is_official(2026) and not calendar.is_working_day(datetime.date(2026, 10, 1))
    assert calendar.is_working_day(datetime.date(2026, 10, 10))  # make-up Saturday


@pytest.mark.clock
def test_bad_file_is_refused_row_by_row_and_nothing_is_imported(admin_client: Client) -> None:
    # GBK (as Excel saves it), a title row above the header, and one mistake of each kind.
    csv = (
        "国务院办公厅关于2027年部分节假日安排的通知,,\n"
        "日期,类型,名称\n"
        "2027-01-01,放假,元旦\n"
        "2026-12-31,放假,元旦\n"  # row 4: outside the year
        "2027-01-01,放假,元旦\n"  # row 5: duplicate day
        "2027-10-01,上班,国庆节\n"  # row 6: a working day on a statutory holiday
        "2027-02-05,休假吧,春节\n"  # row 7: unknown type
        "2027-13-01,放假,春节\n"  # row 8: no such date
        "2027-02-06,放假,春节\n"
    ).encode("gbk")
    before = AuditEvent.objects.count()
    response = _upload(admin_client, csv, "2027.csv")
    assert response.status_code == 400
    errors = response.context["errors"]
    assert [(e["row"], e["code"]) for e in errors] == [
        (4, "date_outside_year"),
        (5, "duplicate_day"),
        (6, "workday_on_holiday"),
        (7, "unknown_kind"),
        (8, "invalid_date"),
    ]
    assert errors[1]["message"] == "第 5 行 A 列（日期）：日期 2027-01-01 与第 3 行重复"
    assert "第 4 行 A 列（日期）：日期 2026-12-31 不在 2027 年内" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()
    assert AuditEvent.objects.count() == before
    assert not working_calendar().is_official(2027)


@pytest.mark.clock
def test_gbk_file_with_a_title_row_is_entered_audited_and_counts_at_once(
    admin_client: Client,
) -> None:
    data = ARRANGEMENT.read_text("utf-8").encode("gbk")
    response = _upload(admin_client, data, "通知.csv", notice="国办发明电〔2026〕X号")
    assert response.status_code == 302 and response["Location"] == "/calendar/2027/"
    entered = CalendarYear.objects.get(year=2027)
    assert (entered.source, entered.notice) == ("import", "国办发明电〔2026〕X号")
    assert CalendarDay.objects.filter(year=entered, kind="workday").count() == 5
    event = AuditEvent.objects.get(action="workcalendar.year_entered")
    assert event.object_id == "2027" and "2027-01-24" in event.data["workdays"]
    calendar = working_calendar()
    assert calendar.is_official(2027) and calendar.is_working_day(datetime.date(2027, 1, 24))
    page = admin_client.get("/calendar/2027/").content.decode()
    assert ("2027-01-24" in page and "调休" not in page) or "上班" in page
    # Entering it again is refused unless replacing, and a replacement is audited too.
    assert _upload(admin_client, data, "通知.csv").status_code == 409
    response = _upload(admin_client, data, "通知.csv", replace="on")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="workcalendar.year_entered").count() == 2


def test_xlsx_and_the_form_enter_a_year(admin_client: Client) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2028 年节假日安排"])
    sheet.append(["日期", "类型", "名称"])
    sheet.append([datetime.datetime(2028, 1, 1), "放假", "元旦"])
    sheet.append(["2028/1/29", "上班", "春节"])  # a Saturday
    buffer = io.BytesIO()
    book.save(buffer)
    CalendarYear.objects.filter(year=2028).delete()
    response = _upload(admin_client, buffer.getvalue(), "2028.xlsx", year=2028)
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert set(CalendarDay.objects.filter(year_id=2028).values_list("date", "kind")) == {
        (datetime.date(2028, 1, 1), "holiday"),
        (datetime.date(2028, 1, 29), "workday"),
    }
    CalendarYear.objects.filter(year=2029).delete()
    response = admin_client.post(
        "/calendar/enter/",
        {"year": 2029, "days": "日期 类型 名称\n2029-01-01 放假 元旦\n\n2029年1月2日 放假 元旦"},
    )
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2029).source == "form"
    response = admin_client.post("/calendar/enter/", {"year": 2030, "days": "2030-01-07 上班"})
    assert response.status_code == 400
    assert response.context["errors"][0]["code"] == "workday_not_weekend"


def test_only_system_admins_enter_the_calendar(db: Any) -> None:
    client = Client()
    client.force_login(make_user(role=Role.SUPERVISOR, unit=make_unit("局", kind=UnitKind.BUREAU)))
    assert client.get("/calendar/").status_code == 403
    data = ARRANGEMENT.read_bytes()
    upload = io.BytesIO(data)
    upload.name = "a.csv"
    assert client.post("/calendar/enter/", {"year": 2027, "file": upload}).status_code == 403
    assert Client().get("/calendar/").status_code == 302  # to sign in


def test_command_imports_and_reports_row_errors(admin_client: Client, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes("日期,类型,名称\n2027-02-30,放假,春节\n".encode("gbk"))
    with pytest.raises(CommandError, match="第 2 行"):
        call_command("workcalendar_import", str(bad), "--year", "2027")
    assert not CalendarYear.objects.filter(year=2027).exists()
    out = io.StringIO()
    call_command("workcalendar_import", str(ARRANGEMENT), "--year", "2027", stdout=out)
    assert out.getvalue().startswith("2027: 29 holidays, 5 make-up working days")


def _dashboard_warns(client: Client) -> bool:
    return 'id="calendar-missing"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("instant", "warns"),
    [
        (datetime.datetime(2026, 10, 31, 23, 59, tzinfo=SHANGHAI), False),
        (datetime.datetime(2026, 11, 1, 0, 1, tzinfo=SHANGHAI), True),
        (datetime.datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI), True),
    ],
)
def test_dashboard_warns_system_admins_from_1_november(
    admin_client: Client, instant: datetime.datetime, warns: bool
) -> None:
    with time_machine.travel(instant, tick=False):
        # Sessions last 8 hours: sign in at the moved instant.
        admin_client.force_login(admin_client.fv_user)  # type: ignore[attr-defined]
        assert _dashboard_warns(admin_client) is warns
        if warns:
            other = Client()
            other.force_login(make_user(role=Role.SUPERVISOR, unit=make_unit("另局")))
            assert not _dashboard_warns(other)
            call_command("workcalendar_import", str(ARRANGEMENT), "--year", "2027")
            assert not _dashboard_warns(admin_client)


@pytest.mark.clock
def test_a_years_export_reads_back_as_the_same_days(admin_client: Client) -> None:
    assert _upload(admin_client, ARRANGEMENT.read_bytes(), "通知.csv").status_code == 302
    before = list(CalendarDay.objects.filter(year_id=2027).values_list("date", "kind", "name"))
    exported = admin_client.get("/calendar/2027/export.xlsx")
    assert exported.status_code == 200 and exported.content[:2] == b"PK"
    response = _upload(admin_client, exported.content, "2027.xlsx", replace="on")
    assert response.status_code == 302, response.context and response.context["errors"]
    after = list(CalendarDay.objects.filter(year_id=2027).values_list("date", "kind", "name"))
    assert after == before and len(before) > 10
