"""The auditor's and the system administrator's main jobs end to end in Chromium, at tablet
(820×1180) and desktop (1440×900) size: sign in → do the job from the menu → see the result,
with no console errors, no sideways scroll and axe-core on every page (tests/e2e/audit.py).

- the auditor finds who viewed a recording in the access register, exports what was found
  (the export link follows the search swapped in place), narrows the
  audit log to recording events by that person and exports that too (both workbooks hold
  the rows the page showed);
- the system administrator names an access-request approver, reloads the form's own address
  (a GET of a POST-only address lands on the approvers page with a note, never "Method not
  allowed"), and reads the naming in the audit log as a sentence.

The other roles' walks: the field officer and the supervisor in test_explanations_browser.py,
the correction officer in test_corrections_browser.py, the supervisor, the legal officer and
the storage administrator in test_supervisor_storage_browser.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.db import connection

from backend.accounts.models import Role
from backend.review.models import AccessBasis, Approver, RegisterAction
from backend.review.services import register_write
from tests.e2e.test_browser import ARTIFACTS, browser, e2e_world, server  # noqa: F401
from tests.e2e.test_corrections_browser import _no_horizontal_scroll, _open
from tests.review.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PURPOSE = "核查群众投诉线索"


def _menu(page: Any, href: str) -> None:
    """Follow a menu link as a person would (the menu folds behind a button on a phone)."""
    if page.is_visible("button.menu-toggle"):
        page.click("button.menu-toggle")
    page.click(f"nav.main-nav a[href='{href}']")
    page.wait_for_url(f"**{href}")


def _workbook_text(download: Any, tmp_path: Path, name: str) -> str:
    target = tmp_path / name
    download.save_as(str(target))
    sheet = openpyxl.load_workbook(target, read_only=True).active
    assert sheet is not None
    return "\n".join(
        " ".join(str(cell) for cell in row if cell is not None)
        for row in sheet.iter_rows(values_only=True)
    )


@pytest.mark.parametrize("size", ["tablet", "desktop"])
def test_auditor_reads_the_register_and_the_audit_log(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    size: str,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        world = e2e_world
        recording = world.extra["activity_recording"]
        supervisor = world.users[Role.SUPERVISOR]
        register_write(
            user=supervisor,
            action=RegisterAction.VIEW,
            basis=AccessBasis.SCOPE,
            purpose=PURPOSE,
            recording=recording,
        )
        register_write(  # another entry, which the search must leave out (page and workbook)
            user=world.users[Role.LEGAL_OFFICER],
            action=RegisterAction.VIEW,
            basis=AccessBasis.SCOPE,
            purpose="案卷评查抽看",
            recording=recording,
        )
        page, errors, refused = _open(browser, server, world.users[Role.AUDITOR].username, size)

        # The register: who viewed what, why; the search narrows it in place (htmx).
        _menu(page, "/register/")
        page.fill("input[name=q]", PURPOSE)
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url("**/register/?*q=*")
        rows = page.locator("table.register tr.entry")
        rows.first.wait_for()
        assert rows.count() == 1
        assert supervisor.username in rows.first.inner_text()
        assert "职责范围内直接查阅" in rows.first.inner_text()
        _no_horizontal_scroll(page)
        # The export link follows the search swapped in place: the workbook is what was found.
        page.wait_for_selector("#register-export[href*='q=']", state="attached")
        with page.expect_download() as register_download:
            page.click("#register-export")
        register_text = _workbook_text(register_download.value, tmp_path, "register.xlsx")
        assert PURPOSE in register_text and supervisor.username in register_text
        assert "案卷评查抽看" not in register_text

        # The audit log: recording events by that supervisor, as sentences, then exported.
        _menu(page, "/audit/")
        page.select_option("#audit-filters select[name=action]", "recording.")
        page.fill("#audit-filters input[name=actor]", supervisor.username)
        page.locator("#audit-filters button[type=submit]").click()
        page.wait_for_url("**/audit/?*actor=*")
        events = page.locator("table.audit tr.event")
        assert events.count() == 1, events.all_inner_texts()
        assert events.first.get_attribute("data-action") == "recording.viewed"
        sentence = events.first.locator("td.sentence").inner_text()
        assert supervisor.username in sentence and "recording.viewed" not in sentence
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"auditor-audit-log-{size}.png"), full_page=True)
        with page.expect_download() as audit_download:
            page.click("#audit-export")
        audit_text = _workbook_text(audit_download.value, tmp_path, "audit.xlsx")
        assert supervisor.username in audit_text and "查看音像记录" in audit_text
        assert "案卷评查抽看" not in audit_text  # the legal officer's view is filtered out
        assert not refused and not errors, (refused, errors)
        page.context.close()
    finally:
        connection.close()


@pytest.mark.parametrize("size", ["tablet", "desktop"])
def test_system_admin_names_an_approver_and_reads_it_in_the_log(
    server: str,  # noqa: F811
    browser: Any,  # noqa: F811
    e2e_world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    size: str,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    connection.close()
    try:
        world = e2e_world
        admin = world.users[Role.SYSTEM_ADMIN]
        storage_admin = world.users[Role.STORAGE_ADMIN]
        page, errors, refused = _open(browser, server, admin.username, size)

        _menu(page, "/approvers/")
        form = page.locator("#name-access-approver")
        form.locator("select[name=user]").select_option(str(storage_admin.pk))
        form.locator("select[name=unit]").select_option(str(world.office.pk))
        form.locator("button[type=submit]").click()
        page.wait_for_url(server + "/approvers/")
        assert "已指定调阅审批人" in page.locator("ul.messages").inner_text()
        assert storage_admin.username in page.locator("#access-approvers").inner_text()
        assert Approver.objects.filter(user=storage_admin, unit=world.office).exists()
        _no_horizontal_scroll(page)

        # The form's own address asked for with GET: the approvers page, with the note.
        response = page.goto(server + "/approvers/access/")
        assert response is not None and response.status == 200
        assert page.url == server + "/approvers/"
        assert "该地址只用于提交表单" in page.locator("ul.messages").inner_text()
        assert storage_admin.username in page.locator("#access-approvers").inner_text()

        _menu(page, "/audit/")
        page.select_option("#audit-filters select[name=action]", "access_")
        page.fill("#audit-filters input[name=actor]", admin.username)
        page.locator("#audit-filters button[type=submit]").click()
        page.wait_for_url("**/audit/?*actor=*")
        first = page.locator("table.audit tr.event").first
        assert first.get_attribute("data-action") == "access_approver.named"
        sentence = first.locator("td.sentence").inner_text()
        assert "指定调阅审批人" in sentence and admin.username in sentence, sentence
        _no_horizontal_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"system-admin-audit-{size}.png"), full_page=True)
        # The GET of the POST-only address was redirected (302), never refused with a 405.
        assert not refused and not errors, (refused, errors)
        page.context.close()
    finally:
        connection.close()
