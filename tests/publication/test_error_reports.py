"""纠错 through the pages: the public reports an inaccuracy under a published item (no
sign-in; a refused form keeps what was typed; throttled per address), staff of the item's
unit correct the named field (the public text is derived again: the name masked, the
identity number withheld) or answer that it was accurate, and the reporter's ticket shows
the outcome. Another unit's staff cannot handle it; a pending item takes no report."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, override_settings

from backend.audit.models import AuditEvent
from backend.publication.models import ErrorReport, PublicItem, PublicItemVersion, ReportState
from backend.publication.services.items import public_item_publish
from tests.publication.conftest import PARTY, PARTY_ID, Bureau, offer, penalty_offer

pytestmark = pytest.mark.django_db


def _published(bureau: Bureau) -> PublicItem:
    item = offer(penalty_offer(bureau.unit))
    return public_item_publish(item_id=item.pk, actor=bureau.supervisor)


def test_a_report_is_corrected_and_the_ticket_shows_it(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries
) -> None:
    own, other = bureaus
    item = _published(own)
    public = Client(REMOTE_ADDR="203.0.113.7")
    page = public.get(f"/public/items/{item.pk}/").content.decode()
    assert f"/public/items/{item.pk}/report/" in page

    refused = public.post(f"/public/items/{item.pk}/report/", {"text": " ", "contact": "王先生"})
    assert refused.status_code == 400
    assert "请写明哪里不准确" in refused.content.decode()
    assert 'value="王先生"' in refused.content.decode()  # what was typed is kept

    sent = public.post(
        f"/public/items/{item.pk}/report/",
        {"text": "处罚结果应为罚款三千元", "contact": "王先生 139"},
    )
    assert sent.status_code == 302
    ticket_url = sent["Location"]
    report = ErrorReport.objects.get()
    assert ticket_url == f"/public/reports/{report.pk}/"
    assert "待核查" in public.get(ticket_url).content.decode()

    # Staff of another unit neither see nor handle it; the unit's supervisor corrects.
    assert f"report-{report.pk}" not in other.client().get("/publication/reports/").content.decode()
    foreign = other.client().post(
        f"/publication/reports/{report.pk}/handle/",
        {"outcome": "corrected", "field": "处罚结果", "value": "x", "note": "x"},
    )
    assert foreign.status_code == 404
    staff = own.client()
    with django_assert_max_num_queries(12):
        queue = staff.get("/publication/reports/").content.decode()
    assert f"report-{report.pk}" in queue and "处罚结果应为罚款三千元" in queue
    done = staff.post(
        f"/publication/reports/{report.pk}/handle/",
        {
            "outcome": "corrected",
            "field": "处罚结果",
            "value": f"警告，罚款三千元（{PARTY}，身份证号 {PARTY_ID}）",
            "note": "经核查，决定书载明罚款三千元，已更正。",
        },
    )
    assert done.status_code == 302
    item.refresh_from_db()
    fields = dict(item.public_fields)
    assert fields["处罚结果"].startswith("警告，罚款三千元")
    assert PARTY not in fields["处罚结果"] and PARTY_ID not in fields["处罚结果"]
    assert PublicItemVersion.objects.filter(item=item, action="corrected").exists()
    ticket = public.get(ticket_url).content.decode()
    assert "已更正" in ticket and "决定书载明罚款三千元" in ticket
    assert "罚款三千元" in Client().get(f"/public/items/{item.pk}/").content.decode()
    again = staff.post(
        f"/publication/reports/{report.pk}/handle/", {"outcome": "no_error", "note": "再次"}
    )
    assert again.status_code == 409
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "public_item.error_reported",
        "public_item.corrected",
        "public_item.error_report_handled",
    } <= actions


def test_an_accurate_item_is_answered_and_staff_mistakes_are_refused(
    bureaus: tuple[Bureau, Bureau],
) -> None:
    own, _other = bureaus
    item = _published(own)
    Client().post(f"/public/items/{item.pk}/report/", {"text": "日期不对", "contact": ""})
    report = ErrorReport.objects.get()
    staff = own.client()
    no_note = staff.post(f"/publication/reports/{report.pk}/handle/", {"outcome": "no_error"})
    assert no_note.status_code == 400
    no_field = staff.post(
        f"/publication/reports/{report.pk}/handle/",
        {"outcome": "corrected", "field": "不存在的项目", "value": "x", "note": "x"},
    )
    assert no_field.status_code == 400
    report.refresh_from_db()
    assert report.state == ReportState.OPEN  # nothing half-written
    staff.post(
        f"/publication/reports/{report.pk}/handle/",
        {"outcome": "no_error", "note": "经核对决定书，处罚时间无误。"},
    )
    report.refresh_from_db()
    assert report.state == ReportState.NO_ERROR
    assert "经核查无误" in Client().get(f"/public/reports/{report.pk}/").content.decode()


@override_settings(FV_PUBLIC_REPORTS_PER_HOUR=2)
def test_reports_are_throttled_per_address_and_need_a_published_item(
    bureaus: tuple[Bureau, Bureau],
) -> None:
    own, _other = bureaus
    item = _published(own)
    crowd = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(2):
        assert (
            crowd.post(f"/public/items/{item.pk}/report/", {"text": f"第{n}条"}).status_code == 302
        )
    throttled = crowd.post(f"/public/items/{item.pk}/report/", {"text": "第三条"})
    assert throttled.status_code == 429 and "一小时后再试" in throttled.content.decode()
    neighbour = Client(REMOTE_ADDR="198.51.100.10")
    assert neighbour.post(f"/public/items/{item.pk}/report/", {"text": "另一人"}).status_code == 302
    pending = offer(penalty_offer(own.unit))
    assert neighbour.get(f"/public/items/{pending.pk}/report/").status_code == 404
    assert neighbour.get(f"/public/reports/{uuid.uuid4()}/").status_code == 404
    assert ErrorReport.objects.count() == 3
