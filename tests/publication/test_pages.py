"""The public site and the staff pages: sign-in rules, query budgets, bad input as a 4xx,
an excluded or withdrawn party never on any public page or feed, the inspection hook."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.publication.models import ItemState, PublicItem
from backend.publication.services import items as services
from tests.publication.conftest import (
    PARTY,
    PARTY_ADDRESS,
    PARTY_ID,
    PARTY_PHONE,
    Bureau,
    offer,
    penalty_offer,
)

pytestmark = pytest.mark.django_db


def _bodies(client: Client, *paths: str) -> str:
    texts = []
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        texts.append(response.content.decode())
    return "\n".join(texts)


def test_public_pages_need_no_sign_in_and_never_show_a_secret(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, other = bureaus
    shown = services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    minor = offer(penalty_offer(own.unit, party="王小明", minor=True))
    excluded = services.public_item_exclude(
        item_id=offer(penalty_offer(own.unit, party="赵秘密")).pk,
        ground="secret",
        reason="个人隐私",
        approver=own.supervisor,
    )
    withdrawn = services.public_item_publish(
        item_id=offer(penalty_offer(other.unit, party="钱撤销")).pk, actor=other.legal
    )
    services.public_item_withdraw(item_id=withdrawn.pk, reason="决定已撤销", actor=other.legal)
    pending = offer(penalty_offer(own.unit, party="孙待定"))
    anonymous = Client()
    with django_assert_max_num_queries(4):
        index = anonymous.get("/public/")
    assert index.status_code == 200
    assert "public" in index["Cache-Control"]
    with django_assert_max_num_queries(3):
        detail = anonymous.get(f"/public/items/{shown.pk}/")
    assert detail.status_code == 200 and "张某" in detail.content.decode()
    notice = anonymous.get(f"/public/items/{withdrawn.pk}/").content.decode()
    assert "决定已撤销" in notice and "钱某" not in notice
    everything = _bodies(
        anonymous,
        "/public/",
        "/public/?category=penalty",
        f"/public/?year={timezone.localdate().year}",
        *(f"/public/items/{item.pk}/" for item in (shown, minor, excluded, withdrawn, pending)),
        "/api/publication/items",
        "/api/inspections/published",
    )
    for secret in (
        PARTY,
        PARTY_ID,
        PARTY_ADDRESS,
        PARTY_PHONE,
        "王小明",
        "王某",
        "赵秘密",
        "赵某",
        "钱撤销",
        "孙待定",
        "孙某",
    ):
        assert secret not in everything, secret
    # Searching for the full name or the identity number finds nothing (the search reads
    # the de-identified text only); the masked name finds the item.
    for query in (PARTY, PARTY_ID, "赵秘密", "钱"):
        assert anonymous.get("/public/", {"q": query}).content.decode().count("/public/items/") == 0
        assert anonymous.get("/api/publication/items", {"q": query}).json()["items"] == []
    assert anonymous.get("/public/", {"q": "张某"}).content.decode().count("/public/items/") == 1
    # Bad input: a precise 400, never a 500.
    for query in ("?year=abc", "?year=1999", "?category=nope", "?after=garbage"):
        assert anonymous.get(f"/public/{query}").status_code == 400, query
    assert anonymous.get("/api/publication/items?category=nope").status_code == 400
    assert anonymous.get("/api/publication/items?cursor=x_y").status_code == 400


def test_public_index_pages_by_keyset(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, _other = bureaus
    ids = [
        services.public_item_publish(
            item_id=offer(penalty_offer(own.unit, party=f"单位{i}", natural=False)).pk,
            actor=own.legal,
        ).pk
        for i in range(55)
    ]
    client = Client()
    seen: list[str] = []
    page = client.get("/api/publication/items").json()
    while True:
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        with django_assert_max_num_queries(2):
            page = client.get("/api/publication/items", {"cursor": page["next_cursor"]}).json()
    assert sorted(seen) == sorted(str(i) for i in ids) and len(seen) == 55
    html = client.get("/public/").content.decode()
    assert 'rel="next"' in html


def test_staff_publish_exclude_withdraw_through_the_pages(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, other = bureaus
    first = offer(penalty_offer(own.unit))
    second = offer(penalty_offer(own.unit, party="周某某"))
    theirs = offer(penalty_offer(other.unit))
    legal = own.client(Role.LEGAL_OFFICER)
    with django_assert_max_num_queries(12):
        page = legal.get("/publication/")
    assert page.status_code == 200
    text = page.content.decode()
    assert str(first.pk) in text and str(theirs.pk) not in text
    assert legal.post(f"/publication/items/{first.pk}/publish/").status_code == 302
    assert legal.post(f"/publication/items/{theirs.pk}/publish/").status_code == 404
    # Exclusion is the leader's (the supervisor's) decision.
    assert (
        legal.post(
            f"/publication/items/{second.pk}/exclude/", {"ground": "secret", "reason": "隐私"}
        ).status_code
        == 403
    )
    supervisor = own.client()
    assert (
        supervisor.post(
            f"/publication/items/{second.pk}/exclude/", {"ground": "secret", "reason": ""}
        ).status_code
        == 400
    )
    assert (
        supervisor.post(
            f"/publication/items/{second.pk}/exclude/", {"ground": "secret", "reason": "隐私"}
        ).status_code
        == 302
    )
    assert (
        supervisor.post(f"/publication/items/{first.pk}/withdraw/", {"reason": ""}).status_code
        == 400
    )
    assert (
        supervisor.post(
            f"/publication/items/{first.pk}/withdraw/", {"reason": "决定被确认违法"}
        ).status_code
        == 302
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (ItemState.WITHDRAWN, ItemState.EXCLUDED)
    assert own.client(Role.FIELD_OFFICER).get("/publication/").status_code == 403
    assert Client().get("/publication/").status_code == 302


def test_yearly_report_page_and_workbook(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, other = bureaus
    for _ in range(2):
        services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    services.public_item_publish(item_id=offer(penalty_offer(other.unit)).pk, actor=other.legal)
    year = timezone.localdate().year
    client = own.client(Role.LEGAL_OFFICER)
    with django_assert_max_num_queries(10):
        assert client.get(f"/publication/report/{year}/").status_code == 200
    response = client.get(f"/publication/report/{year}.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert str(year) in sheet["A1"].value
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A3:A4", "B3:B4", "C3:E3", "F3:F4"} <= merged
    rows = {
        sheet.cell(r, 2).value: [sheet.cell(r, c).value for c in range(3, 7)] for r in range(5, 11)
    }
    assert rows["已公示"] == [2, 0, 0, 2]  # the other bureau's item is not ours
    assert rows["按期公示"] == [2, 0, 0, 2]
    assert client.get("/publication/report/1999/").status_code == 400
    assert client.get(f"/publication/report/{year + 1}.xlsx").status_code == 400


def test_inspection_result_is_offered_and_published_back(
    bureaus: tuple[Bureau, Bureau], django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    from backend.inspections.models import (
        Inspection,
        InspectionInspector,
        InspectionItem,
        InspectionTarget,
    )
    from backend.inspections.services import InspectionResultInput, inspection_record_result
    from tests.factories import make_officer

    own, _other = bureaus
    item = InspectionItem.objects.create(
        unit=own.unit,
        inspecting_body="县司法局",
        name="律师事务所执业活动检查",
        legal_basis="《律师事务所管理办法》",
        content="执业档案",
        methods="现场检查",
        target_type="律师事务所",
        ratio_percent=10,
    )
    target = InspectionTarget.objects.create(
        unit=own.unit, name="某某律师事务所", target_type="律师事务所", address="柳河街1号"
    )
    inspection = Inspection.objects.create(item=item, target=target, unit=own.unit)
    officer = make_officer(own.unit, name="检查员")
    InspectionInspector.objects.create(
        inspection=inspection,
        officer=officer,
        certificate_number=officer.certificate_number,
        certificate_valid_until=officer.certificate_valid_until,
        drawn_on=timezone.localdate(),
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        inspection_record_result(
            record_id=inspection.pk,
            officer=officer,
            device=None,
            values=InspectionResultInput(
                arrived_at=now - datetime.timedelta(hours=2),
                departed_at=now - datetime.timedelta(hours=1),
                device_arrived_at=None,
                device_departed_at=None,
                findings="执业档案不全",
                rectification_required=False,
                rectification_deadline=None,
                photo_recording_ids=(),
            ),
        )
    inspection.refresh_from_db()
    public = PublicItem.objects.get(source="inspections.inspection", source_key=str(inspection.pk))
    assert public.publish_by == inspection.publish_by  # the same 20 working days
    assert public.category == "inspection"
    with django_capture_on_commit_callbacks(execute=True):
        response = own.client(Role.LEGAL_OFFICER).post(f"/publication/items/{public.pk}/publish/")
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.published_at is not None
    page = Client().get(f"/public/items/{public.pk}/").content.decode()
    assert "执业档案不全" in page and "柳河街1号" not in page


def test_public_site_in_english(bureaus: tuple[Bureau, Bureau]) -> None:
    own, _other = bureaus
    item = services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    client = Client(headers={"Accept-Language": "en"})
    index = client.get("/public/").content.decode()
    assert "Published enforcement decisions and results" in index
    assert "Administrative penalty decision" in index
    assert 'lang="en"' in index
    assert "Party" in client.get(f"/public/items/{item.pk}/").content.decode()
    chinese = Client().get("/public/").content.decode()
    assert "行政执法决定（结果）公示" in chinese and 'lang="zh-Hans"' in chinese
    # The switch is a link; the choice is kept in the language cookie.
    switch = Client()
    answer = switch.get("/public/language/en/", {"next": f"/public/items/{item.pk}/"})
    assert answer.status_code == 302 and answer["Location"] == f"/public/items/{item.pk}/"
    assert "Party" in switch.get(f"/public/items/{item.pk}/").content.decode()
    assert switch.get("/public/language/en/", {"next": "https://evil.example/"})["Location"] == (
        "/public/"
    )
    assert switch.get("/public/language/xx/").status_code == 400


def test_public_pages_are_cached_until_an_item_changes(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, _other = bureaus
    item = services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    client = Client()
    first = client.get(f"/public/items/{item.pk}/")
    assert "csrftoken" not in first.cookies and "Set-Cookie" not in first
    with django_assert_max_num_queries(1):  # the generation only
        again = client.get(f"/public/items/{item.pk}/")
    assert again.content == first.content
    services.public_item_withdraw(item_id=item.pk, reason="决定已撤销", actor=own.legal)
    after = client.get(f"/public/items/{item.pk}/").content.decode()
    assert "决定已撤销" in after and "警告，罚款五千元" not in after


def test_generation_is_read_once_a_second_and_forgotten_after_a_change(
    bureaus: tuple[Bureau, Bureau],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    from backend.publication import selectors

    own, _other = bureaus
    monkeypatch.setattr(selectors, "GENERATION_SECONDS", 60.0)
    with django_capture_on_commit_callbacks(execute=True):
        item = services.public_item_publish(
            item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal
        )
    first = selectors.public_generation()
    with django_assert_num_queries(0):
        assert selectors.public_generation() == first
    with django_capture_on_commit_callbacks(execute=True):
        services.public_item_withdraw(item_id=item.pk, reason="撤销", actor=own.legal)
    assert selectors.public_generation() != first  # this process forgot it on commit


def test_filed_report_never_changes(bureaus: tuple[Bureau, Bureau]) -> None:
    from backend.publication.models import YearlyReportFiling

    own, _other = bureaus
    services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    year = timezone.localdate().year
    legal = own.client(Role.LEGAL_OFFICER)
    page = legal.get(f"/publication/report/{year}/").content.decode()
    assert 'id="file-report"' in page
    hand = {
        "training_sessions": 4,
        "training_attendance": 120,
        "campaigns": 9,
        "normative_documents": 2,
        "complaints": 5,
        "reconsiderations": 1,
        "lawsuits": 0,
    }
    assert (
        legal.post(f"/publication/report/{year}/file/", {**hand, "lawsuits": -1}).status_code == 400
    )
    # Filing is the legal officer's (第四条), not the supervisor's.
    assert own.client().post(f"/publication/report/{year}/file/", hand).status_code == 403
    assert legal.post(f"/publication/report/{year}/file/", hand).status_code == 302
    frozen = legal.get(f"/publication/report/{year}.xlsx").content
    # Later activity does not change the filed report; a second filing is refused.
    services.public_item_publish(item_id=offer(penalty_offer(own.unit)).pk, actor=own.legal)
    assert legal.post(f"/publication/report/{year}/file/", hand).status_code == 409
    page = legal.get(f"/publication/report/{year}/").content.decode()
    assert 'id="report-filed"' in page and 'id="file-report"' not in page
    sheet = load_workbook(io.BytesIO(frozen)).worksheets[0]
    again = load_workbook(io.BytesIO(legal.get(f"/publication/report/{year}.xlsx").content))
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert values == [[c.value for c in row] for row in again.worksheets[0].iter_rows(min_row=3)]
    published_row = next(r for r in values if r[1] == "已公示")
    assert published_row[2] == 1  # as filed, not the 2 published since
    assert 120 in [r[-1] for r in values]
    assert YearlyReportFiling.objects.get(year=year, unit=own.unit).snapshot["hand_entered"] == hand


def test_public_officer_roster_lists_certified_officers_only(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    from backend.accounts.models import Officer
    from tests.factories import make_officer

    own, _other = bureaus
    certified = make_officer(own.unit, name="持证甲", certificate_number="14042500001")
    make_officer(own.unit, name="过期乙", valid_days=-1, certificate_number="14042500002")
    Officer.objects.create(name="无证丙", unit=own.unit)
    client = Client()
    with django_assert_max_num_queries(3):
        html = client.get("/public/officers/").content.decode()
    assert "持证甲" in html and "14042500001" in html
    assert "过期乙" not in html and "无证丙" not in html
    # A change of the roster shows at once (the roster's own cache generation).
    Officer.objects.filter(pk=certified.pk).update(
        certificate_valid_until=timezone.localdate() - datetime.timedelta(days=1),
        updated_at=timezone.now(),
    )
    assert "持证甲" not in client.get("/public/officers/").content.decode()
    assert client.get("/public/officers/?after=x").status_code == 400
