"""Pages of the accounts app: the certificate watch list (持证上岗)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.accounts import selectors
from backend.accounts.models import User

MAX_ROWS = 500  # one unit's officers; a bureau has tens to a few hundred


@require_GET
@login_required
def certificates(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not selectors.user_has_role(user, *selectors.CERTIFICATE_PAGE_ROLES):
        return render(
            request,
            "review/error.html",
            {"code": "forbidden", "message": _("只有监督人员、法制审核人员和系统管理员可以查看。")},
            status=403,
        )
    today = timezone.localdate()
    rows = []
    for officer in selectors.officers_certificate_watch(user, today=today)[:MAX_ROWS]:
        until = officer.certificate_valid_until
        rows.append(
            {
                "officer": officer,
                "problem": officer.certificate_problem,
                "days_left": (until - today).days if until is not None else None,
            }
        )
    return render(
        request,
        "accounts/certificates.html",
        {"rows": rows, "today": today, "within_days": selectors.CERTIFICATE_WATCH_DAYS},
    )
