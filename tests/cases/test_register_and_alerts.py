"""The case register (案卷登记簿) page and XLSX list archived files only, scoped to the unit;
a file closed more than 30 days ago and not archived raises one alert (idempotent)."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.cases.models import Case, CaseStage
from backend.cases.services.case_file import archive_overdue_alerts_raise
from tests.cases.conftest import World, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.mark.clock
def test_an_overdue_archive_is_alerted_once(case_world: World) -> None:
    world = case_world
    today = timezone.localdate()
    late, fresh = open_case(world), open_case(world)
    Case.objects.filter(pk=late.pk).update(
        stage=CaseStage.CLOSED,
        closed_on=today - datetime.timedelta(days=31),
        archive_by=today - datetime.timedelta(days=1),
    )
    Case.objects.filter(pk=fresh.pk).update(
        stage=CaseStage.CLOSED, closed_on=today, archive_by=today + datetime.timedelta(days=30)
    )
    assert archive_overdue_alerts_raise(today=today) == [late.pk]
    assert archive_overdue_alerts_raise(today=today) == []
    assert AuditEvent.objects.filter(action="case.archive_overdue").count() == 1
    leader = Client()
    leader.force_login(world.bureau_head)
    page = leader.get("/cases/supervision/").content.decode()
    assert late.number in page and fresh.number not in page.split("archive-overdue")[1]


def test_the_register_lists_archived_files_of_the_unit(
    case_world: World, django_assert_max_num_queries
) -> None:
    world = case_world
    archived, open_one = open_case(world), open_case(world)
    Case.objects.filter(pk=archived.pk).update(
        stage=CaseStage.ARCHIVED,
        archive_number="平司档〔2026〕7号",
        archived_at=timezone.now(),
        closed_on=timezone.localdate(),
    )
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    with django_assert_max_num_queries(10):
        page = client.get("/cases/register/")
    text = page.content.decode()
    assert "平司档〔2026〕7号" in text and open_one.number not in text
    xlsx = client.get("/cases/register.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["卷宗号", "案号", "当事人", "案由", "承办人员", "结案日期", "归档日期"] in values
    assert any(row[0] == "平司档〔2026〕7号" and "王执法" in row[4] for row in values)
    other = Client()
    other.force_login(world.other_users[Role.SUPERVISOR])
    assert "平司档" not in other.get("/cases/register/").content.decode()


@pytest.mark.clock
def test_due_and_overdue_reviews_show_on_the_dashboard(case_world: World) -> None:
    from backend.cases.models import LegalReview
    from backend.cases.services import review_submit
    from tests.cases.conftest import add_materials

    world = case_world
    today = timezone.localdate()
    cases = [open_case(world) for _ in range(3)]
    reviews = []
    for case in cases:
        add_materials(world, case)
        reviews.append(
            review_submit(
                actor=world.users[Role.FIELD_OFFICER], case_id=case.pk, leader_agreed_by="李局长"
            )
        )
    for review, due in zip(
        reviews,
        (today - datetime.timedelta(days=1), today, today + datetime.timedelta(days=3)),
        strict=True,
    ):
        LegalReview.objects.filter(pk=review.pk).update(due_on=due)
    legal = Client()
    legal.force_login(world.users[Role.LEGAL_OFFICER])
    section = legal.get("/").content.decode().split('id="reviews-due"')[1].split("</section>")[0]
    assert cases[0].number in section and "已逾期" in section
    assert cases[1].number in section and "今日到期" in section
    assert cases[2].number not in section
    other = Client()
    other.force_login(world.other_users[Role.LEGAL_OFFICER])
    assert 'id="reviews-due"' not in other.get("/").content.decode()
