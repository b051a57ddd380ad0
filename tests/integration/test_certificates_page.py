"""持证上岗: the page of officers whose certificate is missing, expired or expiring soon."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Role, UnitKind
from tests.factories import make_officer, make_unit, make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def signed_in(role: str, unit) -> Client:  # type: ignore[no-untyped-def]
    user = make_user(role=role, unit=unit)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_supervisor_sees_own_units_officers_without_a_valid_certificate_soon() -> None:
    bureau = make_unit("甲县司法局")
    office = make_unit("城关司法所", kind=UnitKind.OFFICE, parent=bureau)
    other = make_unit("乙县司法局")
    make_officer(office, name="到期甲", valid_days=30)
    make_officer(office, name="过期乙", valid_days=-1)
    make_officer(office, name="长期丙", valid_days=400)
    make_officer(office, name="临界丁", valid_days=90)
    make_officer(other, name="外县戊", valid_days=10)
    client = signed_in(Role.SUPERVISOR, bureau)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/officers/certificates/")
    assert response.status_code == 200
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    page = response.content.decode()
    assert "到期甲" in page and "过期乙" in page and "临界丁" in page
    assert "长期丙" not in page and "外县戊" not in page
    assert "执法证已过期" in page and "30 天后到期" in page
    # Expired first (soonest date first), the date as the product computes it (local).
    assert page.index("过期乙") < page.index("到期甲") < page.index("临界丁")
    soon = timezone.localdate() + datetime.timedelta(days=30)
    assert soon.isoformat() in page


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.FIELD_OFFICER, 403),
        (Role.CORRECTION_OFFICER, 403),
        (Role.STORAGE_ADMIN, 403),
        (Role.AUDITOR, 403),
        (Role.SUPERVISOR, 200),
        (Role.LEGAL_OFFICER, 200),
        (Role.SYSTEM_ADMIN, 200),
    ],
)
def test_who_may_see_the_certificate_page(role: str, status: int) -> None:
    unit = make_unit()
    assert signed_in(role, unit).get("/officers/certificates/").status_code == status
    assert Client().get("/officers/certificates/").status_code == 302  # to sign-in
