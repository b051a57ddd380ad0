"""The live feed's words come from the page in its language (issue 16 item 7): every event
type the server publishes has a label, in Chinese by default and in English in English
mode, with no code (`queued`, `clip_started`) shown as such; English pages of the new
supervisor tools carry no Chinese."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from backend.accounts.models import Role
from backend.review.live_labels import live_labels
from tests.review.conftest import World, make_activity

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
PUBLISHED = {
    "manifest", "clip_started", "bytes_received", "verified", "mismatch", "stored",
    "storage_failed", "queued", "processing", "ready", "damaged", "failed", "destroyed",
    "fixity_alert", "correction.overdue", "inspection.publish_by_earlier",
}  # fmt: skip


def _client(user: Any, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _labels(html: str) -> dict[str, str]:
    raw = html.split('<script id="live-labels" type="application/json">', 1)[1]
    return dict(json.loads(raw.split("</script>", 1)[0]))


def test_live_labels_in_both_languages(world: World) -> None:
    assert set(live_labels()) >= PUBLISHED
    supervisor = world.users[Role.SUPERVISOR]
    chinese = _labels(_client(supervisor).get("/").content.decode())
    assert chinese["queued"] == "排队处理" and chinese["clip_started"] == "开始上传"
    english = _labels(_client(supervisor, "en").get("/").content.decode())
    assert english["queued"] == "Queued for processing"
    assert not [v for v in english.values() if CJK.search(v)], english


def test_new_supervisor_pages_in_english_have_no_chinese_chrome(world: World) -> None:
    activity = make_activity(world)
    english = _client(world.users[Role.SUPERVISOR], "en")
    for url, phrase in {
        "/coverage/reports/": "Compliance and activation by month",
        "/search/?q=none": "No matching activities.",
        f"/activities/{activity.pk}/": "Links and re-check",
    }.items():
        html = english.get(url).content.decode()
        assert phrase in html, url
        if url.startswith("/activities/"):
            # The verdict headline follows the page's language (it stayed Chinese before).
            verdict = html.split('id="verdict">', 1)[1].split("<", 1)[0]
            assert verdict and not CJK.search(verdict), verdict
            links = html.split('id="links"', 1)[1].split("</section>", 1)[0]
            assert not CJK.search(re.sub(r"<[^>]*>", " ", links).replace("王执法", "")), links
