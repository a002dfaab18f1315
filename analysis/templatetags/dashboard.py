"""``{% if user|can:"analysis.submit" %}``: templates ask roles.py, like views do (never compare role names)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.roles import Capability, has

register = template.Library()


@register.filter
def can(user: Any, capability: str) -> bool:
    return has(user, Capability(capability))
