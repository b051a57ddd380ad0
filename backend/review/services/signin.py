"""Sign-in lockout: failed attempts per account and per address, recorded and counted."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.audit.services import Actor, audit_record
from backend.review.models import (
    LoginAttempt,
)

# -- sign-in lockout -----------------------------------------------------------------------


def login_failures_allowed() -> int:
    return int(getattr(settings, "FV_LOGIN_MAX_FAILURES", 5))


def login_lockout_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "FV_LOGIN_LOCKOUT_MINUTES", 15)))


def login_locked_until(
    *, username: str, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When the user name is locked (N failures since the last success, within M minutes),
    the moment the lock ends; otherwise None."""
    now = now or timezone.now()
    window_start = now - login_lockout_window()
    recent = list(
        LoginAttempt.objects.filter(username__iexact=username, occurred_at__gte=window_start)
        .order_by("-occurred_at")
        .values_list("succeeded", "occurred_at")[: login_failures_allowed()]
    )
    if len(recent) < login_failures_allowed() or any(ok for ok, _at in recent):
        return None
    return recent[0][1] + login_lockout_window()


def login_ip_failures_allowed() -> int:
    return int(getattr(settings, "FV_LOGIN_IP_MAX_FAILURES", 20))


def login_ip_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "FV_LOGIN_IP_WINDOW_MINUTES", 15)))


def login_ip_blocked_until(
    *, ip_address: str | None, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When one IP address has failed N times within M minutes (any user names), the moment
    the block ends (when the oldest of those N failures leaves the window); otherwise None.
    Unlike the per-name lockout a success does not reset it: signing in to one's own
    account must not buy more guesses at other people's."""
    if not ip_address:
        return None
    now = now or timezone.now()
    allowed = login_ip_failures_allowed()
    recent = list(
        LoginAttempt.objects.filter(
            ip_address=ip_address, succeeded=False, occurred_at__gte=now - login_ip_window()
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[:allowed]
    )
    if len(recent) < allowed:
        return None
    return recent[-1] + login_ip_window()


def login_ip_refusal_record(
    *, username: str, ip_address: str | None, until: datetime.datetime
) -> None:
    """Audit a sign-in refused because its IP address is throttled. No LoginAttempt row is
    written, so the refusal neither extends the block nor counts against the user name."""
    audit_record(
        actor=Actor.system(),
        action="login.ip_throttled",
        object_type="ip_address",
        object_id=(ip_address or "")[:64],
        data={"ip": ip_address, "username": username[:150], "until": until.isoformat()},
    )


def login_attempt_record(*, username: str, ip_address: str | None, succeeded: bool) -> None:
    with transaction.atomic():
        LoginAttempt.objects.create(
            username=username[:150], ip_address=ip_address, succeeded=succeeded
        )
        audit_record(
            actor=Actor.system(),
            action="login.succeeded" if succeeded else "login.failed",
            object_type="username",
            object_id=username[:64],
            data={"ip": ip_address},
        )
