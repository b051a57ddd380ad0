"""Pages of the cases app: handling officers (my cases, open a case, gather evidence,
submit for review, decide, close, archive), legal officers (the review queue with due
dates, the review page with the evidence and the 第七条 points), leaders (extensions,
disagreements, overdue reviews and archives). Every write calls one service; a refusal
renders the error page with its 4xx status and the service's Chinese message."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import unit_scope_q
from backend.audit.services import Actor, audit_record
from backend.cases import selectors, services
from backend.cases.models import (
    CaseDocument,
    CaseStage,
    DecisionKind,
    DocumentKind,
    OpinionKind,
    PartyKind,
    PauseReason,
    ReviewState,
    RevocationGround,
)
from backend.cases.printing import case_file_pdf
from backend.cases.services.catalogue import CATALOGUE
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.importpages import (
    forbidden,
    keyed_list_export,
    keyed_list_page,
    table_response,
    user_of,
)
from backend.web.pages import page

QUEUE_ROLES = {Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}
LEADER_ROLES = {Role.SUPERVISOR, Role.SYSTEM_ADMIN}
UPLOAD_KINDS = [
    kind
    for kind in DocumentKind
    if kind not in (DocumentKind.OPINION_LETTER, DocumentKind.DECISION)
]


def _keyset(value: str | None) -> tuple[datetime.datetime, uuid.UUID] | None:
    if not value:
        return None
    try:
        stamp, key = value.rsplit("_", 1)
        return datetime.datetime.fromisoformat(stamp), uuid.UUID(key)
    except ValueError:
        raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor") from None


@require_GET
@page
def case_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not selectors.may_see_cases(user):
        return forbidden(
            request, _("只有执法人员、监督人员、法制审核人员和系统管理员可以查看案件。")
        )
    mine = request.GET.get("mine") == "1"
    rows = selectors.cases_page(user, before=_keyset(request.GET.get("before")), mine=mine)
    more = len(rows) > selectors.PAGE_SIZE
    rows = rows[: selectors.PAGE_SIZE]
    older = f"{rows[-1].created_at.isoformat()}_{rows[-1].pk}" if more and rows else ""
    return render(
        request,
        "cases/list.html",
        {"rows": rows, "mine": mine, "older": older, "may_open": user.role == Role.FIELD_OFFICER},
    )


@require_http_methods(["GET", "POST"])
@page
def case_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.role != Role.FIELD_OFFICER or user.unit is None:
        return forbidden(request, _("只有执法人员可以立案。"))
    colleagues = (
        Officer.objects.filter(unit_scope_q(user, unit_field="unit"))
        .exclude(user=user)
        .order_by("name", "pk")[:200]
    )
    if request.method == "POST":
        form = request.POST
        deadline = form.get("statutory_deadline") or ""
        try:
            statutory = datetime.date.fromisoformat(deadline) if deadline else None
            officer_ids = tuple(int(i) for i in form.getlist("officers"))
            entry_text = form.get("catalogue_entry", "")
            catalogue_entry = int(entry_text) if entry_text else None
        except ValueError:
            raise InvalidInput(_("日期或承办人员无效。"), code="invalid_input") from None
        case = services.case_open(
            actor=user,
            data=services.CaseInput(
                category=form.get("category", ""),
                matter=form.get("matter", ""),
                party_name=form.get("party_name", ""),
                party_kind=form.get("party_kind", ""),
                party_minor=form.get("party_minor") == "on",
                needs_review=form.get("needs_review") == "on",
                review_basis=form.get("review_basis", ""),
                officer_ids=officer_ids,
                statutory_deadline=statutory,
                number_prefix=form.get("number_prefix", ""),
                catalogue_entry_id=catalogue_entry,
            ),
        )
        messages.success(request, _("已立案：%(number)s") % {"number": case.number})
        return redirect("cases:detail", case_id=case.pk)
    return render(
        request,
        "cases/new.html",
        {
            "colleagues": colleagues,
            "party_kinds": PartyKind.choices,
            "catalogue": list(selectors.catalogue_for(user)[:500]),
        },
    )


def _case_or_404(user: User, case_id: uuid.UUID) -> Any:
    case = selectors.case_detail(user, case_id)
    if case is None:
        raise NotFound(_("没有该案件。"))
    return case


@require_GET
@page
def case_detail(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = user_of(request)
    case = _case_or_404(user, case_id)
    officers = list(case.officers.all())
    handling = any(o.user_id == user.pk for o in officers)
    reviews = list(case.reviews.all())
    open_review = next((r for r in reviews if r.state != ReviewState.CLOSED), None)
    decision = getattr(case, "decision", None)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "officers": officers,
            "coverage": selectors.case_coverage(case),
            "documents": list(case.documents.all()),
            "reviews": reviews,
            "open_review": open_review,
            "decision": decision,
            "may_revoke": handling and decision is not None and not decision.revoked,
            "revocation_grounds": RevocationGround.choices,
            "handling": handling and not case.archived,
            "upload_kinds": UPLOAD_KINDS,
            "decision_kinds": DecisionKind.choices,
            "next_stage": services.case_file.NEXT_AFTER_DECISION.get(CaseStage(case.stage)),
            "stage_entries": list(case.stage_entries.all()),
            "today": timezone.localdate(),
        },
    )


def _done(request: HttpRequest, text: str, to: str) -> HttpResponse:
    messages.success(request, text)
    return redirect(to)


@require_POST
@page
def case_action(request: HttpRequest, case_id: uuid.UUID, action: str) -> HttpResponse:
    user = user_of(request)
    form = request.POST
    back = reverse("cases:detail", args=[case_id])
    if action == "activity":
        services.case_activity_link(
            actor=user, case_id=case_id, activity_id=form.get("activity_id", "").strip()
        )
        return _done(request, _("已将执法活动归入案卷。"), back)
    if action == "recording":
        services.case_recording_link(
            actor=user,
            case_id=case_id,
            recording_id=form.get("recording_id", "").strip(),
            reason=form.get("reason", ""),
        )
        return _done(request, _("已将音像记录归入案卷。"), back)
    if action == "document":
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(_("请选择文件。"), code="file_required")
        services.case_document_add(
            actor=user,
            case_id=case_id,
            kind=form.get("kind", ""),
            title=form.get("title", ""),
            file_name=upload.name or "",
            data=upload.read(),
        )
        return _done(request, _("材料已收到并校验。"), back)
    if action == "submit":
        services.review_submit(
            actor=user,
            case_id=case_id,
            leader_agreed_by=form.get("leader_agreed_by", ""),
            hearing_held=form.get("hearing_held") == "on",
        )
        return _done(request, _("已送法制审核。"), back)
    if action == "decide":
        services.decision_record(
            actor=user,
            case_id=case_id,
            kind=form.get("kind", ""),
            document_number=form.get("document_number", ""),
            summary=form.get("summary", ""),
            legal_basis=form.get("legal_basis", ""),
        )
        return _done(request, _("决定已记录。"), back)
    if action == "revoke":
        services.decision_revoke(
            actor=user,
            case_id=case_id,
            ground=form.get("ground", ""),
            reason=form.get("reason", ""),
        )
        return _done(request, _("已登记决定撤销，公示信息随即撤下。"), back)
    if action == "advance":
        services.case_stage_advance(actor=user, case_id=case_id, to=form.get("to", ""))
        return _done(request, _("案件已进入下一阶段。"), back)
    if action == "archive":
        services.case_archive(
            actor=user, case_id=case_id, archive_number=form.get("archive_number", "")
        )
        return _done(request, _("案卷已归档，此后不能再修改。"), back)
    raise NotFound(_("没有该操作。"))


@require_GET
@page
def case_file(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """The 卷宗 as a PDF (every printing is audited)."""
    user = user_of(request)
    case = _case_or_404(user, case_id)
    data = case_file_pdf(case)
    audit_record(
        actor=Actor.user(user),
        action="case.file_printed",
        object_type="case",
        object_id=case.pk,
        data={"archive_number": case.archive_number},
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="case-{case.year}-{case.sequence}.pdf"'
    return response


@require_GET
@page
def document_download(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    """A document's bytes as received, verified against its SHA-256 before they are sent."""
    user = user_of(request)
    document = CaseDocument.objects.filter(
        case__in=selectors.cases_visible_to(user), pk=document_id
    ).first()
    if document is None:
        raise NotFound(_("没有该材料。"))
    data = services.document_read(document)
    audit_record(
        actor=Actor.user(user),
        action="case.document_read",
        object_type="case",
        object_id=document.case_id,
        data={"document_id": str(document.pk)},
    )
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.pk}{_suffix(document)}"'
    return response


def _suffix(document: CaseDocument) -> str:
    name = document.file_name
    return name[name.rfind(".") :] if "." in name else ""


@require_GET
@page
def review_queue(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.role not in QUEUE_ROLES:
        return forbidden(request, _("只有法制审核人员、监督人员和系统管理员可以查看审核队列。"))
    today = timezone.localdate()
    rows = list(selectors.reviews_queue(user)[:200])
    return render(request, "cases/review_queue.html", {"rows": rows, "today": today})


@require_GET
@page
def review_page(request: HttpRequest, review_id: int) -> HttpResponse:
    user = user_of(request)
    if user.role not in QUEUE_ROLES:
        raise NotFound(_("没有该审核。"))
    review = selectors.review_detail(user, review_id)
    if review is None:
        raise NotFound(_("没有该审核。"))
    case = _case_or_404(user, review.case_id)
    return render(
        request,
        "cases/review.html",
        {
            "review": review,
            "case": case,
            "coverage": selectors.case_coverage(case),
            "documents": list(case.documents.all()),
            "points": list(services.REVIEW_POINTS.items()),
            "opinions": OpinionKind.choices,
            "pause_reasons": PauseReason.choices,
            "is_reviewer": user.role == Role.LEGAL_OFFICER,
            "is_leader": user.role in LEADER_ROLES,
            "may_act": (
                user.role == Role.LEGAL_OFFICER
                and review.state in (ReviewState.SUBMITTED, ReviewState.PAUSED)
            )
            or (
                user.role in LEADER_ROLES
                and (
                    review.state == ReviewState.DISPUTED
                    or (
                        review.extended_by_id is None
                        and review.state in (ReviewState.SUBMITTED, ReviewState.PAUSED)
                    )
                )
            ),
            "pauses": list(review.pauses.all()),
            "today": timezone.localdate(),
        },
    )


@require_POST
@page
def review_action(request: HttpRequest, review_id: int, action: str) -> HttpResponse:
    user = user_of(request)
    form = request.POST
    back = reverse("cases:review", args=[review_id])
    if action == "pause":
        services.review_pause(
            actor=user,
            review_id=review_id,
            reason=form.get("reason", ""),
            note=form.get("note", ""),
        )
        return _done(request, _("审核计时已暂停。"), back)
    if action == "resume":
        services.review_resume(actor=user, review_id=review_id)
        return _done(request, _("审核计时已恢复。"), back)
    if action == "extend":
        services.review_extend(actor=user, review_id=review_id, reason=form.get("reason", ""))
        return _done(request, _("审核期限已延长 10 个工作日。"), back)
    if action == "opinion":
        services.review_opinion(
            actor=user,
            review_id=review_id,
            opinion=form.get("opinion", ""),
            reasons=form.get("reasons", ""),
            points={key: form.get(f"point_{key}", "") for key in services.REVIEW_POINTS},
        )
        return _done(request, _("审核意见已出具，意见书已存入案卷。"), back)
    if action == "head":
        services.review_head_decide(
            actor=user,
            review_id=review_id,
            proceed=form.get("proceed") == "1",
            note=form.get("note", ""),
        )
        return _done(request, _("分歧已处理。"), back)
    if action in ("accept", "object"):
        case_back = reverse("cases:detail", args=[services.review.reviews_case_of(review_id).pk])
        if action == "accept":
            services.review_accept(actor=user, review_id=review_id)
            return _done(request, _("已采纳审核意见，案件回到调查取证。"), case_back)
        services.review_object(actor=user, review_id=review_id, objection=form.get("objection", ""))
        return _done(request, _("分歧已报负责人处理。"), case_back)
    raise NotFound(_("没有该操作。"))


@require_GET
@page
def supervision(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.role not in LEADER_ROLES:
        raise PermissionDenied(_("只有负责人可以查看。"), code="leader_only")
    today = timezone.localdate()
    queue = list(selectors.reviews_queue(user)[:200])
    return render(
        request,
        "cases/supervision.html",
        {
            "disputed": [r for r in queue if r.state == ReviewState.DISPUTED],
            "running": [r for r in queue if r.state in (ReviewState.SUBMITTED, ReviewState.PAUSED)],
            "archive_overdue": list(
                selectors.cases_archive_overdue(user, today=today).order_by("archive_by")[:200]
            ),
            "today": today,
        },
    )


# The XLSX keeps the official Chinese headers; the page shows them in the reader's language.
REGISTER_COLUMNS = ("卷宗号", "案号", "当事人", "案由", "承办人员", "结案日期", "归档日期")
REGISTER_LABELS = (
    gettext_lazy("卷宗号"),
    gettext_lazy("案号"),
    gettext_lazy("当事人"),
    gettext_lazy("案由"),
    gettext_lazy("承办人员"),
    gettext_lazy("结案日期"),
    gettext_lazy("归档日期"),
)
REGISTER_EXPORT_ROWS = 10_000


def _register_row(case: Any) -> tuple[str, ...]:
    return (
        case.archive_number,
        case.number,
        case.party_name,
        case.matter,
        "、".join(o.name for o in case.officers.all()),
        case.closed_on.isoformat() if case.closed_on else "",
        timezone.localtime(case.archived_at).date().isoformat() if case.archived_at else "",
    )


@require_GET
@page
def register(request: HttpRequest) -> HttpResponse:
    """案卷登记簿: every archived file of the caller's unit and below."""
    user = user_of(request)
    if not selectors.may_see_cases(user):
        return forbidden(
            request, _("只有执法人员、监督人员、法制审核人员和系统管理员可以查看案件。")
        )
    rows = selectors.archive_register(user, before=_keyset(request.GET.get("before")))
    more = len(rows) > selectors.PAGE_SIZE
    rows = rows[: selectors.PAGE_SIZE]
    last = rows[-1] if more and rows else None
    older = f"{last.archived_at.isoformat()}_{last.pk}" if last and last.archived_at else ""
    return render(
        request,
        "cases/register.html",
        {
            "rows": [(c, _register_row(c)) for c in rows],
            "older": older,
            "columns": REGISTER_LABELS,
        },
    )


@require_GET
@page
def register_export(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not selectors.may_see_cases(user):
        return forbidden(
            request, _("只有执法人员、监督人员、法制审核人员和系统管理员可以查看案件。")
        )
    rows = selectors.archive_register(user, limit=REGISTER_EXPORT_ROWS)[:REGISTER_EXPORT_ROWS]
    return table_response(
        title=_("案卷登记簿"),
        sheet="案卷登记簿",
        headers=REGISTER_COLUMNS,
        rows=[_register_row(c) for c in rows],
    )


# -- the review catalogue (法制审核目录清单) -------------------------------------------------

CATALOGUE_MANAGERS = {Role.LEGAL_OFFICER, Role.SUPERVISOR, Role.SYSTEM_ADMIN}


def _catalogue_manager(request: HttpRequest) -> User | None:
    user = user_of(request)
    return user if user.role in CATALOGUE_MANAGERS and user.unit is not None else None


@require_http_methods(["GET", "POST"])
@login_required
def catalogue_import(request: HttpRequest) -> HttpResponse:
    user = _catalogue_manager(request)
    if user is None:
        return forbidden(request, _("目录清单由本单位的法制审核人员、监督人员或系统管理员维护。"))
    return keyed_list_page(
        request,
        spec=CATALOGUE,
        unit=user.unit,
        actor=user,
        key="review_catalogue",
        title=_("重大行政执法决定法制审核目录清单"),
        intro=_(
            "按目录清单的格式导入（可带标题行、合并表头、注释，CSV 或 Excel）。立案时选择清单中的"
            "审核项目，该案即须经法制审核。同一审核项目再次导入即更新。"
        ),
        export_url=reverse("cases:catalogue_export"),
    )


@require_GET
@login_required
def catalogue_export(request: HttpRequest) -> HttpResponse:
    user = _catalogue_manager(request)
    if user is None:
        return forbidden(request, _("目录清单由本单位的法制审核人员、监督人员或系统管理员维护。"))
    assert user.unit is not None
    return keyed_list_export(
        spec=CATALOGUE,
        unit=user.unit,
        title=f"{user.unit.name}重大行政执法决定法制审核目录清单",
        sheet="法制审核目录清单",
    )
