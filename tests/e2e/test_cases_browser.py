"""A case walked in the browser from 立案 to archived: the handling officer on a phone
(390×844) opens it, gathers its materials and an activity, submits it; the legal officer
asks for more material (the clock pauses), the officer supplies it (the clock runs again),
the legal officer records the 第七条 points and agrees; the officer records the decision,
delivers, executes, closes and archives — then the file is frozen; a later 复议 finding
is recorded against the decision. axe-core audits every
page (tests/e2e/audit.py); the case page reads in English too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from backend.accounts.models import Role
from backend.cases.models import Case, CaseStage, Decision, LegalReview, ReviewerQualification
from backend.cases.services import REVIEW_POINTS
from tests.e2e.test_browser import ARTIFACTS, _sign_in, browser, e2e_world, server  # noqa: F401
from tests.factories import make_officer
from tests.review.conftest import PASSWORD, World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PHONE = {"width": 390, "height": 844}
MATERIALS = {
    "investigation_report": "调查终结报告",
    "decision_proposal": "决定建议及情况说明",
    "draft_decision": "决定书代拟稿",
    "evidence_basis": "证据和法律依据",
}


def _overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def _upload(page: Any, tmp_path: Path, kind: str, title: str) -> None:
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(f"%PDF-1.4\n% {kind} {title}\n".encode())
    page.select_option("#doc-kind", kind)
    page.fill("#doc-title", title)
    page.set_input_files("#doc-file", str(path))
    page.click("#document-form button[type=submit]")
    page.wait_for_load_state()
    assert "材料已收到并校验" in page.locator("ul.messages").inner_text()


def test_a_case_from_filing_to_archive_with_a_request_for_more(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    world = e2e_world
    legal_user = world.users[Role.LEGAL_OFFICER]
    reviewer = make_officer(world.bureau, name="孙法制")
    reviewer.user = legal_user
    reviewer.save(update_fields=["user"])
    ReviewerQualification.objects.create(user=legal_user, trained_on=timezone.localdate())
    make_officer(world.office, name="赵协办")
    activity = world.extra["activity"]

    # The handling officer, on a phone.
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True, is_mobile=True)
    officer = context.new_page()
    officer.goto(server + "/accounts/login/")
    officer.fill("input[name=username]", world.users[Role.FIELD_OFFICER].username)
    officer.fill("input[name=password]", PASSWORD)
    officer.click("button[type=submit].primary")
    officer.wait_for_url(server + "/")
    officer.locator("button.menu-toggle").tap()
    officer.click("nav.main-nav a[href='/cases/']")
    assert officer.locator("h1").inner_text() == "执法案件"
    officer.click("#open-case")
    officer.fill("#matter", "未经许可从事法律服务")
    officer.fill("#party_name", "某法律咨询有限公司")
    officer.select_option("#party_kind", "legal")
    officer.locator("label.check", has_text="赵协办").locator("input").check()
    officer.click("#case-form button[type=submit]")
    officer.wait_for_url(f"{server}/cases/*/")
    case = Case.objects.get()
    assert officer.locator("#case-stage").inner_text() == "立案"
    assert "赵协办" in officer.locator("#case-officers").inner_text()
    assert _overflow(officer) <= 1

    # A submission without materials is refused, naming them in Chinese.
    officer.fill("#leader", "李局长")
    officer.click("#submit-form button[type=submit]")
    officer.wait_for_load_state()
    refused = officer.locator("section.error").inner_text()
    assert "送审材料不齐" in refused and "决定书代拟稿" in refused
    officer.goto(f"{server}/cases/{case.pk}/")
    for kind, title in MATERIALS.items():
        _upload(officer, tmp_path, kind, title)
    officer.fill("#activity-id", str(activity.pk))
    officer.click("#activity-form button[type=submit]")
    officer.wait_for_load_state()
    assert "某律师事务所" in officer.locator("#case-activities").inner_text() or (
        activity.stage in officer.locator("#case-activities").inner_text()
    )
    assert officer.locator("#case-stage").inner_text() == "调查取证"
    officer.fill("#leader", "李局长")
    officer.click("#submit-form button[type=submit]")
    officer.wait_for_load_state()
    assert officer.locator("#case-stage").inner_text() == "审核"
    review = LegalReview.objects.get(case=case)

    # The legal officer asks for more material.
    legal = _sign_in(browser, server, legal_user.username)
    legal.click("nav.main-nav a[href='/cases/reviews/']")
    queue = legal.locator("#review-queue").inner_text()
    assert case.number in queue and review.due_on.isoformat() in queue  # type: ignore[union-attr]
    legal.click(f"#review-queue a[href='/cases/reviews/{review.pk}/']")
    assert "调查终结报告" in legal.locator("#case-documents").inner_text()
    legal.select_option("#pause-reason", "supplement")
    legal.fill("#pause-note", "请补充现场检查笔录")
    legal.click("#pause-form button[type=submit]")
    legal.wait_for_load_state()
    assert legal.locator("#review-state").inner_text() == "暂停计时"
    assert "请补充现场检查笔录" in legal.locator("#review-pauses").inner_text()

    # The officer supplies it: the clock runs again.
    officer.reload()
    assert officer.locator("#supplement-requested").count() == 1
    _upload(officer, tmp_path, "supplement", "现场检查笔录")
    assert officer.locator("#supplement-requested").count() == 0

    # The legal officer records every point and agrees.
    legal.reload()
    assert legal.locator("#review-state").inner_text() == "待审核"
    for key in REVIEW_POINTS:
        legal.fill(f"#point-{key}", "经审查，符合规定")
    legal.select_option("#opinion", "agree")
    legal.fill("#reasons", "事实清楚，证据确凿，程序合法")
    legal.click("#opinion-form button[type=submit]")
    legal.wait_for_load_state()
    assert legal.locator("#review-state").inner_text() == "已出具意见"
    assert "同意" in legal.locator("#review-opinion").inner_text()
    legal.screenshot(path=str(ARTIFACTS / "cases-review.png"), full_page=True)

    # The officer decides, delivers, executes, closes and archives.
    officer.reload()
    assert "法制审核意见书" in officer.locator("#case-documents").inner_text()
    officer.select_option("#decision-kind", "penalty")
    officer.fill("#decision-number", "平司罚决〔2026〕1号")
    officer.fill("#decision-summary", "警告并罚款五千元")
    officer.fill("#decision-basis", "《基层法律服务工作者管理办法》")
    officer.click("#decision-form button[type=submit]")
    officer.wait_for_load_state()
    assert officer.locator("#case-stage").inner_text() == "决定"
    for stage in ("送达", "执行", "结案"):
        officer.click("#advance-form button[type=submit]")
        officer.wait_for_load_state()
        assert officer.locator("#case-stage").inner_text() == stage
    officer.fill("#archive-number-input", "平司档〔2026〕1号")
    officer.click("#archive-form button[type=submit]")
    officer.wait_for_load_state()
    assert officer.locator("#case-stage").inner_text() == "归档"
    assert "平司档〔2026〕1号" in officer.locator("#archive-number").inner_text()
    assert officer.locator("#document-form").count() == 0  # frozen: nothing more to add
    assert _overflow(officer) <= 1
    officer.screenshot(path=str(ARTIFACTS / "cases-archived-phone.png"), full_page=True)
    case.refresh_from_db()
    assert case.stage == CaseStage.ARCHIVED and case.archived_at is not None
    assert Decision.objects.filter(case=case).exists()
    # Months later a 复议 finds the decision unlawful: the officer records it on the case page.
    officer.click("#revoke summary")
    officer.select_option("#revoke-ground", "unlawful")
    officer.fill("#revoke-reason", "市司法局行政复议决定书确认违法")
    officer.click("#revoke-form button[type=submit]")
    officer.wait_for_load_state()
    assert "决定被确认违法" in officer.locator("#decision-revoked").inner_text()
    assert officer.locator("#revoke-form").count() == 0
    pdf = officer.request.get(f"{server}/cases/{case.pk}/file.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    officer.locator("button.menu-toggle").tap()
    officer.click("form.lang button[name=language]")
    officer.wait_for_load_state()
    assert officer.locator("#case-stage").inner_text() == "Archived"
    assert "Case file (PDF)" in officer.locator("#case-file-pdf").inner_text()
    context.close()
