"""The coverage reports page (issue 16 item 3): compliance and activation by month and by
unit as charts with axes, units and a table; the officers' table; export buttons that
return the API's workbooks; bad dates come back as a 400 with the reason in Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import Role
from tests.review.conftest import World, make_activity

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

REPORT_QUERY_BUDGET = 20


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_report_page_charts_officer_table_and_exports(world: World) -> None:
    make_activity(world)
    supervisor = _client(world.users[Role.SUPERVISOR])
    with CaptureQueriesContext(connection) as queries:
        response = supervisor.get("/coverage/reports/")
    assert response.status_code == 200
    assert len(queries) <= REPORT_QUERY_BUDGET, len(queries)
    html = response.content.decode()
    month = timezone.localdate().strftime("%Y-%m")
    # Two charts with axes, the unit on the y axis, and their tables.
    assert html.count('class="axis"') == 4 and html.count("比率（%）") == 2
    assert 'id="month-chart-table"' in html and 'id="unit-chart-table"' in html
    assert f'<th scope="row">{month}</th>' in html
    assert world.office.name in html
    # The fixture's activity: two officers, one recorded (late, early stop), one nothing:
    # decided and not compliant, recorded (any recording) — 0 % compliance, 100 % activation.
    assert 'id="overall-compliance">0 %' in html and 'id="overall-activation">100 %' in html
    table = html.split('id="officer-table"', 1)[1]
    assert "王执法" in table and "赵协查" in table
    assert "style=" not in html.split("<main>", 1)[1]
    export = html.split("/api/coverage/reports/officers?", 1)[1].split('"', 1)[0]
    workbook = supervisor.get("/api/coverage/reports/officers?" + export.replace("&amp;", "&"))
    assert workbook.status_code == 200
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats")


def test_report_page_refuses_bad_dates_and_other_roles(world: World) -> None:
    supervisor = _client(world.users[Role.SUPERVISOR])
    bad = supervisor.get("/coverage/reports/?date_from=2026-05-01&date_to=2026-04-01")
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()
    assert 'value="2026-05-01"' in bad.content.decode()
    garbage = supervisor.get("/coverage/reports/?date_from=yesterday&unit=x")
    assert garbage.status_code == 400
    officer = _client(world.users[Role.FIELD_OFFICER])
    assert officer.get("/coverage/reports/").status_code == 403
    # Another bureau's supervisor does not see this bureau's units in the choices.
    outsider = _client(world.other_users[Role.SUPERVISOR])
    assert world.office.name not in outsider.get("/coverage/reports/").content.decode()
