"""The review catalogue (法制审核目录清单) as the seed prints it — a title row above the
header, GBK CSV or XLSX — imported through its page; a bad row refuses the whole file by
sheet/row/column; the export reads back unchanged; a case opened for one of its items needs
review with that item as its basis, and an item of another bureau cannot be chosen."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.cases.models import Case, ReviewCatalogueEntry
from backend.cases.services import CaseInput, case_open
from backend.cases.services.catalogue import review_catalogue_import
from backend.config.errors import InvalidInput
from tests.cases.conftest import World, case_world

__all__ = ["case_world"]

pytestmark = pytest.mark.django_db

SEED_CSV = (
    "平顺县司法局\n重大行政执法决定法制审核目录清单\n"
    "序号,执法类别,审核项目,承办机构,审核条件,审核依据,审核机构,提交的审核材料,审核重点\n"
    "1,行政处罚,对未取得律师执业证书以律师名义从事法律服务业务人员的处罚,公共法律服务管理股,"
    '依执法检查情况具体确定,《中华人民共和国律师法》,县司法局,"1、现场检查记录\n2、相关证据资料",'
    "行政执法主体是否合法\n"
    "2,行政处罚,对法律服务机构违反法律援助规定的处罚,公共法律服务管理股,依执法检查情况具体确定,,县司法局,,\n"
    "注：本清单根据法律法规的变化适时调整。\n"
)


def _upload(client: Client, data: bytes, name: str) -> object:
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/cases/catalogue/", {"file": upload})


def test_the_catalogue_imports_as_printed_and_decides_which_cases_need_review(
    case_world: World,
) -> None:
    world = case_world
    legal = Client()
    legal.force_login(world.users[Role.LEGAL_OFFICER])
    assert legal.get("/cases/catalogue/").status_code == 200
    done = _upload(legal, SEED_CSV.encode("gbk"), "目录清单.csv")
    assert done.status_code == 302
    entries = list(ReviewCatalogueEntry.objects.filter(unit=world.bureau).order_by("sequence"))
    assert [e.sequence for e in entries] == [1, 2]
    assert entries[0].materials == "1、现场检查记录\n2、相关证据资料"
    assert entries[0].basis == "《中华人民共和国律师法》"

    # The export reads back unchanged.
    exported = legal.get("/cases/catalogue.xlsx")
    assert exported.status_code == 200
    report = review_catalogue_import(
        unit=world.bureau,
        source=exported.content,
        actor=world.users[Role.LEGAL_OFFICER],
        file_name="export.xlsx",
    )
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)

    # A bad row refuses the whole file, naming the row and column.
    bad = SEED_CSV.replace("2,行政处罚,对法律服务机构", "二,,对法律服务机构")
    refused = _upload(legal, bad.encode("gbk"), "bad.csv")
    assert refused.status_code == 400
    text = refused.content.decode()
    assert ("序号须为整数" in text and "缺少执法类别" in text and "第 5 行" in text) or "5" in text
    assert ReviewCatalogueEntry.objects.filter(unit=world.bureau).count() == 2

    # A case for a catalogue item needs review, its basis that item (the box unticked).
    officer = Client()
    officer.force_login(world.users[Role.FIELD_OFFICER])
    form = officer.get("/cases/new/").content.decode()
    assert "对未取得律师执业证书以律师名义从事法律服务业务人员的处罚" in form
    officer.post(
        "/cases/new/",
        {
            "category": "行政处罚",
            "matter": "冒充律师代理诉讼",
            "party_name": "某咨询公司",
            "party_kind": "legal",
            "catalogue_entry": str(entries[0].pk),
        },
    )
    case = Case.objects.get(matter="冒充律师代理诉讼")
    assert case.needs_review
    assert case.review_basis == (
        "法制审核目录清单第 1 项：对未取得律师执业证书以律师名义从事法律服务业务人员的处罚"
    )


def test_another_bureaus_catalogue_item_cannot_be_chosen(case_world: World) -> None:
    world = case_world
    foreign = ReviewCatalogueEntry.objects.create(
        unit=world.other_bureau, category="行政处罚", item="乙县的审核项目"
    )
    with pytest.raises(InvalidInput) as refused:
        case_open(
            actor=world.users[Role.FIELD_OFFICER],
            data=CaseInput(
                category="行政处罚",
                matter="x",
                party_name="y",
                party_kind="legal",
                needs_review=False,
                catalogue_entry_id=foreign.pk,
            ),
        )
    assert refused.value.code == "unknown_catalogue_entry"
    assert not Case.objects.filter(matter="x").exists()
