"""The retention pages speak English when the user's language is English (zh-hans stays the
default): every label, heading, button and message comes from the project's locale; only
data (policy names, stored reasons, unit names, category keys) stays as it was written."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from backend.accounts.models import Unit, User
from backend.retention.destruction import destruction_batch_prepare
from backend.retention.models import DestructionItem, RecordingRetention, RetentionPolicy
from backend.retention.services import retention_recompute_groups
from tests.retention.conftest import StoreRecording

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
TAG = re.compile(r"<[^>]*>")


def _client(user: User, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _data_strings() -> list[str]:
    """Text that is data, not UI: written by people or stored when computed."""
    found: set[str] = {"（未归属单位）"}  # capacity's label for recordings without a unit
    found |= set(RetentionPolicy.objects.values_list("name", flat=True))
    found |= set(RecordingRetention.objects.values_list("reason", flat=True))
    found |= set(Unit.objects.values_list("name", flat=True))
    for reason_due, state_reason in DestructionItem.objects.values_list(
        "reason_due", "state_reason"
    ):
        found |= {reason_due, state_reason}
    return sorted((s for s in found if s), key=len, reverse=True)


def _ui_text(html: str) -> str:
    """The page's visible text and attribute-free markup, with data removed."""
    text = TAG.sub(" ", html)
    for value in _data_strings():
        text = text.replace(value, " ")
    return text.replace("中文", " ")  # the language switch names Chinese in Chinese


@pytest.fixture
def batch_world(store_recording: StoreRecording, storage_admin: User, settings: Any) -> int:
    """One due recording in a prepared destruction batch, one recording not due."""
    RetentionPolicy.objects.filter(category="default").update(period_days=1)
    retention_recompute_groups()
    settings.FV_DESTRUCTION_QUEUE_DAYS = 0
    settings.FV_DESTRUCTION_BRAKE_SHARE = 0.9
    store_recording(ended_days_ago=30, lock_seconds=2)
    store_recording()
    time.sleep(3)  # the due recording's COMPLIANCE lock has passed
    return destruction_batch_prepare(actor=storage_admin).pk


def test_retention_pages_render_in_english(
    batch_world: int, storage_admin: User, make_approver: Callable[[], User]
) -> None:
    english = _client(storage_admin, "en")
    pages = {
        "/retention/destruction/": [
            "Destruction batch",
            "Approvals needed",
            "Propose destroying every due recording",
        ],
        f"/retention/destruction/{batch_world}/": [
            "Destruction batch",
            "Needs the approval of 1 leader(s) in charge.",
            "Cancel the whole batch",
            "Why due",
        ],
        "/retention/policies/?category=default&period_days=400": [
            "Retention policies",
            "Preview the change",
            "Retained 400 days (from the end of the recording)",
        ],
        "/retention/capacity/": ["Storage capacity", "Growth is measured", "Holdings ("],
        "/retention/holds/": ["Legal holds and evidence marks", "Active legal holds"],
        "/retention/fixity/": ["Last check", "Next due"],
    }
    for url, wanted in pages.items():
        response = english.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert '<html lang="en">' in html, url
        for phrase in wanted:
            assert phrase in html, (url, phrase)
        left = sorted(set(CJK.findall(_ui_text(html))))
        # Category keys such as enforcement:行政处罚 are data too (the policy form's
        # placeholder shows one), and a previewed reason is "<policy name>：<period>" as
        # retention's PolicyRule.describe joins them (name and colon are not UI text).
        if "/retention/policies/" in url:
            left = [t for t in left if t not in {"行政处罚", "："}]
        assert left == [], (url, left)

    # The approver reads the preview and approves in English too.
    approver_page = _client(make_approver(), "en").get(f"/retention/destruction/{batch_world}/")
    assert approver_page.status_code == 200
    assert "Approve destruction" in approver_page.content.decode()

    # Without a choice the pages stay in Chinese, the first language.
    chinese = _client(storage_admin).get("/retention/destruction/").content.decode()
    assert "销毁批次" in chinese and "Destruction batch" not in chinese
