"""Request and response shapes of the documented API (ARCHITECTURE.md's OpenAPI block, components/schemas)."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import AnalysisJob, AnalysisResult, JobStatus, MediaAsset, MediaKind, Prediction, Priority
from ..options import MODEL_CHOICES

MAX_JSON_FIELD = 16 * 1024


class AnalysisOptionsSerializer(serializers.Serializer[dict[str, Any]]):
    models = serializers.ListField(
        child=serializers.ChoiceField(choices=MODEL_CHOICES), required=False, max_length=16,
        help_text="Models to run: the documented names (cnn_v2, temporal_v1, audio_v3, ensemble) or the "
                  "engine's detector names. Default: every detector.",
    )
    detailed_analysis = serializers.BooleanField(default=False, help_text="Heatmaps and per-face evidence")
    face_detection = serializers.BooleanField(default=True, help_text="Run the per-face manipulation detector")
    confidence_threshold = serializers.FloatField(
        min_value=0.0, max_value=1.0, default=0.5,
        help_text="A verdict whose confidence is below this becomes unknown (reason below_confidence_threshold)",
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)


class AnalysisMetadataSerializer(serializers.Serializer[dict[str, Any]]):
    source = serializers.CharField(max_length=500, required=False, help_text="Source of the media file")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=32,
                                 help_text="Tags for categorization")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        known = super().to_internal_value(data)
        extra = {k: v for k, v in data.items() if k not in self.fields}
        return {**extra, **known}  # other keys are kept as given (the contract says "additional metadata")


class JSONObjectField(serializers.Field):  # type: ignore[type-arg]
    """A multipart form field holding a JSON object, validated by ``serializer_class``."""

    serializer_class: type[serializers.Serializer[Any]]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            if len(data) > MAX_JSON_FIELD:
                raise serializers.ValidationError(f"Too long (at most {MAX_JSON_FIELD} characters).")
            try:
                data = json.loads(data) if data.strip() else {}
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(f"Not valid JSON: {exc.msg} at position {exc.pos}.") from exc
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        inner = self.serializer_class(data=data)
        if not inner.is_valid():
            raise serializers.ValidationError(inner.errors)
        return dict(inner.validated_data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(AnalysisOptionsSerializer)
class OptionsField(JSONObjectField):
    serializer_class = AnalysisOptionsSerializer


@extend_schema_field(AnalysisMetadataSerializer)
class MetadataField(JSONObjectField):
    serializer_class = AnalysisMetadataSerializer


class AnalysisCreateSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(required=False, allow_empty_file=True, help_text="Media file to analyze")
    file_id = serializers.UUIDField(required=False, help_text="Instead of file: an id from POST /files/upload")
    options = OptionsField(required=False, help_text="AnalysisOptions as a JSON object")
    metadata = MetadataField(required=False, help_text="Additional metadata (source, tags) as a JSON object")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("file_id" in attrs):
            raise serializers.ValidationError({"file": ["Send a file (or a file_id from /files/upload)."]})
        if "options" not in attrs:
            attrs["options"] = dict(AnalysisOptionsSerializer(data={}).run_validation({}))
        return attrs


class FileUploadSerializer(serializers.Serializer[dict[str, Any]]):
    file = serializers.FileField(allow_empty_file=True)


class ListQuerySerializer(serializers.Serializer[dict[str, Any]]):
    # bounded: a huge page number overflowed the database OFFSET (a 500 found by schemathesis)
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    sort = serializers.ChoiceField(choices=["created_at", "updated_at", "confidence"], default="created_at")
    order = serializers.ChoiceField(choices=["asc", "desc"], default="desc")


class PaginationSerializer(serializers.Serializer[dict[str, Any]]):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    has_next = serializers.BooleanField()
    has_previous = serializers.BooleanField()


class AnalysisJobSerializer(serializers.ModelSerializer[AnalysisJob]):
    user_id = serializers.SerializerMethodField()
    filename = serializers.CharField(source="file_name")
    file_type = serializers.ChoiceField(choices=MediaKind.choices)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)

    class Meta:
        model = AnalysisJob
        fields = ["id", "user_id", "filename", "file_type", "file_size", "status", "priority", "progress",
                  "created_at", "updated_at", "estimated_completion"]
        read_only_fields = fields

    def get_user_id(self, job: AnalysisJob) -> str:
        return str(job.user_id)


class JobErrorSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField()
    message = serializers.CharField()


class JobLinksSerializer(serializers.Serializer[dict[str, Any]]):
    self = serializers.CharField()
    results = serializers.CharField()
    cancel = serializers.CharField()
    file_status = serializers.CharField()
    download = serializers.CharField()


class AnalysisJobDetailSerializer(AnalysisJobSerializer):
    file_id = serializers.UUIDField(source="asset_id")
    sha256 = serializers.CharField(source="file_sha256")
    format = serializers.CharField(source="file_format")
    error = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta(AnalysisJobSerializer.Meta):
        fields = [*AnalysisJobSerializer.Meta.fields, "file_id", "sha256", "format", "stage", "options",
                  "metadata", "queued_at", "started_at", "completed_at", "attempts", "error", "links"]
        read_only_fields = fields

    @extend_schema_field(JobErrorSerializer(allow_null=True))
    def get_error(self, job: AnalysisJob) -> dict[str, str] | None:
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            return None
        return {"code": job.error_code, "message": job.error_message}

    @extend_schema_field(JobLinksSerializer)
    def get_links(self, job: AnalysisJob) -> dict[str, str]:
        return {
            "self": reverse("analysis-detail", kwargs={"jobId": job.pk}),
            "results": reverse("analysis-results", kwargs={"jobId": job.pk}),
            "cancel": reverse("analysis-cancel", kwargs={"jobId": job.pk}),
            "file_status": reverse("files-status", kwargs={"fileId": job.asset_id}),
            "download": reverse("files-download", kwargs={"fileId": job.asset_id}),
        }


class FeatureMapSerializer(serializers.Serializer[dict[str, Any]]):
    layer = serializers.CharField()
    activation_map = serializers.CharField(help_text="base64 PNG")
    target = serializers.CharField(required=False)
    box = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True)


class EvidenceSerializer(serializers.Serializer[dict[str, Any]]):
    facial_inconsistencies = serializers.FloatField(min_value=0, max_value=1, allow_null=True)
    temporal_artifacts = serializers.FloatField(min_value=0, max_value=1, allow_null=True)
    compression_anomalies = serializers.FloatField(min_value=0, max_value=1, allow_null=True)
    feature_maps = FeatureMapSerializer(many=True)
    findings = serializers.ListField(child=serializers.DictField(), required=False)


class AnalysisResultSerializer(serializers.ModelSerializer[AnalysisResult]):
    job_id = serializers.UUIDField()
    prediction = serializers.ChoiceField(choices=Prediction.choices)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    processing_time = serializers.FloatField(allow_null=True, help_text="Processing time in seconds")
    models_used = serializers.ListField(child=serializers.CharField())
    evidence = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisResult
        fields = ["job_id", "prediction", "confidence", "is_authentic", "models_used", "processing_time",
                  "evidence", "metadata", "created_at"]
        read_only_fields = fields

    @extend_schema_field(EvidenceSerializer)
    def get_evidence(self, result: AnalysisResult) -> dict[str, Any]:
        evidence = dict(result.evidence_data)
        evidence.setdefault("feature_maps", [])
        for key in ("facial_inconsistencies", "temporal_artifacts", "compression_anomalies"):
            evidence.setdefault(key, None)
        return evidence

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_metadata(self, result: AnalysisResult) -> dict[str, Any]:
        job = result.job
        features = result.features_detected
        return {
            "file": {"name": job.file_name, "type": job.file_type, "format": job.file_format,
                     "size": job.file_size, "sha256": job.file_sha256, "media": result.media_info},
            "reason": result.reason or None,
            "fake_probability": float(result.fake_probability) if result.fake_probability is not None else None,
            "scores": features.get("scores", {}),
            "faces": features.get("faces", []),
            "detectors": features.get("detectors", []),
            "engine_prediction": features.get("engine_prediction"),
            "confidence_threshold": features.get("confidence_threshold"),
            "provenance": result.provenance,
            "submitted_metadata": job.metadata,
        }


class MediaAssetSerializer(serializers.ModelSerializer[MediaAsset]):
    filename = serializers.CharField(source="file_name")
    file_type = serializers.ChoiceField(choices=MediaKind.choices, source="kind")
    file_size = serializers.IntegerField(source="size")

    class Meta:
        model = MediaAsset
        fields = ["id", "filename", "file_type", "format", "mime", "file_size", "sha256", "created_at"]
        read_only_fields = fields


class FileStatusSerializer(MediaAssetSerializer):
    status = serializers.SerializerMethodField(help_text="stored: kept and ready to analyse or download")
    latest_job = serializers.SerializerMethodField()
    jobs = serializers.SerializerMethodField()

    class Meta(MediaAssetSerializer.Meta):
        fields = [*MediaAssetSerializer.Meta.fields, "status", "latest_job", "jobs"]
        read_only_fields = fields

    def get_status(self, asset: MediaAsset) -> str:
        return "stored"

    @extend_schema_field(AnalysisJobSerializer(allow_null=True))
    def get_latest_job(self, asset: MediaAsset) -> dict[str, Any] | None:
        job = self.context["jobs"].first()
        return AnalysisJobSerializer(job).data if job is not None else None

    def get_jobs(self, asset: MediaAsset) -> int:
        return int(self.context["jobs"].count())


class ModelSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["detector", "fusion"])
    version = serializers.CharField(allow_null=True)
    media_types = serializers.ListField(child=serializers.CharField())
    weights_file = serializers.CharField(allow_null=True)
    weights_sha256 = serializers.CharField(allow_null=True)
    fused = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["ready", "missing_weights", "unavailable"])
    detail = serializers.CharField(allow_null=True)


class ModelStatusSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField()
    status = serializers.ChoiceField(choices=["ready", "missing_weights", "unavailable"])
    detail = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    weights_sha256 = serializers.CharField(allow_null=True)
    jobs_last_24h = serializers.IntegerField(help_text="Completed analyses that used this model in 24 h")


class PerformanceSerializer(serializers.Serializer[dict[str, Any]]):
    version = serializers.CharField()
    dataset_name = serializers.CharField()
    accuracy = serializers.FloatField(allow_null=True)
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    f1_score = serializers.FloatField(allow_null=True)
    roc_auc = serializers.FloatField(allow_null=True)
    test_date = serializers.DateTimeField()
    extra = serializers.DictField()


class ModelMetricsSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField()
    version = serializers.CharField(allow_null=True)
    fusion = serializers.DictField(help_text="Fitted fusion parameters (weights, temperature, abstention band)")
    evaluations = PerformanceSerializer(many=True)
