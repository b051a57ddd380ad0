"""Codes in words for the templates."""

from __future__ import annotations

from django import template

from backend.review.playback import damage_reason_text

register = template.Library()


@register.filter
def damage_reason(code: str) -> str:
    return damage_reason_text(code or "")
