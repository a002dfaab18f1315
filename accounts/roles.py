"""Roles and what each may do: the ONE place the product's RBAC is written down.

Views, the admin, WebSocket consumers and reports ask ``has(user, Capability.X)``; nobody compares role
names elsewhere. Seeing a job is decided by ``AnalysisJob.objects.visible_to(user)``, which reads
``Capability.VIEW_ALL_JOBS`` from here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    ANALYST = "analyst", "Analyst"
    AUDITOR = "auditor", "Auditor (read-only)"
    API_CLIENT = "api_client", "API client"


class Capability(StrEnum):
    SUBMIT = "analysis.submit"  # upload media and create analysis jobs
    CANCEL = "analysis.cancel"  # cancel jobs one can see
    VIEW_ALL_JOBS = "analysis.view_all"  # see every user's jobs, results and files (read-only)
    DOWNLOAD = "files.download"  # download the original media of jobs one can see
    VIEW_MODELS = "models.view"  # list detectors, their status and metrics
    MANAGE_USERS = "accounts.manage"  # users, roles and API keys of others (admin site)
    VIEW_AUDIT = "audit.view"  # the audit trail (system_logs)
    EXPORT = "reports.export"  # PDF/CSV/JSON exports, multi-job reports and analytics of the jobs one can see
    MANAGE_WEBHOOKS = "notifications.webhooks"  # register webhooks that receive one's job events


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.ANALYST: frozenset({Capability.SUBMIT, Capability.CANCEL, Capability.DOWNLOAD, Capability.VIEW_MODELS,
                             Capability.EXPORT, Capability.MANAGE_WEBHOOKS}),
    Role.AUDITOR: frozenset(
        {Capability.VIEW_ALL_JOBS, Capability.DOWNLOAD, Capability.VIEW_MODELS, Capability.VIEW_AUDIT,
         Capability.EXPORT}
    ),
    Role.API_CLIENT: frozenset({Capability.SUBMIT, Capability.CANCEL, Capability.DOWNLOAD, Capability.VIEW_MODELS,
                                Capability.EXPORT, Capability.MANAGE_WEBHOOKS}),
}

DEFAULT_ROLE = Role.ANALYST


def capabilities(user: Any) -> frozenset[Capability]:
    """What ``user`` may do; nothing for anonymous or inactive users, everything for superusers."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(Capability)
    return ROLE_CAPABILITIES.get(getattr(user, "role", ""), frozenset())


def has(user: Any, capability: Capability) -> bool:
    return capability in capabilities(user)
