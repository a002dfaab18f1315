"""Staff manage users, roles and API keys here. Access follows roles.py (accounts.manage), not Django perms."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import ApiKey, User
from .roles import Capability, has


class RoleManagedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    capability = Capability.MANAGE_USERS

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has(request.user, self.capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has(request.user, self.capability)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has(request.user, self.capability)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has(request.user, self.capability)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has(request.user, self.capability)


@admin.register(User)
class UserAdmin(RoleManagedAdmin, BaseUserAdmin):  # type: ignore[misc]
    list_display = ["username", "email", "role", "is_active", "is_staff", "last_login", "created_at"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        ("Preferences", {"fields": ("settings",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),)


@admin.register(ApiKey)
class ApiKeyAdmin(RoleManagedAdmin):
    list_display = ["name", "user", "prefix", "active", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at", "user__role"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["user", "name", "expires_at", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(boolean=True, description="active")
    def active(self, key: ApiKey) -> bool:
        return key.is_active

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = ApiKey.issue(obj.user, obj.name, expires_at=obj.expires_at)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        from analysis import audit

        audit.record("api_key_created", f"API key {key.name!r} ({key.prefix}) created for {key.user.username}",
                     request=request, key_id=key.pk, prefix=key.prefix, for_user_id=key.user_id)
        messages.warning(request, f"The new API key (shown once, copy it now): {raw}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from analysis import audit

        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            key.revoke()
            revoked += 1
            audit.record("api_key_revoked", f"API key {key.name!r} ({key.prefix}) revoked", request=request,
                         key_id=key.pk, prefix=key.prefix)
        self.message_user(request, f"Revoked {revoked} key(s).")
