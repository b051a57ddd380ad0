"""The enforcement-matters list (行政执法事项清单) as bureaus make it — a title row, GBK CSV —
imported by the legal officer through its page, exported for a round trip, refused whole
when a row is bad, and shown on the public site (事前公开) without sign-in."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from backend.enforcement.matters import enforcement_matters_import
from backend.enforcement.models import EnforcementMatter
from tests.publication.conftest import Bureau

pytestmark = pytest.mark.django_db

MATTERS_CSV = (
    "甲县司法局行政执法事项清单\n"
    "序号,项目名称,执法类别,执法主体,承办机构,执法依据,实施对象\n"
    "1,对未取得律师执业证书以律师名义从事法律服务业务人员的处罚,行政处罚,司法局,"
    "公共法律服务管理股,《中华人民共和国律师法》第五十五条,未取得律师执业证书的人员\n"
    "15,对基层法律服务工作者执业情况的行政检查,行政检查,司法局,公共法律服务管理股,"
    "《基层法律服务工作者管理办法》第四十条,基层法律服务工作者\n"
    "注：清单根据法律法规立改废情况动态调整。\n"
)


def _upload(client: Client, text: str) -> object:
    upload = io.BytesIO(text.encode("gbk"))
    upload.name = "事项清单.csv"
    return client.post("/enforcement/matters/", {"file": upload})


def test_matters_import_as_made_round_trip_and_reach_the_public_site(
    bureaus: tuple[Bureau, Bureau],
) -> None:
    own, _other = bureaus
    legal = own.client("legal_officer")
    assert legal.get("/enforcement/matters/").status_code == 200
    assert own.client().get("/enforcement/matters/").status_code == 403  # supervisor
    assert _upload(legal, MATTERS_CSV).status_code == 302
    rows = list(EnforcementMatter.objects.filter(unit=own.unit).order_by("sequence"))
    assert [(r.sequence, r.category) for r in rows] == [(1, "行政处罚"), (15, "行政检查")]

    exported = legal.get("/enforcement/matters/export.xlsx")
    assert exported.status_code == 200
    again = enforcement_matters_import(
        unit=own.unit, source=exported.content, actor=own.legal, file_name="export.xlsx"
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)

    bad = MATTERS_CSV.replace("15,对基层", "十五,对基层").replace(",行政检查,", ",,")
    refused = _upload(legal, bad)
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "A 列（序号）：序号须为整数" in text and "C 列（执法类别）：缺少执法类别" in text
    assert EnforcementMatter.objects.filter(unit=own.unit).count() == 2

    public = Client().get("/public/matters/").content.decode()
    assert "对基层法律服务工作者执业情况的行政检查" in public and own.unit.name in public
    assert "/public/matters/" in Client().get("/public/").content.decode()
    assert Client().get("/public/matters/?after=x").status_code == 400


def test_the_inspection_items_and_the_record_list_in_force_are_public(
    bureaus: tuple[Bureau, Bureau],
) -> None:
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from backend.enforcement.models import RecordList, RecordRule
    from backend.inspections.models import InspectionItem

    own, _other = bureaus
    InspectionItem.objects.create(
        unit=own.unit,
        sequence=3,
        inspecting_body="甲县司法局",
        name="律师事务所执业情况抽查",
        target_type="律师事务所",
        ratio_percent=Decimal("5.00"),
        frequency="每年一次",
    )
    anonymous = Client()
    items = anonymous.get("/public/inspection-items/")
    assert items.status_code == 200
    assert "律师事务所执业情况抽查" in items.content.decode() and "5%" in items.content.decode()
    assert anonymous.get("/public/inspection-items/?after=-1").status_code == 400

    today = timezone.localdate()
    old = RecordList.objects.create(
        name="旧清单", effective_from=today - datetime.timedelta(days=400)
    )
    current = RecordList.objects.create(
        name="现行清单", effective_from=today - datetime.timedelta(days=10)
    )
    RecordList.objects.create(name="未来清单", effective_from=today + datetime.timedelta(days=5))
    for version, item in ((old, "旧事项"), (current, "现场检查全过程")):
        RecordRule.objects.create(
            record_list=version,
            category="行政检查",
            stage="现场检查",
            item=item,
            start_text="进入检查场所时",
            stop_text="离开检查场所时",
            start_moment="enter_site",
            stop_moment="leave_site",
            full_process=True,
        )
    page = anonymous.get("/public/record-list/").content.decode()
    assert "现场检查全过程" in page and "旧事项" not in page
    assert current.effective_from.isoformat() in page


def test_remedies_and_complaint_channels_are_written_by_staff_and_public_at_once(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries
) -> None:
    from backend.publication.models import PublicNotice

    own, other = bureaus
    staff = own.client("legal_officer")
    assert staff.get("/publication/notices/").status_code == 200
    assert own.client("field_officer").get("/publication/notices/").status_code == 403
    saved = staff.post(
        "/publication/notices/",
        {"remedies": "可在六十日内向县人民政府申请行政复议", "complaints": "监督电话 0355-1234567"},
    )
    assert saved.status_code == 302
    too_long = staff.post("/publication/notices/", {"remedies": "复" * 4001, "complaints": ""})
    assert too_long.status_code == 400
    assert PublicNotice.objects.get(unit=own.unit).remedies.startswith("可在六十日内")
    other.client().post("/publication/notices/", {"remedies": "乙县复议", "complaints": ""})
    with django_assert_max_num_queries(3):
        page = Client().get("/public/notices/").content.decode()
    assert "监督电话 0355-1234567" in page and "乙县复议" in page and own.unit.name in page
    assert "/public/notices/" in Client().get("/public/").content.decode()
