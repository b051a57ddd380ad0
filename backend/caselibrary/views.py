"""Pages of the case library: the library (accepted cases; category, 主题词, full text),
the author unit's drafts and the reviewer's queue, starting a case from a case file or a
correction record, editing the template's sections, the side-by-side de-identification
page, submission and the levels' verdicts. Every write calls one service; a refusal renders
the error page with its 4xx status."""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.caselibrary import selectors, services
from backend.caselibrary.models import (
    EDITABLE_STATES,
    LibraryCase,
    LibraryState,
    RedactionKind,
)
from backend.caselibrary.services import package as package_services
from backend.caselibrary.services.common import AUTHOR_ROLES, REVIEWER_ROLES
from backend.caselibrary.services.deidentify import SECTIONS
from backend.config.errors import InvalidInput, NotFound
from backend.importpages import forbidden, user_of
from backend.web.pages import page


def _section_labels() -> dict[str, str]:
    return {
        "title": _("标题"),
        "facts": _("基本案情"),
        "handling": _("处理过程与结果"),
        "analysis": _("评析/法律依据"),
    }


def _case_or_404(user: User, case_id: uuid.UUID) -> LibraryCase:
    case = selectors.library_case_get(user, case_id)
    if case is None:
        raise NotFound(_("没有该案例。"))
    return case


def _insider(user: User, case: LibraryCase) -> bool:
    """The author unit or a reviewer of a level it reached: may see the source text."""
    if user.role in AUTHOR_ROLES and user.unit_id == case.author_unit_id:
        return True
    return user.role in REVIEWER_ROLES and any(
        level.unit_id == user.unit_id for level in case.levels.all()
    )


def _term_ids(values: list[str]) -> list[int]:
    try:
        return [int(v) for v in values if v]
    except ValueError:
        raise InvalidInput(_("主题词无效。"), code="invalid_term") from None


@require_GET
@page
def library(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    token = request.GET.get("after", "")
    after = selectors.LibraryCursor.parse(token) if token else None
    if token and after is None:
        raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor")
    term_text = request.GET.get("term", "")
    if term_text and not term_text.isdigit():
        raise InvalidInput(_("主题词无效。"), code="invalid_term")
    category = request.GET.get("category", "")
    query = request.GET.get("q", "").strip()[:100]
    rows, cursor = selectors.library_search(
        user,
        category_code=category,
        term_id=int(term_text) if term_text else None,
        query=query,
        after=after,
    )
    return render(
        request,
        "caselibrary/library.html",
        {
            "rows": rows,
            "next": cursor.token() if cursor else "",
            "categories": selectors.categories(),
            "vocabulary": selectors.vocabulary(),
            "category": category,
            "term": term_text,
            "q": query,
            "may_author": selectors.may_author(user),
            "may_review": selectors.may_review(user),
            "may_quota": user.role in selectors.QUOTA_ROLES,
            "may_package": user.role in package_services.PACKAGE_ROLES and bool(user.unit_id),
        },
    )


@require_GET
@page
def drafts(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not (selectors.may_author(user) or selectors.may_review(user)):
        return forbidden(request, _("只有各单位的工作人员可以选编或评审案例。"))
    return render(
        request,
        "caselibrary/drafts.html",
        {"drafts": selectors.drafts_of_unit(user), "queue": selectors.review_queue(user)},
    )


@require_http_methods(["GET", "POST"])
@page
def start(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not selectors.may_author(user):
        return forbidden(request, _("只有本单位的工作人员可以选编案例。"))
    source = request.POST if request.method == "POST" else request.GET
    case_text, subject_text = source.get("case", ""), source.get("subject", "")
    try:
        case_id = uuid.UUID(case_text) if case_text else None
        subject_id = str(uuid.UUID(subject_text)) if subject_text else None
    except ValueError:
        raise InvalidInput(_("案件或矫正对象编号无效。"), code="invalid_source") from None
    if (case_id is None) == (subject_id is None):
        raise InvalidInput(_("请从一个案件或一名矫正对象开始。"), code="source_required")
    if request.method == "POST":
        created = services.library_case_start(
            actor=user,
            category_code=request.POST.get("category", ""),
            term_ids=_term_ids(request.POST.getlist("terms")),
            case_id=case_id,
            subject_id=subject_id,
        )
        messages.success(request, _("已生成案例初稿，请核对脱敏情况。"))
        return redirect("caselibrary:masking", case_id=created.pk)
    return render(
        request,
        "caselibrary/new.html",
        {
            "case": case_text,
            "subject": subject_text,
            "categories": selectors.categories(),
            "vocabulary": selectors.vocabulary(),
        },
    )


@require_GET
@page
def detail(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = user_of(request)
    case = _case_or_404(user, case_id)
    insider = _insider(user, case)
    redactions = list(case.redactions.all())
    if case.state == LibraryState.ACCEPTED:
        text = {
            "title": case.public_title,
            "facts": case.public_facts,
            "handling": case.public_handling,
            "analysis": case.public_analysis,
        }
    else:
        text = services.masked_sections(case, redactions)
    levels = list(case.levels.all())
    current = next((lv for lv in levels if lv.level == case.level), None)
    reviewing = bool(
        case.state == LibraryState.IN_REVIEW
        and current is not None
        and user.role in REVIEWER_ROLES
        and current.unit_id == user.unit_id
        and user.pk != case.author_id
    )
    labels = _section_labels()
    return render(
        request,
        "caselibrary/detail.html",
        {
            "case": case,
            "sections": [(labels[name], text[name]) for name in SECTIONS if name != "title"],
            "title": text["title"],
            "terms": list(case.terms.all()),
            "insider": insider,
            "evidence": list(case.evidence.all()) if insider else [],
            "history": selectors.history_of(case) if insider else [],
            "editable": insider
            and case.state in EDITABLE_STATES
            and user.role in AUTHOR_ROLES
            and user.unit_id == case.author_unit_id,
            "reviewing": reviewing,
            "current_unit": current.unit if current else None,
        },
    )


@require_http_methods(["GET", "POST"])
@page
def edit(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = user_of(request)
    case = _case_or_404(user, case_id)
    if not (user.role in AUTHOR_ROLES and user.unit_id == case.author_unit_id):
        return forbidden(request, _("只有编写单位的工作人员可以修改案例。"))
    if request.method == "POST":
        services.library_case_edit(
            actor=user,
            case_id=case_id,
            sections={name: request.POST.get(name, "") for name in SECTIONS},
            category_code=request.POST.get("category", ""),
            term_ids=_term_ids(request.POST.getlist("terms")),
        )
        messages.success(request, _("已保存。新增的身份信息已自动隐去，请核对。"))
        return redirect("caselibrary:masking", case_id=case_id)
    labels = _section_labels()
    return render(
        request,
        "caselibrary/edit.html",
        {
            "case": case,
            "fields": [(name, labels[name], getattr(case, name)) for name in SECTIONS],
            "categories": selectors.categories(),
            "vocabulary": selectors.vocabulary(),
            "chosen": {t.pk for t in case.terms.all()},
            "editable": case.state in EDITABLE_STATES,
        },
    )


@require_GET
@page
def masking(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """Side by side: the text as written (each change marked) and as it will be read."""
    user = user_of(request)
    case = _case_or_404(user, case_id)
    if not _insider(user, case):
        return forbidden(request, _("只有编写单位和评审人员可以查看脱敏对照。"))
    redactions = list(case.redactions.all())
    labels = _section_labels()
    rows = [(labels[name], services.segments(getattr(case, name), redactions)) for name in SECTIONS]
    findings = services.detector_findings(case)
    return render(
        request,
        "caselibrary/masking.html",
        {
            "case": case,
            "rows": rows,
            "redactions": redactions,
            "findings": findings,
            "kinds": RedactionKind.choices,
            "editable": case.state in EDITABLE_STATES
            and user.role in AUTHOR_ROLES
            and user.unit_id == case.author_unit_id,
        },
    )


@require_POST
@page
def action(request: HttpRequest, case_id: uuid.UUID, action: str) -> HttpResponse:
    user = user_of(request)
    form = request.POST
    back_masking = reverse("caselibrary:masking", args=[case_id])
    back = reverse("caselibrary:detail", args=[case_id])
    if action == "mask":
        services.redaction_add(
            actor=user,
            case_id=case_id,
            original=form.get("original", ""),
            replacement=form.get("replacement", ""),
            kind=form.get("kind", ""),
        )
        messages.success(request, _("已隐去。"))
        return redirect(back_masking)
    if action in ("unmask", "remask"):
        rid = form.get("redaction", "")
        if not rid.isdigit():
            raise InvalidInput(_("请选择一处脱敏。"), code="redaction_required")
        services.redaction_set_undone(
            actor=user, case_id=case_id, redaction_id=int(rid), undone=action == "unmask"
        )
        messages.success(
            request, _("已撤销该处脱敏。") if action == "unmask" else _("已恢复该处脱敏。")
        )
        return redirect(back_masking)
    if action == "submit":
        services.library_case_submit(actor=user, case_id=case_id)
        messages.success(request, _("已署名报送评审。"))
        return redirect(back)
    if action in ("approve", "return", "reject"):
        result = services.library_case_review(
            actor=user, case_id=case_id, verdict=action, comments=form.get("comments", "")
        )
        done = {
            "approve": _("已审核通过。"),
            "return": _("已退回修改。"),
            "reject": _("已决定不予入库。"),
        }[action]
        if result.state == LibraryState.ACCEPTED:
            done = _("已审核通过，案例入库。")
        messages.success(request, done)
        return redirect(back)
    raise NotFound(_("没有这个操作。"))


def _day(text: str, default: datetime.date) -> datetime.date:
    if not text:
        return default
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("日期应为 YYYY-MM-DD。"), code="invalid_date") from None


@require_GET
@page
def quota(request: HttpRequest) -> HttpResponse:
    """The monthly (or per-deadline) report: accepted cases per category against the quota,
    the categories short of it named."""
    user = user_of(request)
    if user.role not in selectors.QUOTA_ROLES:
        return forbidden(request, _("只有监督人员、法制审核人员和系统管理员可以查看案例报送情况。"))
    today = timezone.localdate()
    since = _day(request.GET.get("since", ""), today.replace(day=1))
    until = _day(request.GET.get("until", ""), today)
    if until < since or (until - since).days > 3660:
        raise InvalidInput(_("统计区间无效。"), code="invalid_period")
    rows = selectors.quota_report(user, since=since, until=until)
    return render(
        request,
        "caselibrary/quota.html",
        {
            "rows": rows,
            "since": since,
            "until": until,
            "gaps": [r for r in rows if r.gap],
        },
    )


@require_http_methods(["GET", "POST"])
@page
def package(request: HttpRequest) -> HttpResponse:
    """Choose accepted cases of one's units and download the submission package (ZIP)."""
    user = user_of(request)
    if user.role not in package_services.PACKAGE_ROLES:
        return forbidden(request, _("只有监督人员、法制审核人员和系统管理员可以生成报送包。"))
    if request.method == "POST":
        try:
            ids = [uuid.UUID(v) for v in request.POST.getlist("cases")]
        except ValueError:
            raise InvalidInput(_("案例编号无效。"), code="invalid_case") from None
        data, digest = package_services.package_build(actor=user, case_ids=ids)
        response = HttpResponse(data, content_type="application/zip")
        day = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="caselibrary-{day}-{digest[:12]}.zip"'
        )
        response["X-Content-SHA256"] = digest
        return response
    rows = selectors.packable_cases(user)
    return render(request, "caselibrary/package.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@page
def package_import_page(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.role not in package_services.PACKAGE_ROLES or user.unit_id is None:
        return forbidden(request, _("只有监督人员、法制审核人员和系统管理员可以导入报送包。"))
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(_("请选择文件。"), code="file_required")
        imported = package_services.package_import(actor=user, data=upload.read())
        messages.success(
            request, _("已导入%(n)s个案例（已有的不重复导入）。") % {"n": len(imported)}
        )
        return redirect("caselibrary:library")
    return render(request, "caselibrary/import.html", {})
