"""The recording page's chain of custody: every audit event about the recording, in order,
including those other apps file under their own objects (uploads, holds, requests, locks),
and the latest fixity re-check."""

from __future__ import annotations

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.audit.services import Actor, audit_record
from backend.retention.fixity import fixity_check_recording
from backend.retention.services import legal_hold_place
from backend.review import selectors, services
from tests.review.conftest import World

pytestmark = pytest.mark.django_db


def test_custody_gathers_events_other_apps_file_about_the_recording(world: World) -> None:
    own, other = world.recordings["own"], world.recordings["other"]
    audit_record(
        actor=Actor.device(world.device),
        action="upload.completed",
        object_type="upload",
        object_id="u-1",
        data={"recording_id": str(own.pk), "length": own.size_bytes},
    )
    # The same kinds of events about another recording must stay out.
    audit_record(
        actor=Actor.device(world.other_device),
        action="upload.completed",
        object_type="upload",
        object_id="u-2",
        data={"recording_id": str(other.pk), "length": other.size_bytes},
    )
    legal_hold_place(
        actor=world.users[Role.LEGAL_OFFICER],
        target_kind="recording",
        reason="诉讼保全",
        recording_id=own.pk,
    )
    legal_hold_place(
        actor=world.other_users[Role.LEGAL_OFFICER],
        target_kind="recording",
        reason="另案保全",
        recording_id=other.pk,
    )
    services.access_request_create(
        requester=world.other_users[Role.SUPERVISOR],
        requester_kind="staff",
        purpose="复查",
        recording_ids=[str(own.pk)],
    )
    audit_record(
        actor=Actor.system(),
        action="retention.legal_hold_object",
        object_type="object",
        object_id=own.storage_key[-64:],
        data={"key": own.storage_key, "status": "ON"},
    )
    actions = [e.action for e in selectors.recording_custody_events(own)]
    assert actions[:2] == ["recording.verified", "recording.stored"]
    assert actions.count("upload.completed") == 1
    assert actions.count("retention.hold_placed") == 1
    assert "access_request.created" in actions
    assert "retention.legal_hold_object" in actions
    sequences = [e.sequence for e in selectors.recording_custody_events(own)]
    assert sequences == sorted(sequences)
    other_actions = [e.action for e in selectors.recording_custody_events(other)]
    assert "access_request.created" not in other_actions
    assert other_actions.count("retention.hold_placed") == 1

    page = Client()
    page.force_login(world.users[Role.SUPERVISOR])
    html = page.get(f"/recordings/{own.pk}/").content.decode()
    custody = html[html.index('class="list custody"') :]
    order = [custody.index(a) for a in ("recording.stored", "upload.completed", "hold_placed")]
    assert order == sorted(order)
    assert "另案保全" not in custody


def test_recording_page_shows_the_latest_fixity_check(world: World) -> None:
    own = world.recordings["own"]
    client = Client()
    client.force_login(world.users[Role.SUPERVISOR])
    html = client.get(f"/recordings/{own.pk}/").content.decode()
    fixity = html[html.index('id="fixity"') :]
    assert fixity.index("尚未复核") < fixity.index("</dd>")
    check = fixity_check_recording(recording_id=own.pk)  # reads the real stored object
    assert check.outcome == "ok"
    html = client.get(f"/recordings/{own.pk}/").content.decode()
    fixity = html[html.index('id="fixity"') :]
    assert fixity.index("一致") < fixity.index("</dd>")
