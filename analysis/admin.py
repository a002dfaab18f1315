"""Admin views of jobs, results, media, metrics and the audit trail; job lists go through visible_to()."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.roles import Capability, has

from . import services
from .models import AnalysisJob, AnalysisResult, MediaAsset, ModelPerformance, SystemLog


class ReadMostlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    view_capability = Capability.VIEW_ALL_JOBS

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has(request.user, self.view_capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has(request.user, self.view_capability)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has(request.user, Capability.MANAGE_USERS)


@admin.register(AnalysisJob)
class AnalysisJobAdmin(ReadMostlyAdmin):
    list_display = ["id", "file_name", "user", "status", "priority", "progress", "created_at", "attempts"]
    list_filter = ["status", "priority", "file_type"]
    search_fields = ["id", "file_name", "file_sha256", "user__username"]
    actions = ["cancel"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return AnalysisJob.objects.visible_to(request.user).select_related("user")

    @admin.action(description="Cancel the selected jobs")
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        for job in queryset.filter(status__in=["pending", "queued", "processing"]):
            services.cancel_job(job, user=request.user, request=request)


@admin.register(AnalysisResult)
class AnalysisResultAdmin(ReadMostlyAdmin):
    list_display = ["job", "prediction", "confidence", "engine_version", "created_at"]
    list_filter = ["prediction"]

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = AnalysisJob.objects.visible_to(request.user)
        return AnalysisResult.objects.filter(job__in=visible).select_related("job")


@admin.register(MediaAsset)
class MediaAssetAdmin(ReadMostlyAdmin):
    list_display = ["file_name", "owner", "kind", "format", "size", "sha256", "created_at"]
    search_fields = ["file_name", "sha256", "owner__username"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return MediaAsset.objects.visible_to(request.user)


@admin.register(ModelPerformance)
class ModelPerformanceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["model_name", "version", "dataset_name", "accuracy", "f1_score", "roc_auc", "test_date"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has(request.user, Capability.MANAGE_USERS)

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (  # type: ignore[assignment]
        lambda self, request, obj=None: has(request.user, Capability.MANAGE_USERS)
    )


@admin.register(SystemLog)
class SystemLogAdmin(ReadMostlyAdmin):
    view_capability = Capability.VIEW_AUDIT
    list_display = ["created_at", "level", "event", "user", "ip_address", "message"]
    list_filter = ["event", "level"]
    search_fields = ["message", "user__username", "ip_address"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail is append-only
