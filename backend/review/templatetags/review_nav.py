"""Which of the retention app's pages the signed-in user may open, for the top navigation.

The decisions are retention's own (backend.retention.services), so a link is shown exactly
when the page behind it answers 200 for this user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from backend.retention import services as retention
from backend.retention.permissions import REGISTER_ROLES

register = template.Library()


@dataclass(frozen=True)
class RetentionNav:
    policies: bool = False  # /retention/policies/
    capacity: bool = False  # /retention/capacity/
    destruction: bool = False  # /retention/destruction/ (and its batches)
    register: bool = False  # /retention/register/print/, when not reached via destruction
    holds: bool = False  # /retention/holds/ (legal holds and evidence marks)
    fixity: bool = False  # /retention/fixity/


@register.simple_tag
def retention_nav(user: Any) -> RetentionNav:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return RetentionNav()
    admin = retention.user_is_storage_admin(user)
    approver = retention.user_is_retention_approver(user)
    destruction = admin or approver
    return RetentionNav(
        policies=admin,
        capacity=admin,
        destruction=destruction,
        register=not destruction and user.role in REGISTER_ROLES,
        holds=admin or approver or user.role in retention.HOLD_ROLES,
        fixity=admin,
    )
