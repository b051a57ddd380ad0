"""A province → city → two counties → a justice office, the people of each level (with real
names), and a correction subject with 宣告, 警告 and 提请收监执行 on record."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role, Unit, UnitKind, User
from backend.corrections.models import StepKind, Subject
from backend.corrections.services import subject_create
from backend.corrections.services.steps import step_record
from tests.factories import make_officer, make_unit, make_user

PASSWORD = "correct horse battery staple"

SUBJECT_NAME = "韦建华"
SUBJECT_ID = "450103199003071234"
SUBJECT_PHONE = "13877123456"
SUBJECT_ADDRESS = "南宁市青秀区民族大道88号3栋2单元501室"


@dataclass
class LibraryWorld:
    province: Unit
    city: Unit
    county: Unit
    office: Unit
    other_county: Unit
    author: User  # correction officer of the office
    county_reviewer: User
    city_reviewer: User
    province_reviewer: User
    other_reviewer: User  # a supervisor of the other county
    admin: User
    subject: Subject
    extra: dict[str, Any] = field(default_factory=dict)


def _user(role: str, unit: Unit | None, name: str) -> User:
    user = make_user(
        role=role, unit=unit, username=f"lib-{uuid.uuid4().hex[:8]}", password=PASSWORD
    )
    user.first_name = name
    user.save(update_fields=["first_name"])
    return user


def record_subject(office: Unit, author: User, *, name: str = SUBJECT_NAME) -> Subject:
    officer = make_officer(office, name="覃矫正")
    officer.user = author
    officer.save(update_fields=["user"])
    today = timezone.localdate()
    subject = subject_create(
        actor=author,
        name=name,
        sentence_kind="probation",
        term_start=today - datetime.timedelta(days=300),
        term_end=today + datetime.timedelta(days=400),
        office=office,
        responsible_officer=officer,
        team=[officer],
        id_number=SUBJECT_ID,
        phone=SUBJECT_PHONE,
        address=SUBJECT_ADDRESS,
    )
    step_record(
        subject=subject,
        kind=StepKind.ANNOUNCEMENT,
        on_date=today - datetime.timedelta(days=290),
        actor=author,
        present="司法所工作人员、矫正小组成员",
        letter_number="青矫责〔2026〕12号",
    )
    step_record(
        subject=subject,
        kind=StepKind.WARNING,
        on_date=today - datetime.timedelta(days=120),
        actor=author,
        reason=f"{name}未经批准离开所居住的县，经拨打其手机{SUBJECT_PHONE}催告后返回",
        outcome="给予警告",
    )
    step_record(
        subject=subject,
        kind=StepKind.REVOCATION_PROPOSAL,
        on_date=today - datetime.timedelta(days=30),
        actor=author,
        reason=f"{name}（身份证号{SUBJECT_ID}）受到两次警告后仍不改正，1990年3月7日出生",
        outcome="提请撤销缓刑，法院裁定收监执行",
    )
    return subject


@pytest.fixture
def library_world(db: Any) -> LibraryWorld:
    tag = uuid.uuid4().hex[:4]
    province = make_unit(f"自治区司法厅-{tag}")
    city = make_unit(f"南宁市司法局-{tag}", parent=province)
    county = make_unit(f"青秀区司法局-{tag}", parent=city)
    office = make_unit(f"南湖司法所-{tag}", kind=UnitKind.OFFICE, parent=county)
    other_county = make_unit(f"兴宁区司法局-{tag}", parent=city)
    author = _user(Role.CORRECTION_OFFICER, office, "覃矫正")
    world = LibraryWorld(
        province=province,
        city=city,
        county=county,
        office=office,
        other_county=other_county,
        author=author,
        county_reviewer=_user(Role.SUPERVISOR, county, "陆县审"),
        city_reviewer=_user(Role.LEGAL_OFFICER, city, "蒙市审"),
        province_reviewer=_user(Role.SUPERVISOR, province, "黎厅审"),
        other_reviewer=_user(Role.SUPERVISOR, other_county, "罗邻审"),
        admin=_user(Role.SYSTEM_ADMIN, None, "系统管理"),
        subject=record_subject(office, author),
    )
    return world


def public_text_of(case: Any) -> str:
    from backend.caselibrary.models import LibraryCase
    from backend.caselibrary.services import masked_sections

    case = LibraryCase.objects.get(pk=case.pk)
    return "\n".join(masked_sections(case, list(case.redactions.all())).values())


def seed_library_tree() -> None:
    """The category tree and vocabulary the migration seeds, put back after a transactional
    test elsewhere in the suite flushed every table (idempotent)."""
    import importlib

    from django.apps import apps as django_apps

    importlib.import_module(
        "backend.caselibrary.migrations.0002_seed_tree_vocabulary_fulltext"
    ).seed(django_apps, None)


@pytest.fixture(autouse=True)
def library_tree(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    seed_library_tree()
