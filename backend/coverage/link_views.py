"""Supervisors' tools on the activity page: link a recording by hand or unlink one, each
with a reason (audited by the coverage services), and re-check the activity now. Every
action posts and redirects back to the activity (reloading the page never re-posts); an
invalid form comes back on its own page with the errors and what was typed (status 400)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.accounts.models import Role, User
from backend.accounts.selectors import user_has_role
from backend.config.errors import FieldVaultError, NotFound, PermissionDenied
from backend.coverage import services
from backend.coverage.forms import LinkForm, UnlinkForm
from backend.coverage.models import RecordingLink
from backend.enforcement.models import Activity, ActivityOfficer
from backend.enforcement.selectors import activity_get_visible
from backend.footage.models import Recording
from backend.footage.selectors import recording_get_visible, recordings_visible_to
from backend.web.pages import page
from coverage_core.evaluation import Verdict
from coverage_core.wording import VERDICT_LABELS_EN, VERDICT_LABELS_ZH

LINK_ROLES = (Role.SUPERVISOR, Role.LEGAL_OFFICER, Role.SYSTEM_ADMIN)
# Candidates: the participants' recordings overlapping the activity widened by this margin.
CANDIDATE_MARGIN = datetime.timedelta(hours=2)
CANDIDATE_LIMIT = 30


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def may_link(user: User) -> bool:
    return user_has_role(user, *LINK_ROLES)


def _recording_label(recording: Recording) -> str:
    start = timezone.localtime(recording.started_at)
    end = timezone.localtime(recording.ended_at)
    officer = recording.officer.name if recording.officer else _("（未知执法人员）")
    return f"{officer} · {recording.device.serial} · {start:%m-%d %H:%M:%S}–{end:%H:%M:%S}"


def link_candidates(user: User, activity: Activity) -> list[tuple[str, str]]:
    """Recordings the user may see, of the activity's officers, overlapping its window
    (± 2 h), not linked yet: the choices of the link form."""
    end = activity.stopped_at or timezone.now()
    officers = ActivityOfficer.objects.filter(activity=activity).values("officer_id")
    linked = RecordingLink.objects.filter(activity=activity, excluded=False).values("recording_id")
    found = (
        recordings_visible_to(user)
        .filter(
            officer_id__in=officers,
            started_at__lt=end + CANDIDATE_MARGIN,
            ended_at__gt=activity.started_at - CANDIDATE_MARGIN,
        )
        .exclude(pk__in=linked)
        .order_by("started_at")[:CANDIDATE_LIMIT]
    )
    return [(str(r.pk), _recording_label(r)) for r in found]


def link_context(user: User, activity: Activity) -> dict[str, Any]:
    """What the activity page shows the supervisor: the link form and unlink forms."""
    if not may_link(user):
        return {"may_link": False}
    return {
        "may_link": True,
        "link_form": LinkForm(candidates=link_candidates(user, activity)),
        "unlink_form": UnlinkForm(),
        "excluded_links": list(
            RecordingLink.objects.filter(activity=activity, excluded=True)
            .select_related("recording", "changed_by")
            .order_by("-updated_at")[:20]
        ),
    }


def _activity_for_linker(request: HttpRequest, activity_id: str) -> tuple[User, Activity]:
    user = _user(request)
    activity = activity_get_visible(user=user, activity_id=activity_id)
    if activity is None:
        raise NotFound(_("没有该执法活动"), code="activity_not_found")
    if not may_link(user):
        raise PermissionDenied(
            _("只有监督人员、法制审核人员和系统管理员可以关联或核查"), code="forbidden"
        )
    return user, activity


def _back(activity: Activity) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("review:activity", args=[activity.pk]) + "#links")


def _verdict_words(activity: Activity) -> str:
    """The stored verdict in the page's language."""
    verdict = (
        Activity.objects.filter(pk=activity.pk).values_list("coverage__verdict", flat=True).first()
    )
    if not verdict:
        return _("未检查")
    try:
        key = Verdict(verdict)
    except ValueError:
        return str(verdict)
    english = (get_language() or "").startswith("en")
    return (VERDICT_LABELS_EN if english else VERDICT_LABELS_ZH)[key]


@require_POST
@page
def recheck(request: HttpRequest, activity_id: str) -> HttpResponse:
    """Link and re-check the activity now (as the API's coverage_recheck)."""
    _unused, activity = _activity_for_linker(request, activity_id)
    services.coverage_activity_refresh(activity.pk)
    messages.success(
        request, _("已重新核查，结论：%(verdict)s") % {"verdict": _verdict_words(activity)}
    )
    return _back(activity)


def _form_page(
    request: HttpRequest,
    activity: Activity,
    form: LinkForm | UnlinkForm,
    status: int = 400,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        "coverage/link.html",
        {"activity": activity, "form": form, **extra},
        status=status,
    )


@require_POST
@page
def link_add(request: HttpRequest, activity_id: str) -> HttpResponse:
    user, activity = _activity_for_linker(request, activity_id)
    form = LinkForm(request.POST, candidates=link_candidates(user, activity))
    if not form.is_valid():
        return _form_page(request, activity, form, adding=True)
    recording = recording_get_visible(user=user, recording_id=form.recording_number())
    if recording is None:
        form.add_error("recording", _("没有该音像记录，或无权查看"))
        return _form_page(request, activity, form, adding=True)
    try:
        services.recording_link_add(
            user=user, activity=activity, recording=recording, reason=form.cleaned_data["reason"]
        )
    except FieldVaultError as error:  # refused (already linked, not a participant): in words
        form.add_error(None, error.message)
        return _form_page(request, activity, form, error.status, adding=True)
    messages.success(
        request,
        _("已关联 %(recording)s，结论：%(verdict)s")
        % {"recording": _recording_label(recording), "verdict": _verdict_words(activity)},
    )
    return _back(activity)


@require_POST
@page
def link_remove(request: HttpRequest, activity_id: str, recording_id: str) -> HttpResponse:
    user, activity = _activity_for_linker(request, activity_id)
    recording = recording_get_visible(user=user, recording_id=recording_id)
    if recording is None:
        raise NotFound(_("没有该音像记录"), code="recording_not_found")
    form = UnlinkForm(request.POST)
    if not form.is_valid():
        return _form_page(request, activity, form, recording=recording)
    try:
        services.recording_link_remove(
            user=user, activity=activity, recording=recording, reason=form.cleaned_data["reason"]
        )
    except FieldVaultError as error:
        form.add_error(None, error.message)
        return _form_page(request, activity, form, error.status, recording=recording)
    messages.success(
        request,
        _("已取消关联 %(recording)s，结论：%(verdict)s")
        % {"recording": _recording_label(recording), "verdict": _verdict_words(activity)},
    )
    return _back(activity)
