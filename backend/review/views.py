"""The supervisors' pages (Django templates + htmx). Views parse, authorize through the
selectors, call one service and render; a FieldVaultError becomes an error page with its
status and code."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import Role, User
from backend.config.errors import (
    Conflict,
    FieldVaultError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from backend.footage.models import RecordingState
from backend.footage.selectors import recording_time_corrections
from backend.review import audit_wording, selectors, services
from backend.review import recording_list as recording_list_rows
from backend.review.dashboard_figures import dashboard_figures
from backend.review.forms import (
    AccessDocumentForm,
    AccessRequestForm,
    AuditFilterForm,
    DecisionForm,
    ExportForm,
    LockoutAuthenticationForm,
    RegisterSearchForm,
    RevokeForm,
)
from backend.review.models import (
    AccessBasis,
    AccessRequestState,
    ProxiesState,
    RegisterAction,
)
from backend.review.packaging import export_stream
from backend.review.playback import (
    damage_reason_text,
    original_download_response,
    processing_state,
    recording_media_urls,
)
from backend.review.register_xlsx import audit_workbook, register_workbook
from backend.web.pages import page
from backend.web.requests import client_ip

PAGE_SIZE = 25
REGISTER_XLSX_ROWS = 100_000


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _paginate(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


class SignInView(auth_views.LoginView):
    template_name = "review/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True
    next_page = "/"


class SignOutView(auth_views.LogoutView):
    next_page = "/accounts/login/"


# -- dashboard ------------------------------------------------------------------------------


@require_GET
@page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context: dict[str, Any] = {
        "live": selectors.user_may(user, selectors.DASHBOARD_LIVE_ROLES),
        "backlog": selectors.officer_backlog(user)[:50],
        "pending": list(selectors.pending_requests_for_approver(user)[:20]),
        "my_grants": list(
            selectors.grants_active_for(user).select_related("request").order_by("expires_at")[:20]
        ),
        "damaged": _damaged(user),
        "activities": _today_activities(user),
        "calendar_missing": _calendar_missing(user),
        "explanations_pending": _explanations_pending(user),
        "staging": _staging_alert(user),
        "figures": dashboard_figures(user),
    }
    if context["live"]:
        from backend.review.live_labels import live_labels

        context["live_labels"] = live_labels()
    return render(request, "review/dashboard.html", context)


def _staging_alert(user: User) -> Any:
    """Storage and system administrators see when the staging volume is under pressure
    (admissions refused in the last day, free space near the headroom, quota 80 % used)
    and which devices use the space."""
    if user.role not in (Role.SYSTEM_ADMIN, Role.STORAGE_ADMIN):
        return None
    from sync.staging_admission import staging_pressure

    pressure = staging_pressure()
    return pressure if pressure.alarming else None


def _calendar_missing(user: User) -> int | None:
    """From 1 November, system administrators are warned while next year's holiday
    arrangement is not entered (deadlines crossing the year end are provisional)."""
    if user.role != Role.SYSTEM_ADMIN:
        return None
    from backend.workcalendar.selectors import next_year_missing

    return next_year_missing(timezone.localdate())


def _explanations_pending(user: User) -> list[Any]:
    from backend.coverage.views import pending_for_reviewer

    return list(pending_for_reviewer(user)[:20])


def _damaged(user: User) -> list[Any]:
    return list(selectors.damaged_awaiting_look(user)[:20])


def _today_activities(user: User) -> list[Any]:
    from backend.review import activities

    return activities.today_for(user)


# -- recordings -----------------------------------------------------------------------------


@require_GET
@page
def recording_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.STORAGE_ADMIN:
        return HttpResponseRedirect(reverse("review:storage"))
    filters = recording_list_rows.RecordingFilters.from_query(request.GET)
    page_obj, rows = recording_list_rows.recording_list_page(
        user,
        filters,
        older=request.GET.get("older") or None,
        newer=request.GET.get("newer") or None,
    )
    return render(
        request,
        "review/recording_list.html",
        {
            "page_obj": page_obj,
            "rows": rows,
            "states": RecordingState.choices,
            "filters": filters,
            "query": filters.query(),
        },
    )


@require_GET
@page
def recording_detail(request: HttpRequest, recording_id: str) -> HttpResponse:
    user = _user(request)
    access = selectors.recording_access_for(
        user=user, recording_id=recording_id, grant_id=request.GET.get("grant") or None
    )
    recording = access.recording
    # The purpose is the grant's (an approved request's), never the URL's: a link could
    # otherwise write whatever it likes into the viewer's register entry.
    services.register_write(
        user=user,
        action=RegisterAction.VIEW,
        basis=access.basis,
        purpose=access.purpose,
        recording=recording,
        grant=access.grant,
        ip_address=client_ip(request),
    )
    destroyed = recording.state == RecordingState.DESTROYED
    # A destroyed recording keeps its facts and custody history; there is nothing to play.
    urls = None if destroyed else recording_media_urls(recording)
    state, state_label = processing_state(recording)
    metadata = (
        getattr(recording, "media_metadata", None) if hasattr(recording, "media_metadata") else None
    )
    return render(
        request,
        "review/recording_detail.html",
        {
            "recording": recording,
            "access": access,
            "urls": urls,
            "processing_state": state,
            "processing_label": state_label,
            "damage_reason": damage_reason_text(
                getattr(getattr(recording, "processing", None), "reason_code", "") or ""
            ),
            "metadata": metadata,
            "custody": audit_wording.describe(selectors.recording_custody_events(recording)),
            "time_corrections": recording_time_corrections(recording=recording),
            "fixity": selectors.recording_fixity_last(recording),
            "retention": selectors.recording_retention_view(recording, user=user),
            "verified": recording.state
            in (RecordingState.VERIFIED, RecordingState.STORED, RecordingState.DESTROYED),
            "destroyed": destroyed,
            "may_reprocess": _may_reprocess(user, state, destroyed),
            "can_download": bool(
                not destroyed
                and access.grant
                and access.grant.can_copy
                and access.grant.is_active()
            ),
        },
    )


REPROCESS_ROLES = (Role.SUPERVISOR, Role.SYSTEM_ADMIN)
REPROCESSABLE = ("damaged", "failed")


def _may_reprocess(user: User, processing_state_code: str, destroyed: bool) -> bool:
    return (
        not destroyed
        and user.role in REPROCESS_ROLES
        and str(processing_state_code) in REPROCESSABLE
    )


@require_POST
@page
def recording_reprocess(request: HttpRequest, recording_id: str) -> HttpResponse:
    """Process a damaged (or failed) recording again — classification and salvage of what
    can be recovered run again; the original is never touched. Supervisors of its unit and
    the system administrator; audited as recording.processing_queued by the footage app."""
    from backend.audit.services import Actor
    from backend.footage.processing import recording_processing_queue
    from backend.footage.selectors import recording_get_visible

    user = _user(request)
    recording = recording_get_visible(user=user, recording_id=recording_id)
    if recording is None:
        raise NotFound(_("没有该音像记录"), code="recording_not_found")
    state, _label = processing_state(recording)
    if user.role not in REPROCESS_ROLES:
        raise PermissionDenied(
            _("只有监督人员和系统管理员可以重新处理"), code="reprocess_not_allowed"
        )
    if str(state) not in REPROCESSABLE:
        raise Conflict(_("只有损坏或处理失败的记录可以重新处理"), code="not_reprocessable")
    if recording_processing_queue(recording_id=recording.pk, actor=Actor.user(user), reset=True):
        messages.success(request, _("已重新排队处理；可恢复的部分会再次抢救。"))
    else:
        messages.info(request, _("该记录正在处理中，无需重新排队。"))
    return HttpResponseRedirect(reverse("review:recording", args=[recording.pk]))


@require_POST
@page
def recording_download(request: HttpRequest, recording_id: str) -> HttpResponseBase:
    """The original's bytes, for a holder of an unexpired copy grant naming it."""
    user = _user(request)
    access = selectors.recording_access_for(
        user=user, recording_id=recording_id, grant_id=request.POST.get("grant") or ""
    )
    if access.grant is None or not access.grant.can_copy:
        raise PermissionDenied("downloading needs a copy grant", code="grant_view_only")
    selectors.recordings_require_not_destroyed([access.recording])
    if access.recording.state != RecordingState.STORED:
        raise PermissionDenied("the original is not stored yet", code="recording_not_stored")
    # Streamed through here, by the version written at ingest and hashed on the way out
    # (as exports are): a presigned link would hand out whatever S3 holds under the key.
    response = original_download_response(access.recording)  # refuses a missing/altered one
    services.register_write(
        user=user,
        action=RegisterAction.DOWNLOAD,
        basis=AccessBasis.GRANT,
        purpose=access.purpose,
        recording=access.recording,
        grant=access.grant,
        ip_address=client_ip(request),
    )
    return response


# -- access requests -------------------------------------------------------------------------


def _access_request_error(code: str) -> tuple[str | None, str]:
    """The access-request form field a refusal belongs to, and the reason in words."""
    reasons: dict[str, tuple[str | None, str]] = {
        "invalid_requester_kind": ("requester_kind", _("请选择申请人类别。")),
        "purpose_required": ("purpose", _("请填写调阅事由。")),
        "requester_kind_mismatch": (
            "requester_kind",
            _("只有法制审核人员可以以“本单位法制项目负责人”身份申请，请选择其他申请人类别。"),
        ),
        "legal_officer_views_directly": (
            "requester_kind",
            _("法制审核人员在职责范围内可直接查阅，无需申请；如需复制请勾选“申请复制”。"),
        ),
        "party_may_not_copy": ("want_copy", _("当事人及其律师只能查看，不能复制。")),
        "applicant_identity_required": (
            "applicant_name",
            _("外单位或当事人申请须填写申请人姓名和有效证件号码。"),
        ),
        "invalid_recording_id": (
            "recording_ids",
            _("音像记录编号格式不正确；可改填执法活动编号。"),
        ),
        "unknown_recordings": ("recording_ids", _("有音像记录编号不存在或无权申请。")),
        "recordings_required": (
            "recording_ids",
            _("请至少填写一个音像记录编号，或填写有关联音像记录的执法活动编号。"),
        ),
        "unknown_activity": ("activity_id", _("没有该执法活动。")),
        "invalid_activity_id": (
            "activity_id",
            _("执法活动编号不正确，请填写如 XZ-2026-1204-02 的编号。"),
        ),
    }
    return reasons.get(code, (None, _("无法提交调阅申请（%(code)s）。") % {"code": code}))


PICK_LIMIT = 10


def _access_pick(request: HttpRequest, user: User) -> dict[str, Any]:
    """The search beside the access-request form: find activities (by number, place,
    officer) and recordings (by number, file name, officer, device) and pick them into the
    form by a link that carries the selection so far (no script)."""
    from urllib.parse import urlencode

    from backend.review.search import search_activities, search_recordings

    find = request.GET.get("find", "").strip()[:100]
    chosen = [p for p in request.GET.get("recording", "").replace("\n", ",").split(",") if p]
    activity = request.GET.get("activity", "").strip()[:100]
    if not find:
        return {"pick_find": "", "pick_activity": activity, "pick_recordings": ",".join(chosen)}
    terms: dict[str, Any] = {"q": find, "officer": "", "device": "", "day": None}
    by_officer = {**terms, "q": "", "officer": find}
    activities = list(search_activities(user, **terms)[:PICK_LIMIT]) or list(
        search_activities(user, **by_officer)[:PICK_LIMIT]
    )
    recordings = list(search_recordings(user, **terms)[:PICK_LIMIT]) or list(
        search_recordings(user, **by_officer)[:PICK_LIMIT]
    )

    def link(**params: str) -> str:
        return "?" + urlencode({k: v for k, v in params.items() if v}) + "#request-form"

    return {
        "pick_find": find,
        "pick_activity": activity,
        "pick_recordings": ",".join(chosen),
        "picked_activities": [
            (a, link(activity=a.external_ref or str(a.pk), recording=",".join(chosen)))
            for a in activities
        ],
        "picked_recordings": [
            (
                r,
                link(activity=activity, recording=",".join([*chosen, str(r.pk)])),
                str(r.pk) in chosen,
            )
            for r in recordings
        ],
        "pick_searched": True,
    }


def _activity_reference(user: User, typed: str) -> str:
    """The activity's id for the service, from its id or the number people use
    (XZ-2026-1204-02); an unknown number is refused in words on the form's field."""
    from backend.enforcement.selectors import activity_get_visible, parse_activity_id

    typed = typed.strip()
    if not typed or parse_activity_id(typed) is not None:
        return typed
    activity = activity_get_visible(user=user, activity_id=typed)
    if activity is None:
        raise InvalidInput(_("没有该执法活动"), code="unknown_activity")
    return str(activity.pk)


@require_http_methods(["GET", "POST"])
@page
def access_request_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    initial = {
        "recording_ids": "\n".join(p for p in request.GET.get("recording", "").split(",") if p),
        "activity_id": request.GET.get("activity", ""),
    }
    form = AccessRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            activity_ref = _activity_reference(user, form.cleaned_data["activity_id"])
            created = services.access_request_create(
                requester=user,
                requester_kind=form.cleaned_data["requester_kind"],
                purpose=form.cleaned_data["purpose"],
                recording_ids=form.recording_id_list(),
                want_copy=form.cleaned_data["want_copy"],
                applicant_name=form.cleaned_data["applicant_name"],
                applicant_organisation=form.cleaned_data["applicant_organisation"],
                applicant_id_number=form.cleaned_data["applicant_id_number"],
                activity_id=activity_ref,
            )
        except InvalidInput as error:
            # The form comes back with what was typed and the reason in words, on its field.
            field, message = _access_request_error(error.code)
            form.add_error(field, message)
        else:
            messages.success(request, _("调阅申请已提交，等待审批。"))
            return HttpResponseRedirect(reverse("review:access_request", args=[created.pk]))
    requests = selectors.access_requests_visible_to(user).order_by("-created_at")
    return render(
        request,
        "review/access_request_list.html",
        {"form": form, "page_obj": _paginate(request, requests), **_access_pick(request, user)},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@page
def access_request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    user = _user(request)
    access_request = selectors.access_request_get(user=user, request_id=request_id)
    units = [selectors.recording_unit(r) for r in access_request.recordings.all()]
    grant = (
        getattr(access_request, "grant", None)
        if access_request.state == AccessRequestState.APPROVED
        else None
    )
    return render(
        request,
        "review/access_request_detail.html",
        {
            "req": access_request,
            "grant": grant,
            "grant_active": bool(grant and grant.is_active()),
            "is_holder": bool(grant and grant.holder_id == user.pk),
            "may_revoke": bool(
                grant and grant.is_active() and selectors.user_may_revoke(user=user, grant=grant)
            ),
            "revoke_form": RevokeForm(),
            "may_decide": access_request.state == AccessRequestState.PENDING
            and selectors.user_may_approve(user=user, request=access_request, units=units),
            "is_requester": access_request.requester_id == user.pk,
            "document_form": AccessDocumentForm(),
            "decision_form": DecisionForm(),
            "export_form": ExportForm(),
            "documents": access_request.documents.all(),
            "exports": grant.exports.all() if grant else [],
        },
    )


@require_POST
@page
def access_request_document(request: HttpRequest, request_id: str) -> HttpResponse:
    user = _user(request)
    access_request = selectors.access_request_get(user=user, request_id=request_id)
    form = AccessDocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        raise FieldVaultError(
            _("请选择材料类型和文件"),
            code="invalid_input",
            details={"errors": form.errors.get_json_data()},
        )
    upload = form.cleaned_data["document"]
    services.access_document_add(
        request=access_request,
        user=user,
        kind=form.cleaned_data["kind"],
        file_name=upload.name,
        content_type=upload.content_type or "",
        body=upload,
    )
    messages.success(request, _("材料已上传。"))
    return HttpResponseRedirect(reverse("review:access_request", args=[access_request.pk]))


@require_POST
@page
def access_request_decide(request: HttpRequest, request_id: str, decision: str) -> HttpResponse:
    user = _user(request)
    access_request = selectors.access_request_get(user=user, request_id=request_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        raise FieldVaultError(
            _("有效天数须为 1 至 90"),
            code="invalid_input",
            details={"errors": form.errors.get_json_data()},
        )
    if decision == "approve":
        services.access_request_approve(
            request_id=access_request.pk,
            approver=user,
            valid_days=form.cleaned_data["valid_days"],
            note=form.cleaned_data["note"],
            view_only=form.cleaned_data["view_only"],
            # The approval form lists the requested recordings as checkboxes (scope_given).
            recording_ids=request.POST.getlist("scope") if "scope_given" in request.POST else None,
        )
        messages.success(request, _("已批准。"))
    else:
        services.access_request_reject(
            request_id=access_request.pk, approver=user, note=form.cleaned_data["note"]
        )
        messages.success(request, _("已驳回。"))
    return HttpResponseRedirect(reverse("review:access_request", args=[access_request.pk]))


@require_POST
@page
def grant_revoke(request: HttpRequest, grant_id: str) -> HttpResponse:
    """Revoke a grant early, with a reason (approver, bureau head or system administrator)."""
    user = _user(request)
    grant = selectors.grant_for_revoker(user=user, grant_id=grant_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        raise FieldVaultError(
            _("请填写撤销理由"),
            code="revoke_reason_required",
            details={"errors": form.errors.get_json_data()},
        )
    services.access_grant_revoke(grant_id=grant.pk, user=user, reason=form.cleaned_data["reason"])
    messages.success(request, _("授权已撤销。"))
    return HttpResponseRedirect(reverse("review:access_request", args=[grant.request_id]))


# -- exports ---------------------------------------------------------------------------------


@require_POST
@page
def export_create(request: HttpRequest, grant_id: str) -> HttpResponse:
    user = _user(request)
    grant = selectors.grant_for_holder(user=user, grant_id=grant_id)
    form = ExportForm(request.POST)
    form.is_valid()
    export = services.export_create(
        grant=grant,
        user=user,
        purpose=form.cleaned_data.get("purpose", ""),
        ip_address=client_ip(request),
    )
    messages.success(request, _("导出包已生成，可下载。"))
    return HttpResponseRedirect(reverse("review:export", args=[export.pk]))


@require_GET
@page
def export_detail(request: HttpRequest, export_id: str) -> HttpResponse:
    export = selectors.export_for_holder(user=_user(request), export_id=export_id)
    return render(
        request,
        "review/export_detail.html",
        {"export": export, "destroyed": selectors.export_destroyed_recordings(export)},
    )


@require_GET
@page
def export_download(request: HttpRequest, export_id: str) -> HttpResponseBase:
    user = _user(request)
    export = selectors.export_for_holder(user=user, export_id=export_id)
    selectors.grant_require_usable(export.grant)
    selectors.recordings_require_not_destroyed(selectors.export_destroyed_recordings(export))
    if export.proxies_state not in (ProxiesState.NONE, ProxiesState.READY):
        raise Conflict(
            _("带水印的副本尚未生成，请稍后再下载"),
            code="export_not_ready",
            details={"proxies_state": export.proxies_state},
        )
    services.register_write(
        user=user,
        action=RegisterAction.DOWNLOAD,
        basis=AccessBasis.GRANT,
        purpose=export.purpose,
        grant=export.grant,
        export=export,
        ip_address=client_ip(request),
    )
    response = StreamingHttpResponse(export_stream(export), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="fieldvault-export-{export.pk}.zip"'
    return response


# -- register, audit, storage ------------------------------------------------------------------


def _register_filters(request: HttpRequest) -> tuple[RegisterSearchForm, dict[str, Any]]:
    selectors.require_role(_user(request), selectors.REGISTER_PAGE_ROLES)
    form = RegisterSearchForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {
            "text": form.cleaned_data["q"],
            "action": form.cleaned_data["action"],
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
        }
    return form, filters


def _register_entries(request: HttpRequest) -> Any:
    form, filters = _register_filters(request)
    return form, selectors.register_search(_user(request), **filters)


@require_GET
@page
def register(request: HttpRequest) -> HttpResponse:
    form, entries = _register_entries(request)
    template = (
        "review/_register_rows.html"
        if request.headers.get("HX-Request")
        else "review/register.html"
    )
    return render(
        request,
        template,
        {
            "form": form,
            "page_obj": _paginate(request, entries),
            "query": request.GET.urlencode(),
            # A search swaps the rows in place: the export link follows it (out of band).
            "oob": bool(request.headers.get("HX-Request")),
        },
    )


@require_GET
@page
def register_xlsx(request: HttpRequest) -> HttpResponseBase:
    """The register as searched, as a workbook (at most REGISTER_XLSX_ROWS rows, newest
    first); taking the copy is itself an audit event."""
    _form, filters = _register_filters(request)
    entries = list(selectors.register_search(_user(request), **filters)[:REGISTER_XLSX_ROWS])
    buffer = io.BytesIO()
    register_workbook(entries).save(buffer)
    buffer.seek(0)
    services.register_export_record(user=_user(request), filters=filters, rows=len(entries))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(buffer, as_attachment=True, filename=f"access-register-{stamp}.xlsx")


AUDIT_EXPORT_MAX_ROWS = 10_000


def _audit_events(request: HttpRequest) -> tuple[AuditFilterForm, Any]:
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {
            "action": form.cleaned_data["action"],
            "date_from": form.cleaned_data["date_from"],
            "date_to": form.cleaned_data["date_to"],
            "actor": form.cleaned_data["actor"].strip(),
            "object_id": form.cleaned_data["object"].strip(),
        }
    return form, selectors.audit_events_filtered(_user(request), **filters)


@require_GET
@page
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first, walked by sequence (`?before=N`): no count of the whole log."""
    form, events = _audit_events(request)
    before = request.GET.get("before", "")
    if before.isdigit() and len(before) < 19:
        events = events.filter(sequence__lt=int(before))
    page_events = list(events[: PAGE_SIZE + 1])
    more = len(page_events) > PAGE_SIZE
    page_events = page_events[:PAGE_SIZE]
    query = request.GET.copy()
    query.pop("before", None)
    base_query = query.urlencode()
    next_query = None
    if more:
        query["before"] = str(page_events[-1].sequence)
        next_query = query.urlencode()
    return render(
        request,
        "review/audit_log.html",
        {
            "form": form,
            "lines": audit_wording.describe(page_events),
            "next_query": next_query,
            "first_page": not before,
            "base_query": base_query,
        },
    )


@require_GET
@page
def audit_log_xlsx(request: HttpRequest) -> HttpResponseBase:
    """The filtered log as a spreadsheet, as readable as the page (at most 10,000 rows)."""
    _form, events = _audit_events(request)
    lines = audit_wording.describe(events[:AUDIT_EXPORT_MAX_ROWS])
    buffer = io.BytesIO()
    audit_workbook(lines, truncated=len(lines) >= AUDIT_EXPORT_MAX_ROWS).save(buffer)
    buffer.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(buffer, as_attachment=True, filename=f"audit-log-{stamp}.xlsx")


@require_GET
@page
def storage(request: HttpRequest) -> HttpResponse:
    # Newest first by keyset on (created_at, id) (issue 26): no OFFSET, no count of every
    # recording.
    from backend.review.keyset import keyset_page

    facts = selectors.storage_facts_visible_to(_user(request))
    page_obj = keyset_page(
        facts,
        older=request.GET.get("older") or None,
        newer=request.GET.get("newer") or None,
        size=PAGE_SIZE,
        time_field="created_at",
    )
    return render(request, "review/storage.html", {"page_obj": page_obj, "query": ""})


# -- activities --------------------------------------------------------------------------------


@require_GET
@page
def activity_list(request: HttpRequest) -> HttpResponse:
    from backend.review import activities

    user = _user(request)
    filters = activities.ActivityFilters.from_query(request.GET)
    page_obj = activities.activity_list_page(
        user,
        filters,
        older=request.GET.get("older") or None,
        newer=request.GET.get("newer") or None,
    )
    template = (
        "review/_activity_rows.html"
        if request.headers.get("HX-Request")
        else "review/activity_list.html"
    )
    return render(
        request,
        template,
        {
            "page_obj": page_obj,
            "filters": filters,
            "choices": activities.filter_choices(user),
            "query": filters.query(),
        },
    )


@require_GET
@page
def activity_detail(request: HttpRequest, activity_id: str) -> HttpResponse:
    from backend.coverage.link_views import link_context
    from backend.coverage.views import explanation_context
    from backend.enforcement.selectors import activity_get_visible
    from backend.review import activities

    user = _user(request)
    activity = activity_get_visible(user=user, activity_id=activity_id)
    if activity is None:
        raise NotFound(_("没有该执法活动"), code="activity_not_found")
    timeline = activities.activity_timeline(
        activity, recording_url=lambda pk: reverse("review:recording", args=[pk])
    )
    evaluation = getattr(activity, "coverage", None)
    readable = set(
        selectors.recordings_readable_by(user)
        .filter(activity_links__activity=activity)
        .values_list("pk", flat=True)
    )
    readable_ids = {str(pk) for pk in readable}
    linked = [(row.name, bar) for row in timeline.rows for bar in row.bars]
    return render(
        request,
        "review/activity_detail.html",
        {
            "activity": activity,
            "evaluation": evaluation,
            "verdict_label": activities.verdict_label(
                evaluation.verdict if evaluation else None, language=get_language() or ""
            ),
            "timeline": timeline,
            "readable": readable_ids,
            "linked": linked,
            "unreadable": any(bar[2] not in readable_ids for _name, bar in linked),
            **explanation_context(user, activity),
            **link_context(user, activity),
        },
    )


# -- search ------------------------------------------------------------------------------------


@require_GET
@page
def search(request: HttpRequest) -> HttpResponse:
    """Activities and recordings by number, officer, device serial and date (scoped)."""
    from backend.review import activities
    from backend.review.search import RESULTS_LIMIT, SearchForm
    from backend.review.search import search as run_search

    form = SearchForm(request.GET or None)
    results = run_search(_user(request), form)
    language = get_language() or ""
    return render(
        request,
        "review/search.html",
        {
            "form": form,
            "results": results,
            "limit": RESULTS_LIMIT,
            "activity_rows": [
                (
                    a,
                    activities.verdict_label(
                        getattr(getattr(a, "coverage", None), "verdict", None), language=language
                    ),
                )
                for a in results.activities
            ],
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


# -- approvers (system administrators) ---------------------------------------------------------


def _system_admin(request: HttpRequest) -> User:
    user = _user(request)
    if user.role != Role.SYSTEM_ADMIN:
        raise PermissionDenied(_("只有系统管理员可以指定审批人"), code="not_system_admin")
    return user


def _posted_id(request: HttpRequest, name: str) -> int:
    value = request.POST.get(name, "").strip()
    if not value.isdigit() or len(value) > 12:
        raise InvalidInput(_("表单字段缺失或无效"), code="invalid_form", details={"field": name})
    return int(value)


@require_GET
@page
def approvers(request: HttpRequest) -> HttpResponse:
    """Who approves access requests (by unit) and who approves destruction."""
    from backend.accounts.models import Unit
    from backend.review import designations
    from backend.review.models import ApprovalAuthority

    _system_admin(request)
    return render(
        request,
        "review/approvers.html",
        {
            "designations": designations.designations_list(),
            "users": User.objects.filter(is_active=True).order_by("username"),
            "units": Unit.objects.order_by("path"),
            "authorities": ApprovalAuthority.choices,
        },
    )


@require_POST
@page
def approver_action(request: HttpRequest, action: str) -> HttpResponse:
    from backend.accounts.models import Unit
    from backend.review import designations

    actor = _system_admin(request)
    if action == "access":
        unit = Unit.objects.filter(pk=_posted_id(request, "unit")).first()
        if unit is None:
            raise NotFound(_("没有这个单位"), code="no_such_unit")
        designations.access_approver_name(
            actor=actor,
            user=designations.user_by_id(_posted_id(request, "user")),
            authority=request.POST.get("authority", ""),
            unit=unit,
        )
        messages.success(request, _("已指定调阅审批人。"))
    elif action == "access_withdraw":
        designations.access_approver_withdraw(
            actor=actor, approver_id=_posted_id(request, "approver")
        )
        messages.success(request, _("已撤销调阅审批人。"))
    elif action == "leader":
        designations.destruction_leader_name(
            actor=actor,
            user=designations.user_by_id(_posted_id(request, "user")),
            title=request.POST.get("title", ""),
        )
        messages.success(request, _("已指定销毁审批领导。"))
    else:
        designations.destruction_leader_withdraw(
            actor=actor, user=designations.user_by_id(_posted_id(request, "user"))
        )
        messages.success(request, _("已撤销销毁审批领导。"))
    return HttpResponseRedirect(reverse("review:approvers"))
