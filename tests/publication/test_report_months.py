"""The yearly report page draws cases filed and legal reviews concluded per month
(Asia/Shanghai months; the user's units only), as a chart with its table."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.cases.models import Case, LegalReview, ReviewState
from backend.publication.figures import cases_by_month
from tests.publication.conftest import Bureau

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def _case(bureau: Bureau, day: datetime.date, n: int) -> Case:
    return Case.objects.create(
        unit=bureau.unit,
        year=day.year,
        sequence=n,
        number=f"测司罚〔{day.year}〕{n}号-{bureau.unit.pk}",
        category="行政处罚",
        matter="矩阵",
        party_name="某公司",
        party_kind="legal",
        filed_on=day,
        opened_by=bureau.officer,
    )


def test_cases_and_reviews_by_month(bureaus: tuple[Bureau, Bureau]) -> None:
    own, other = bureaus
    today = timezone.localdate()
    year = today.year
    january, march = datetime.date(year, 1, 15), datetime.date(year, 3, 2)
    first = _case(own, january, 1)
    _case(own, march, 2)
    _case(own, march, 3)
    _case(other, march, 1)
    # An opinion given at 00:30 on 1 March Shanghai time is March's (28/29 Feb in UTC).
    at = timezone.make_aware(datetime.datetime(year, 3, 1, 0, 30))
    LegalReview.objects.create(
        case=first,
        state=ReviewState.OPINION,
        submitted_by=own.officer,
        leader_agreed_by="李局长",
        received_on=january,
        opinion="agree",
        opinion_at=at,
    )
    months = cases_by_month(own.supervisor, year)
    assert [(m.month, m.cases_filed, m.reviews_concluded) for m in months[:3]] == [
        (1, 1, 0),
        (2, 0, 0),
        (3, 2, 1),
    ]
    page = own.client(Role.LEGAL_OFFICER).get(f"/publication/report/{year}/").content.decode()
    assert 'id="cases-chart"' in page and 'id="report-cases"' in page
