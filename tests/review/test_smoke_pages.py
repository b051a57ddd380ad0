"""Every page renders for a supervisor; the recording page registers the view."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.review.models import AccessRegisterEntry
from tests.review.conftest import World

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_supervisor_pages_render(world: World) -> None:
    client = signed_in(world.users["supervisor"])
    for url in ["/", "/recordings/", "/activities/", "/access/", "/register/"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:500])
    own = world.recordings["own"]
    response = client.get(f"/recordings/{own.pk}/")
    assert response.status_code == 200, response.content[:1000]
    assert own.sha256 in response.content.decode()
    entry = AccessRegisterEntry.objects.get(recording=own)
    assert entry.user == world.users["supervisor"] and entry.action == "view"


def test_english_is_the_second_language(world: World) -> None:
    client = signed_in(world.users["supervisor"])
    assert "工作台" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Dashboard" in page and "Access register" in page and "工作台" not in page


def test_dashboard_lists_backlog_and_damaged_recordings(world: World) -> None:
    import datetime

    from django.utils import timezone

    from backend.footage.models import Recording, RecordingProcessing
    from tests.review.conftest import store_recording

    late = store_recording(device=world.device, officer=world.officer, state="announced")
    Recording.objects.filter(pk=late.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=30)
    )
    RecordingProcessing.objects.create(recording=world.recordings["own"], state="damaged")
    page = signed_in(world.users["supervisor"]).get("/").content.decode()
    backlog = page[page.index('id="backlog"') : page.index('id="damaged"')]
    assert "王执法" in backlog and '<td class="num">1</td>' in backlog
    damaged = page[page.index('id="damaged"') :]
    assert f"/recordings/{world.recordings['own'].pk}/" in damaged
    other = signed_in(world.other_users["supervisor"]).get("/").content.decode()
    assert "王执法" not in other
    # A field officer opening it is no look; the supervisor opening it is, and it leaves.
    own = world.recordings["own"]
    signed_in(world.users["field_officer"]).get(f"/recordings/{own.pk}/")
    page = signed_in(world.users["supervisor"]).get("/").content.decode()
    assert f"/recordings/{own.pk}/" in page[page.index('id="damaged"') :]
    signed_in(world.users["supervisor"]).get(f"/recordings/{own.pk}/")
    page = signed_in(world.users["supervisor"]).get("/").content.decode()
    assert f"/recordings/{own.pk}/" not in page[page.index('id="damaged"') :]
