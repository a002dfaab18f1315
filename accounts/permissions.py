"""DRF permission classes built from roles.py; views name a capability, never a role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from .roles import Capability, has


def require(*caps: Capability, methods: tuple[str, ...] | None = None) -> type[BasePermission]:
    """A permission class granting access when the user holds every capability in ``caps``.

    With ``methods``, the requirement applies only to those HTTP methods (others need just authentication).
    """

    class _Requires(BasePermission):
        message = "You do not have permission to perform this action."

        def has_permission(self, request: Any, view: Any) -> bool:
            if not (request.user and request.user.is_authenticated):
                return False
            if methods is not None and request.method not in methods:
                return True
            return all(has(request.user, c) for c in caps)

    _Requires.__name__ = "Requires_" + "_".join(c.name for c in caps)
    return _Requires
