from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("url", "user", "is_active", "events", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("url", "user__username", "description")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The delivery log is read-only."""

    list_display = ("id", "event", "transport", "url", "status", "attempts", "status_code", "created_at")
    list_filter = ("status", "transport", "event", "created_at")
    search_fields = ("url", "user__username", "job_id")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
