from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "user", "format", "status", "size", "created_at", "completed_at")
    list_filter = ("status", "format", "created_at")
    search_fields = ("id", "user__username")
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False
