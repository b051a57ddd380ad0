"""Recording timeliness for supervisors: median and p90 from a clip's end to its storage,
the share within 24 h, clips not stored after 24 h, silent devices; the SVG chart has its
axes, unit and text alternative; the page pins its queries."""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.devices.models import Device, DeviceAssignment
from backend.footage.models import Recording
from backend.publication.charts import Bar, bar_chart_svg, nice_ceiling
from tests.factories import make_device, make_officer
from tests.publication.conftest import Bureau

pytestmark = pytest.mark.django_db


def _recording(device: Device, ended: datetime.datetime, stored_after_hours: float | None) -> None:
    started = ended - datetime.timedelta(minutes=5)
    Recording.objects.create(
        device=device,
        clip_id=uuid.uuid4().hex,
        file_name="clip.mp4",
        size_bytes=1,
        sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        media_kind="video",
        device_started_at=started,
        device_ended_at=ended,
        started_at=started,
        ended_at=ended,
        state="stored" if stored_after_hours is not None else "announced",
        stored_at=None
        if stored_after_hours is None
        else ended + datetime.timedelta(hours=stored_after_hours),
    )


def test_chart_has_axes_units_and_a_text_alternative() -> None:
    svg = bar_chart_svg(
        chart_id="c",
        title="标题",
        description="说明<script>",
        bars=[Bar("甲所", 10, 26), Bar("乙所", 3)],
        axis_label="小时",
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="c-title">标题</title>' in svg and "说明&lt;script&gt;" in svg
    assert ">小时</text>" in svg
    assert [t for t in re.findall(r">([\d.]+)</text>", svg)][:5] == [
        "0",
        "12.5",
        "25",
        "37.5",
        "50",
    ]
    assert nice_ceiling(26) == 50  # the p90 mark (26) sets the axis end, not the bar (10)
    assert nice_ceiling(0) == 1 and nice_ceiling(7) == 10 and nice_ceiling(2.2) == 2.5


def test_timeliness_page_figures(
    bureaus: tuple[Bureau, Bureau], django_assert_max_num_queries: Any
) -> None:
    own, other = bureaus
    officer = make_officer(own.unit, name="王执法")
    device, _token = make_device(officer=officer)
    Device.objects.filter(pk=device.pk).update(unit=own.unit, last_seen_at=timezone.now())
    ended = timezone.now() - datetime.timedelta(days=3)
    for hours in (2, 10, 30):
        _recording(device, ended, hours)
    _recording(device, ended, None)  # announced, never uploaded
    theirs, _t = make_device(officer=make_officer(other.unit, name="李执法"))
    Device.objects.filter(pk=theirs.pk).update(unit=other.unit)
    _recording(theirs, ended, 1)
    silent_officer = make_officer(own.unit, name="赵执法")
    silent, _t = make_device(officer=silent_officer, serial="SILENT-1")
    Device.objects.filter(pk=silent.pk).update(
        unit=own.unit, last_seen_at=timezone.now() - datetime.timedelta(days=30)
    )
    if not DeviceAssignment.objects.filter(device=silent, ends_at__isnull=True).exists():
        DeviceAssignment.objects.create(
            device=silent,
            officer=silent_officer,
            starts_at=timezone.now() - datetime.timedelta(days=60),
        )
    month = timezone.localtime(ended - datetime.timedelta(minutes=5)).strftime("%Y-%m")
    client = own.client()
    with django_assert_max_num_queries(10):
        response = client.get("/publication/timeliness/", {"month": month})
    assert response.status_code == 200
    html = response.content.decode()
    table = html[html.index('id="timeliness"') :]
    row = re.search(r"<th scope=\"row\">([^<]+)</th>((?:<td>.*?</td>){6})", table)
    assert row is not None and row.group(1) == own.unit.name
    cells = re.findall(r"<td>(.*?)</td>", row.group(2))
    assert cells[:5] == ["4", "3", "10.0", "26.0", "66.7%"]  # percentile_cont: 10 + 0.8 × 20
    assert "1" in cells[5]
    assert other.unit.name not in html  # another bureau's units are not ours
    assert "<svg" in html and "timeliness-chart-title" in html
    silent_table = html[html.index('id="silent-devices"') :]
    assert "SILENT-1" in silent_table and "赵执法" in silent_table
    assert device.serial not in silent_table
    assert client.get("/publication/timeliness/", {"month": "2026-13"}).status_code == 400
    assert own.client(Role.FIELD_OFFICER).get("/publication/timeliness/").status_code == 403

    # Sent for repair (设备台账): no longer an alarm; another bureau's supervisor cannot.
    ledger_url = f"/devices/{silent.pk}/ledger/"
    assert other.client().post(ledger_url, {"ledger": "repair", "note": "x"}).status_code == 404
    no_note = client.post(ledger_url, {"ledger": "repair", "note": " "})
    assert no_note.status_code == 400
    assert own.client(Role.LEGAL_OFFICER).post(ledger_url, {"ledger": "lost"}).status_code == 403
    sent = client.post(ledger_url, {"ledger": "repair", "note": "送修单 2026-118"})
    assert sent.status_code == 302 and sent["Location"] == "/publication/timeliness/"
    silent.refresh_from_db()
    assert (silent.ledger, silent.ledger_note) == ("repair", "送修单 2026-118")
    html = client.get("/publication/timeliness/", {"month": month}).content.decode()
    assert "已登记为：维修" in html  # the message once, then the list without it
    html = client.get("/publication/timeliness/", {"month": month}).content.decode()
    assert "SILENT-1" not in html
    assert AuditEvent.objects.filter(action="device.ledger_changed").exists()
