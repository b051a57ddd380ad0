"""The audit log reads as sentences: every event the code base files has words, names are
resolved (people, devices, recordings), the page filters by date, actor and object, walks by
sequence without counting the log, and exports what it shows."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.audit.services import Actor, audit_record
from backend.review.audit_wording import OBJECT_KINDS, VERBS, describe
from tests.paths import REPO_ROOT
from tests.review.conftest import World

pytestmark = pytest.mark.integration

_ACTION = re.compile(r'action=f?"([a-z_]+\.[a-z_.{}]+)"')


def _actions_in_the_code() -> set[str]:
    found: set[str] = set()
    for folder in ("backend", "sync", "ops"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found |= set(_ACTION.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_event_the_code_files_has_words() -> None:
    actions = _actions_in_the_code()
    assert len(actions) > 60
    templated = {a for a in actions if "{" in a}
    assert templated == {"recording.processing_{state}"}
    missing = sorted(a for a in actions - templated if a not in VERBS)
    assert not missing, f"audit actions without words in backend/review/audit_wording.py: {missing}"
    for state in ("pending", "processing", "ready", "damaged", "failed"):
        assert f"recording.processing_{state}" in VERBS
    object_types: set[str] = set()
    for folder in ("backend", "sync"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            object_types |= set(
                re.findall(r'object_type="([a-z_]+)"', path.read_text(encoding="utf-8"))
            )
    assert not sorted(t for t in object_types if t not in OBJECT_KINDS)


def test_events_read_as_sentences_with_names(world: World) -> None:
    own = world.recordings["own"]
    supervisor = world.users[Role.SUPERVISOR]
    supervisor.first_name, supervisor.last_name = "监督", "赵"
    supervisor.save(update_fields=["first_name", "last_name"])
    audit_record(
        actor=Actor.user(supervisor),
        action="recording.viewed",
        object_type="recording",
        object_id=str(own.pk),
        data={"purpose": "复查", "reason": '=HYPERLINK("x")'},
    )
    audit_record(
        actor=Actor.device(world.device),
        action="upload.created",
        object_type="upload",
        object_id="u-9",
        data={},
    )
    events = list(AuditEvent.objects.order_by("-sequence")[:2])
    with CaptureQueriesContext(connection) as queries:
        upload, viewed = describe(events)
    assert len(queries) <= 8
    assert viewed.actor.startswith("赵监督（监督人员）") or viewed.actor.startswith("监督 赵")
    assert viewed.verb == "查看音像记录"
    assert viewed.object_title == own.file_name and viewed.object_url == f"/recordings/{own.pk}/"
    assert ("事由", "复查") in viewed.details
    assert str(world.device.serial) in upload.actor and "王执法" in upload.actor
    assert upload.verb == "开始上传"
    assert "recording." not in viewed.sentence and "用户 " not in viewed.sentence


@pytest.mark.clock
def test_the_audit_page_filters_walks_by_sequence_and_exports(
    world: World, django_assert_max_num_queries: object
) -> None:
    auditor = world.users[Role.AUDITOR]
    client = Client()
    client.force_login(auditor)
    for number in range(30):
        audit_record(
            actor=Actor.user(auditor),
            action="access_register.exported",
            object_type="access_register",
            object_id="",
            data={"rows": number},
        )
    page = client.get("/audit/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "导出查阅登记簿" in html and "access_register.exported</td>" not in html
    older = re.search(r'href="\?([^"]*before=\d+[^"]*)" id="audit-older"', html)
    assert older
    second = client.get("/audit/?" + older.group(1).replace("&amp;", "&")).content.decode()
    first_seq = max(int(n) for n in re.findall(r'<tr class="event"[^>]*><td>(\d+)</td>', html))
    second_seqs = [int(n) for n in re.findall(r'<tr class="event"[^>]*><td>(\d+)</td>', second)]
    assert second_seqs and max(second_seqs) < first_seq - 20

    today = timezone.localdate()
    by_actor = client.get(
        f"/audit/?action=access_&actor={auditor.username}&date_from={today}&date_to={today}"
    ).content.decode()
    assert by_actor.count('<tr class="event"') == 25
    yesterday = today - datetime.timedelta(days=1)
    none = client.get(f"/audit/?date_from={yesterday}&date_to={yesterday}").content.decode()
    assert 'class="event"' not in none

    with django_assert_max_num_queries(12):  # type: ignore[operator]
        client.get("/audit/?action=access_")

    workbook = client.get(f"/audit.xlsx?action=access_&actor={auditor.username}")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(workbook.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "时间", "操作者", "事件")
    assert len(rows) == 31 and all(row[3] == "导出查阅登记簿" for row in rows[1:])
    assert client.get("/audit.xlsx?date_from=not-a-date").status_code == 200

    other = Client()
    other.force_login(world.users[Role.SUPERVISOR])
    assert other.get("/audit.xlsx").status_code == 403


def test_every_source_file_is_read(tmp_path: Path) -> None:
    # The scanner really finds actions (a guard against a pattern that matches nothing).
    sample = tmp_path / "x.py"
    sample.write_text('audit_record(action="thing.done")\n')
    assert _ACTION.findall(sample.read_text()) == ["thing.done"]
