"""Gap explanations in the browser: a participating officer explains a gap (or a missing
recording) from the activity page; a supervisor or legal officer accepts or rejects it with
a reason (never their own); the pending ones are listed on the dashboard. The services are
those of the JSON API (coverage_explain, coverage_explanation_decide)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import Officer, Role, User
from backend.accounts.selectors import user_has_role
from backend.config.errors import InvalidInput, NotFound, PermissionDenied
from backend.coverage import selectors, services
from backend.coverage.forms import DecisionForm, ExplanationForm
from backend.coverage.models import CoverageEvaluation, ExplanationState, GapExplanation
from backend.enforcement.models import Activity, ActivityOfficer
from backend.enforcement.selectors import activities_visible_to, activity_get_visible
from backend.web.pages import page

REVIEWER_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def status_line(explanations: list[GapExplanation]) -> str:
    """ "已说明（已采纳）" and its siblings beside a verdict; "" without explanations."""
    status = selectors.explanation_status(explanations)
    return {
        "pending": _("已说明（待审核）"),
        "accepted": _("已说明（已采纳）"),
        "rejected": _("已说明（未采纳）"),
    }.get(status, "")


def _gap_choices(activity: Activity, officer_id: int | None) -> list[tuple[str, str]]:
    evaluation: CoverageEvaluation | None = getattr(activity, "coverage", None)
    if evaluation is None or officer_id is None:
        return []
    choices = []
    for found in (evaluation.detail or {}).get("officers", []):
        if str(found.get("officer_id")) != str(officer_id):
            continue
        for gap in found.get("gaps", []):
            try:
                start = datetime.datetime.fromisoformat(str(gap["from"]))
                end = datetime.datetime.fromisoformat(str(gap["to"]))
            except (KeyError, ValueError):
                continue
            label = _("%(start)s – %(end)s（%(seconds)s 秒）") % {
                "start": f"{timezone.localtime(start):%H:%M:%S}",
                "end": f"{timezone.localtime(end):%H:%M:%S}",
                "seconds": round((end - start).total_seconds()),
            }
            choices.append((f"{start.isoformat()}/{end.isoformat()}", label))
    return choices


def _participant(user: User, activity: Activity) -> Officer | None:
    officer = Officer.objects.filter(user=user).first()
    if officer is None:
        return None
    if not ActivityOfficer.objects.filter(activity=activity, officer=officer).exists():
        return None
    return officer


def explanation_context(
    user: User, activity: Activity, form: ExplanationForm | None = None
) -> dict[str, Any]:
    """What the activity page needs: the explanations with who may decide each, the
    headline status line, and the officer's form if they took part."""
    explanations = list(
        GapExplanation.objects.filter(activity=activity)
        .select_related("officer", "decided_by")
        .order_by("submitted_at")
    )
    officer = _participant(user, activity)
    reviewer = user_has_role(user, *REVIEWER_ROLES)
    return {
        "explanations": [
            {
                "e": e,
                "may_decide": reviewer
                and e.state == ExplanationState.PENDING
                and e.submitted_by_id != user.pk,
                "own": e.submitted_by_id == user.pk,
            }
            for e in explanations
        ],
        "explanation_line": status_line(explanations),
        "explain_form": form
        if form is not None
        else (ExplanationForm(gaps=_gap_choices(activity, officer.pk)) if officer else None),
        "decision_form": DecisionForm() if reviewer else None,
    }


def pending_for_reviewer(user: User) -> QuerySet[GapExplanation]:
    """Explanations awaiting a decision that the user may decide (not their own)."""
    if not user_has_role(user, *REVIEWER_ROLES):
        return GapExplanation.objects.none()
    return (
        GapExplanation.objects.filter(
            state=ExplanationState.PENDING, activity__in=activities_visible_to(user)
        )
        .exclude(submitted_by=user)
        .select_related("activity", "officer")
        .order_by("submitted_at")
    )


def _activity(user: User, activity_id: str) -> Activity:
    activity = activity_get_visible(user=user, activity_id=activity_id)
    if activity is None:
        raise NotFound(_("没有该执法活动"), code="activity_not_found")
    return activity


@require_POST
@page
def explanation_create(request: HttpRequest, activity_id: str) -> HttpResponse:
    """A participating officer explains a gap (POST-redirect-GET to the activity; an invalid
    form comes back with its errors and what was typed, status 400)."""
    user = _user(request)
    activity = _activity(user, activity_id)
    officer = _participant(user, activity)
    if officer is None:
        raise PermissionDenied(
            _("只有参与该执法活动的执法人员可以提交说明"), code="not_a_participant"
        )
    form = ExplanationForm(request.POST, gaps=_gap_choices(activity, officer.pk))
    if form.is_valid():
        data = form.cleaned_data
        gap_from = gap_to = None
        if data["gap"]:
            start, end = data["gap"].split("/", 1)
            gap_from = datetime.datetime.fromisoformat(start)
            gap_to = datetime.datetime.fromisoformat(end)
        try:
            services.explanation_submit(
                user=user,
                activity=activity,
                reason=data["reason"],
                text=data["text"],
                gap_from=gap_from,
                gap_to=gap_to,
            )
        except InvalidInput as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("说明已提交，等待审核。"))
            return HttpResponseRedirect(reverse("review:activity", args=[activity.pk]) + "#explain")
    return render(
        request,
        "coverage/explain.html",
        {"activity": activity, **explanation_context(user, activity, form)},
        status=400,
    )


@require_POST
@page
def explanation_decide(request: HttpRequest, explanation_id: int) -> HttpResponse:
    """A supervisor or legal officer accepts or rejects with a reason; never their own."""
    user = _user(request)
    explanation = selectors.explanation_get_visible(user=user, explanation_id=explanation_id)
    if explanation is None:
        raise NotFound(_("没有该说明"), code="explanation_not_found")
    if not user_has_role(user, *REVIEWER_ROLES):
        raise PermissionDenied(_("只有监督人员和法制审核人员可以审核说明"), code="forbidden")
    form = DecisionForm(request.POST)
    if form.is_valid():
        decided = services.explanation_decide(
            user=user,
            explanation=explanation,
            accept=form.cleaned_data["decision"] == "accept",
            note=form.cleaned_data["note"],
        )
        messages.success(
            request,
            _("说明已审核：%(state)s") % {"state": decided.get_state_display()},
        )
        return HttpResponseRedirect(
            reverse("review:activity", args=[explanation.activity_id]) + "#explain"
        )
    activity = explanation.activity
    context = {"activity": activity, **explanation_context(user, activity)}
    context["decision_form"] = form
    context["decision_for"] = explanation.pk
    return render(request, "coverage/explain.html", context, status=400)
