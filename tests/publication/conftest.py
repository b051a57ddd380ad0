"""Fixtures of the publication tests: two bureaus, their publication staff, and offers."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import Role, Unit, UnitKind, User
from backend.audit.services import Actor
from backend.publication.models import PublicItem
from backend.publication.offers import PublishableItem
from backend.publication.services.items import publishable_item_offer
from tests.factories import make_unit, make_user

PARTY = "张三丰"
PARTY_ID = "110101199003071234"
PARTY_ADDRESS = "青山区柳河街88号"
PARTY_PHONE = "13912345678"


@dataclass
class Bureau:
    unit: Unit
    supervisor: User
    legal: User
    officer: User

    def client(self, role: str = Role.SUPERVISOR) -> Client:
        client = Client()
        client.force_login(
            {Role.SUPERVISOR: self.supervisor, Role.LEGAL_OFFICER: self.legal}.get(
                role, self.officer
            )
        )
        return client


def make_bureau(name: str) -> Bureau:
    unit = make_unit(f"{name}-{uuid.uuid4().hex[:4]}", kind=UnitKind.BUREAU)
    return Bureau(
        unit,
        make_user(role=Role.SUPERVISOR, unit=unit),
        make_user(role=Role.LEGAL_OFFICER, unit=unit),
        make_user(role=Role.FIELD_OFFICER, unit=unit),
    )


@pytest.fixture
def bureaus(db: Any) -> tuple[Bureau, Bureau]:
    return make_bureau("甲县司法局"), make_bureau("乙县司法局")


def penalty_offer(
    unit: Unit,
    *,
    key: str | None = None,
    decided_on: datetime.date | None = None,
    party: str = PARTY,
    natural: bool = True,
    minor: bool = False,
) -> PublishableItem:
    day = decided_on or timezone.localdate()
    return PublishableItem(
        source="cases.decision",
        source_key=key or uuid.uuid4().hex,
        unit_id=unit.pk,
        category="penalty",
        title=f"{party}违法执业案行政处罚决定",
        decided_on=day,
        party_name=party,
        party_is_natural_person=natural,
        party_is_minor=minor,
        fields=(
            ("处罚主体", unit.name),
            ("被处罚主体", f"{party}（身份证号 {PARTY_ID}，住 {PARTY_ADDRESS}）"),
            (
                "违法事实",
                f"{party}于{day.isoformat()}在未取得执业证的情况下代理诉讼，电话{PARTY_PHONE}。",
            ),
            ("处罚依据", "《律师法》第五十五条"),
            ("处罚结果", "警告，罚款五千元"),
            ("处罚时间", day.isoformat()),
            ("救济途径", "可自收到决定书之日起六十日内申请行政复议，或六个月内提起行政诉讼"),
            ("决定书编号", "甲司罚决字〔2026〕第1号"),
        ),
        withheld=(PARTY_ID, PARTY_ADDRESS),
    )


def offer(item: PublishableItem) -> PublicItem:
    return publishable_item_offer(offer=item, actor=Actor.system())


@pytest.fixture(autouse=True)
def fresh_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request reads the site's generation (a test's data never meets another
    test's cached pages); test_pages pins the once-a-second memo separately."""
    from backend.publication import selectors

    selectors.public_generation_forget()
    monkeypatch.setattr(selectors, "GENERATION_SECONDS", 0.0)
