"""One upload page for every import (roster, record list, activities, inspection items and
targets): an upload form; on any bad row the page lists every row's problem in Chinese and
nothing is imported; on success a summary after a redirect (POST-redirect-GET); an export
of the same table as XLSX in the official layout.

Each app's view states who may use it and what to run; this module shows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django import forms
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.config.errors import FieldVaultError
from backend.listimport import KeyedList, keyed_list_import
from backend.tabular import (
    MAX_TABLE_BYTES,
    TableFormatError,
    rows_refused_message,
    write_table_xlsx,
)

_SESSION_KEY = "import_summary:"


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("文件（XLSX、XLS 或 CSV）"))

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_TABLE_BYTES:
            raise forms.ValidationError(_("文件过大"))
        return upload


@dataclass
class Outcome:
    """What an import did, as the summary shows it (label, number); ``errors`` non-empty
    means nothing was imported."""

    counts: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPage:
    key: str  # the session key of this page's summary, e.g. "roster"
    title: str
    intro: str
    columns: Sequence[str]
    export_url: str | None = None
    form_class: type[ImportForm] = ImportForm


def user_of(request: HttpRequest) -> Any:
    """The signed-in user (the project's accounts.User; this shared helper does not import
    the accounts app, which imports it)."""
    user = request.user
    assert isinstance(user, get_user_model())
    return user


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request, "review/error.html", {"code": "forbidden", "message": message}, status=403
    )


def error_messages(error: FieldVaultError | TableFormatError) -> list[str]:
    """Every row's message of a refused import, or the file's one message."""
    if isinstance(error, TableFormatError):
        return [str(error)]
    details = error.details
    rows = [*details.get("file_errors", []), *details.get("row_errors", [])]
    rows += details.get("errors", [])
    messages = [str(row.get("message") or row.get("error")) for row in rows]
    return [m for m in messages if m != error.message] or [error.message]


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, file_name) or ""
    return response


def table_response(
    *, title: str, sheet: str, headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> HttpResponse:
    """An export in the official layout (title row, header, rows), named after its sheet."""
    data = write_table_xlsx(title=title, sheet=sheet, headers=headers, rows=rows)
    return xlsx_response(data, f"{sheet}.xlsx")


class UpsertReport(Protocol):
    created: int
    updated: int
    unchanged: int


def upsert_counts(report: UpsertReport) -> list[tuple[str, int]]:
    """The summary of an import that creates, updates or leaves rows as they were."""
    return [(_("新增"), report.created), (_("更新"), report.updated), (_("未变"), report.unchanged)]


def import_page(
    request: HttpRequest, page: ImportPage, run: Callable[[dict[str, Any]], Outcome]
) -> HttpResponse:
    """GET: the form and the last import's summary. POST: run the import with the form's
    cleaned data; refused → the page again (400) with every problem; done → redirect."""
    session_key = _SESSION_KEY + page.key
    status = 200
    errors: list[str] = []
    summary = None
    if request.method == "POST":
        form = page.form_class(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            try:
                outcome = run(form.cleaned_data)
            except (FieldVaultError, TableFormatError) as error:
                errors = error_messages(error)
                status = getattr(error, "status", 400)
            else:
                if outcome.errors:
                    errors = [rows_refused_message(len(outcome.errors)), *outcome.errors]
                else:
                    request.session[session_key] = {
                        "counts": outcome.counts,
                        "warnings": outcome.warnings,
                        "notes": outcome.notes,
                        "file_name": form.cleaned_data["file"].name,
                    }
                    return HttpResponseRedirect(request.path)
    else:
        form = page.form_class()
        summary = request.session.pop(session_key, None)
    context = {"page": page, "form": form, "errors": errors, "summary": summary}
    return render(request, "imports/page.html", context, status=status)


def keyed_list_page(
    request: HttpRequest,
    *,
    spec: KeyedList,
    unit: Any,
    actor: Any,
    key: str,
    title: str,
    intro: str,
    export_url: str,
) -> HttpResponse:
    """The import page of a keyed official list (backend/listimport.py) into `unit`."""
    page = ImportPage(
        key=key, title=title, intro=intro, columns=spec.columns, export_url=export_url
    )

    def run(data: dict[str, Any]) -> Outcome:
        report = keyed_list_import(
            spec, unit=unit, source=data["file"].read(), actor=actor, file_name=data["file"].name
        )
        return Outcome(
            counts=upsert_counts(report),
            warnings=report.warnings,
            notes=[_("导入单位：%(unit)s") % {"unit": unit.name}],
        )

    return import_page(request, page, run)


def keyed_list_export(*, spec: KeyedList, unit: Any, title: str, sheet: str) -> HttpResponse:
    """The unit's rows of a keyed list in its official layout (reads back unchanged)."""
    names = {column: name for column, name in spec.fields.items()}
    names[spec.key[0]] = spec.key[1]
    rows = []
    for entry in spec.model._default_manager.filter(unit=unit).order_by("sequence", "pk"):
        sequence = getattr(entry, "sequence", None)
        rows.append(
            [
                "" if sequence is None else sequence,
                *(getattr(entry, names[column]) for column in spec.columns[1:]),
            ]
        )
    return table_response(title=title, sheet=sheet, headers=spec.columns, rows=rows)
