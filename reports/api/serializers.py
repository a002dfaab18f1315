from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Report, ReportFormat, ReportStatus


class FormatQuerySerializer(serializers.Serializer[dict[str, Any]]):
    format = serializers.ChoiceField(choices=ReportFormat.choices, default=ReportFormat.JSON)


class ReportCreateSerializer(serializers.Serializer[dict[str, Any]]):
    job_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=200,
                                    help_text="Jobs to include, in order (each must be visible to you)")
    format = serializers.ChoiceField(choices=ReportFormat.choices, default=ReportFormat.PDF)


class ReportSerializer(serializers.ModelSerializer[Report]):
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    format = serializers.ChoiceField(choices=ReportFormat.choices)
    job_ids = serializers.ListField(child=serializers.UUIDField())
    error = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Set once the report is completed")
    links = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "status", "format", "job_ids", "size", "created_at", "started_at", "completed_at", "error",
                  "download_url", "links"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_error(self, report: Report) -> dict[str, str] | None:
        if report.status != ReportStatus.FAILED:
            return None
        return {"code": report.error_code, "message": report.error_message}

    def get_download_url(self, report: Report) -> str | None:
        if report.status != ReportStatus.COMPLETED:
            return None
        return reverse("reports-download", kwargs={"reportId": report.pk})

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_links(self, report: Report) -> dict[str, str]:
        return {"self": reverse("reports-detail", kwargs={"reportId": report.pk}),
                "download": reverse("reports-download", kwargs={"reportId": report.pk})}


class AnalyticsQuerySerializer(serializers.Serializer[dict[str, Any]]):
    days = serializers.IntegerField(min_value=1, max_value=366, default=30)


class AnalyticsSerializer(serializers.Serializer[dict[str, Any]]):
    period = serializers.DictField()
    totals = serializers.DictField()
    analyses_over_time = serializers.ListField(child=serializers.DictField(),
                                               help_text="Per day: total, completed, failed")
    verdict_distribution = serializers.DictField(child=serializers.IntegerField())
    media_types = serializers.DictField(child=serializers.IntegerField())
    processing_time = serializers.DictField(help_text="Seconds: count, mean, p50, p95, max; overall and per type")
    model_performance = serializers.ListField(child=serializers.DictField(),
                                              help_text="Latest model_performance row per model")
