"""Admin views of jobs, results, media, metrics and the audit trail; job lists go through visible_to()."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from accounts.roles import Capability, has

from . import audit, services
from .exceptions import ServiceError
from .models import ACTIVE_STATUSES, AnalysisJob, AnalysisResult, JobStatus, MediaAsset, ModelPerformance, SystemLog


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


class ResultInline(admin.StackedInline):  # type: ignore[type-arg]
    model = AnalysisResult
    can_delete = False
    extra = 0
    fields = ["prediction", "confidence", "fake_probability", "reason", "models_used", "processing_time",
              "engine_version", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AnalysisJob)
class AnalysisJobAdmin(ReadMostlyAdmin):
    list_display = ["id", "file_name", "user", "file_type", "status", "verdict", "priority", "progress",
                    "created_at", "attempts", "error_code"]
    list_filter = ["status", "priority", "file_type", "result__prediction", "created_at"]
    search_fields = ["id", "file_name", "file_sha256", "user__username", "error_code"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "result"]
    inlines = [ResultInline]
    actions = ["cancel", "requeue"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return AnalysisJob.objects.visible_to(request.user).select_related("user", "result")

    @admin.display(description="verdict", ordering="result__prediction")
    def verdict(self, job: AnalysisJob) -> str:
        result = getattr(job, "result", None) if job.status == JobStatus.COMPLETED else None
        return f"{result.prediction} ({float(result.confidence):.2f})" if result is not None else "–"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return has(request.user, Capability.CANCEL)

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return has(request.user, Capability.MANAGE_USERS)

    @admin.action(description="Cancel the selected jobs", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for job in queryset.filter(status__in=ACTIVE_STATUSES):
            try:
                services.cancel_job(job, user=request.user, request=request)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{job.pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Cancelled {done} job(s).")

    @admin.action(description="Requeue: re-send waiting jobs, re-submit failed or cancelled ones",
                  permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: Any) -> None:
        """Pending/queued jobs go to the broker again (services.enqueue; a claim makes a duplicate harmless);
        failed and cancelled ones become a new job on the same stored file for the same owner."""
        resent = resubmitted = 0
        for job in queryset.select_related("asset", "user"):
            if job.status in (JobStatus.PENDING, JobStatus.QUEUED):
                resent += int(services.enqueue(str(job.pk), job.priority))
            elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                try:
                    services.submit_analysis(job.user, asset=job.asset, options=job.options,
                                             metadata={**job.metadata, "requeued_from": str(job.pk)}, request=request)
                    resubmitted += 1
                except Exception as exc:  # noqa: BLE001 - report per job (e.g. the owner may no longer submit)
                    self.message_user(request, f"{job.pk}: {exc}", messages.WARNING)
        self.message_user(request, f"Re-sent {resent} waiting job(s); re-submitted {resubmitted} as new job(s).")


@admin.register(AnalysisResult)
class AnalysisResultAdmin(ReadMostlyAdmin):
    """Read-only: a verdict is written once by complete_job and never edited."""

    list_display = ["job", "prediction", "confidence", "fake_probability", "reason", "processing_time",
                    "engine_version", "created_at", "dashboard_link"]
    list_filter = ["prediction", "reason", "engine_version", "job__file_type"]
    search_fields = ["job__id", "job__file_name", "job__file_sha256", "job__user__username"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AnalysisResult._meta.fields]

    def get_queryset(self, request: HttpRequest) -> Any:
        visible = AnalysisJob.objects.visible_to(request.user)
        return AnalysisResult.objects.filter(job__in=visible).select_related("job")

    @admin.display(description="dashboard")
    def dashboard_link(self, result: AnalysisResult) -> str:
        return format_html('<a href="/jobs/{}/">open</a>', result.job_id)


@admin.register(MediaAsset)
class MediaAssetAdmin(ReadMostlyAdmin):
    list_display = ["file_name", "owner", "kind", "format", "size", "sha256", "created_at"]
    list_filter = ["kind", "format", "created_at"]
    search_fields = ["file_name", "sha256", "owner__username"]
    readonly_fields = [f.name for f in MediaAsset._meta.fields]

    def get_queryset(self, request: HttpRequest) -> Any:
        return MediaAsset.objects.visible_to(request.user)


@admin.register(ModelPerformance)
class ModelPerformanceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["model_name", "version", "dataset_name", "accuracy", "precision_score", "recall", "f1_score",
                    "roc_auc", "test_date"]
    list_filter = ["model_name", "version", "dataset_name"]
    search_fields = ["model_name", "version", "dataset_name"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has(request.user, Capability.MANAGE_USERS)

    has_view_permission = has_add_permission = has_change_permission = has_delete_permission = (  # type: ignore[assignment]
        lambda self, request, obj=None: has(request.user, Capability.MANAGE_USERS)
    )


@admin.register(SystemLog)
class SystemLogAdmin(ReadMostlyAdmin):
    view_capability = Capability.VIEW_AUDIT
    list_display = ["created_at", "level", "event", "user", "ip_address", "message"]
    list_filter = ["event", "level", "created_at"]
    search_fields = ["message", "user__username", "ip_address", "module"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SystemLog._meta.fields]
    actions = ["export_csv", "export_jsonl"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail is append-only

    @admin.action(description="Export selected audit records as CSV")
    def export_csv(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        return self._export(request, queryset, "csv")

    @admin.action(description="Export selected audit records as JSON Lines")
    def export_jsonl(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        return self._export(request, queryset, "jsonl")

    def _export(self, request: HttpRequest, queryset: Any, fmt: str) -> HttpResponse:
        """A download of the selection, in the format of ``manage.py export_audit`` (ops.lifecycle); audited."""
        import io

        from config.ops.lifecycle import export_audit

        buffer = io.StringIO()
        count = export_audit(buffer, fmt, queryset.select_related("user").order_by("created_at", "pk"))
        audit.record("audit_export", f"exported {count} audit records ({fmt}) from the admin", request=request,
                     format=fmt, rows=count)
        content_type = "text/csv" if fmt == "csv" else "application/x-ndjson"
        response = HttpResponse(buffer.getvalue(), content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.{fmt}"'
        return response
