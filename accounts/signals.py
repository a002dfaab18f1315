"""Audit receivers: admin logins (API logins are recorded by the login view) and role changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from analysis import audit

from .models import User


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit.record("login", f"{user.username} logged in (session)", request=request, user=user, method="session")


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit.record("login_failed", f"failed login for {username!r}", request=request, level="WARNING",
                 username=username)


@receiver(pre_save, sender=User)
def _remember_role(sender: Any, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and "role" not in update_fields:
        instance._previous_role = None  # e.g. the last_login update on every login: no extra query
    elif instance.pk:
        instance._previous_role = User.objects.filter(pk=instance.pk).values_list("role", flat=True).first()
    else:
        instance._previous_role = None


@receiver(post_save, sender=User)
def _role_changed(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_previous_role", None)
    if created or before is None or before == instance.role:
        return
    request = audit.current_request()
    actor = getattr(request, "user", None) if request is not None else None
    audit.record(
        "role_change",
        f"role of {instance.username} changed from {before} to {instance.role}",
        request=request,
        user=actor if getattr(actor, "is_authenticated", False) else None,
        target_user_id=instance.pk,
        before=before,
        after=instance.role,
    )
