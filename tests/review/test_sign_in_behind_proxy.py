"""The per-IP sign-in throttle behind a reverse proxy: clients are told apart by
X-Forwarded-For only when the request comes from a trusted proxy (FV_TRUSTED_PROXIES)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from backend.accounts.models import Role
from backend.audit.models import AuditEvent
from backend.review.models import LoginAttempt
from tests.factories import make_user
from tests.review.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
ALICE = "203.0.113.7"  # an attacker guessing passwords, behind the proxy
BOB = "198.51.100.9"  # a colleague behind the same proxy


@dataclass
class Attempt:
    status_code: int
    text: str
    signed_in: bool


def sign_in(
    username: str, password: str, *, peer: str, forwarded_for: str | None = None
) -> Attempt:
    client = Client()
    extra = {"REMOTE_ADDR": peer}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, **extra
    )
    return Attempt(
        response.status_code, response.content.decode(), "_auth_user_id" in client.session
    )


@pytest.fixture
def throttle(settings: Any) -> Any:
    settings.FV_LOGIN_IP_MAX_FAILURES = 3
    settings.FV_LOGIN_IP_WINDOW_MINUTES = 15
    settings.FV_LOGIN_MAX_FAILURES = 50
    return settings


def test_two_clients_behind_a_trusted_proxy_are_throttled_separately(throttle: Any) -> None:
    throttle.FV_TRUSTED_PROXIES = ["10.0.0.0/24"]
    bob = make_user(role=Role.SUPERVISOR)
    for n in range(3):
        failed = sign_in(f"guess-{n}", "wrong", peer=PROXY, forwarded_for=ALICE)
        assert failed.status_code == 200 and not failed.signed_in
    assert set(LoginAttempt.objects.values_list("ip_address", flat=True)) == {ALICE}
    refused = sign_in(bob.username, PASSWORD, peer=PROXY, forwarded_for=ALICE)
    assert not refused.signed_in and "此 IP 地址登录失败次数过多" in refused.text
    assert AuditEvent.objects.get(action="login.ip_throttled").data["ip"] == ALICE
    # Bob, through the same proxy (here two hops: an edge proxy 10.0.0.9 then 10.0.0.5).
    allowed = sign_in(bob.username, PASSWORD, peer=PROXY, forwarded_for=f"{BOB}, 10.0.0.9")
    assert allowed.status_code == 302 and allowed.signed_in
    assert LoginAttempt.objects.get(succeeded=True).ip_address == BOB


def test_a_client_cannot_dodge_or_shift_the_throttle_with_a_forged_header(
    throttle: Any,
) -> None:
    throttle.FV_TRUSTED_PROXIES = [PROXY]
    bob = make_user(role=Role.SUPERVISOR)
    attacker = "192.0.2.66"  # connects directly, not through the proxy
    for n in range(3):
        sign_in(f"guess-{n}", "wrong", peer=attacker, forwarded_for=f"{BOB}, {PROXY}")
    assert set(LoginAttempt.objects.values_list("ip_address", flat=True)) == {attacker}
    # Still blocked whatever the header says; Bob's address was never blamed.
    blocked = sign_in(bob.username, PASSWORD, peer=attacker, forwarded_for="192.0.2.1")
    assert not blocked.signed_in and "此 IP 地址" in blocked.text
    assert sign_in(bob.username, PASSWORD, peer=PROXY, forwarded_for=BOB).signed_in


def test_without_trusted_proxies_everyone_behind_the_proxy_shares_one_address(
    throttle: Any,
) -> None:
    throttle.FV_TRUSTED_PROXIES = []
    bob = make_user(role=Role.SUPERVISOR)
    for n in range(3):
        sign_in(f"guess-{n}", "wrong", peer=PROXY, forwarded_for=ALICE)
    assert set(LoginAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}
    assert not sign_in(bob.username, PASSWORD, peer=PROXY, forwarded_for=BOB).signed_in
