"""REST views for /analysis, /files and /models. Thin: validate, call services, serialise."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import F
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require
from accounts.roles import Capability
from config.throttling import UploadIPThrottle, UploadUserThrottle

from .. import audit, catalog, services
from ..exceptions import Conflict, ServiceError
from ..models import AnalysisJob, JobStatus, MediaAsset
from .errors import (
    E400,
    E401,
    E403,
    E404,
    E409,
    E413,
    E429,
)
from .serializers import (
    AnalysisCreateSerializer,
    AnalysisJobDetailSerializer,
    AnalysisJobSerializer,
    AnalysisResultSerializer,
    FileStatusSerializer,
    FileUploadSerializer,
    ListQuerySerializer,
    MediaAssetSerializer,
    ModelMetricsSerializer,
    ModelSerializer,
    ModelStatusSerializer,
    PaginationSerializer,
)

JOB_ID = OpenApiParameter("jobId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Analysis job id")
FILE_ID = OpenApiParameter("fileId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Uploaded file id")
MODEL_ID = OpenApiParameter("modelId", OpenApiTypes.STR, OpenApiParameter.PATH, description="Model id (GET /models)")

UPLOAD_THROTTLES = [UploadUserThrottle, UploadIPThrottle]


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound() from exc


def visible_job(request: Request, job_id: str) -> AnalysisJob:
    """The caller's view of one job; anyone else's job does not exist (404)."""
    job = (AnalysisJob.objects.visible_to(request.user).select_related("asset")
           .filter(pk=_uuid_or_404(job_id)).first())
    if job is None:
        raise NotFound()
    return job


def visible_asset(request: Request, file_id: str) -> MediaAsset:
    asset = MediaAsset.objects.visible_to(request.user).filter(pk=_uuid_or_404(file_id)).first()
    if asset is None:
        raise NotFound()
    return asset


class AnalysisCollectionView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.SUBMIT, methods=("POST",))]
    parser_classes = [MultiPartParser, FormParser]

    def get_throttles(self) -> list[Any]:
        extra = [t() for t in UPLOAD_THROTTLES] if self.request.method == "POST" else []
        return [*super().get_throttles(), *extra]

    @extend_schema(
        tags=["Analysis"], operation_id="analysis_create", summary="Create new analysis job",
        description="Submit a media file (multipart) for deepfake analysis. The type is read from the content. "
                    "Returns the job (201, Location header); follow progress at /analysis/{jobId}.",
        request={"multipart/form-data": AnalysisCreateSerializer},
        responses={201: AnalysisJobSerializer, 400: E400, 401: E401, 403: E403, 413: E413, 429: E429},
    )
    def post(self, request: Request) -> Response:
        body = AnalysisCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        asset = None
        if "file_id" in data:
            asset = MediaAsset.objects.filter(owner=request.user, pk=data["file_id"]).first()
            if asset is None:
                raise ServiceError("file_id: no such uploaded file of yours.", code="invalid_request")
        job = services.submit_analysis(request.user, upload=data.get("file"), asset=asset,
                                       options=data["options"], metadata=data.get("metadata"), request=request)
        location = request.build_absolute_uri(f"/api/v2/analysis/{job.pk}")
        return Response(AnalysisJobSerializer(job).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})

    @extend_schema(
        tags=["Analysis"], operation_id="analysis_list", summary="List analysis jobs",
        description="The caller's jobs (auditors and administrators: everyone's), paginated.",
        parameters=[ListQuerySerializer],
        responses={200: inline_serializer("AnalysisJobPage", {
            "data": AnalysisJobSerializer(many=True), "pagination": PaginationSerializer()}),
            400: E400, 401: E401, 429: E429},
    )
    def get(self, request: Request) -> Response:
        query = ListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        jobs = AnalysisJob.objects.visible_to(request.user)
        if "status" in q:
            jobs = jobs.filter(status=q["status"])
        key = {"created_at": F("created_at"), "updated_at": F("updated_at"),
               "confidence": F("result__confidence")}[q["sort"]]
        ordering = key.desc(nulls_last=True) if q["order"] == "desc" else key.asc(nulls_last=True)
        jobs = jobs.order_by(ordering, "-created_at" if q["order"] == "desc" else "created_at", "pk")
        total = jobs.count()
        page, limit = q["page"], q["limit"]
        rows = jobs[(page - 1) * limit: page * limit]
        pages = max(1, math.ceil(total / limit))
        return Response({
            "data": AnalysisJobSerializer(rows, many=True).data,
            "pagination": {"page": page, "limit": limit, "total": total, "total_pages": pages,
                           "has_next": page < pages, "has_previous": page > 1},
        })


class AnalysisDetailView(APIView):
    @extend_schema(tags=["Analysis"], operation_id="analysis_retrieve", summary="Get analysis job details",
                   parameters=[JOB_ID], responses={200: AnalysisJobDetailSerializer, 401: E401, 404: E404})
    def get(self, request: Request, jobId: str) -> Response:
        return Response(AnalysisJobDetailSerializer(visible_job(request, jobId)).data)

    @extend_schema(tags=["Analysis"], operation_id="analysis_delete", summary="Delete an analysis job",
                   description="The owner's right to delete: the job and its result go (a running job is cancelled "
                               "first), and the uploaded file too when no other job uses it. Audited.",
                   parameters=[JOB_ID], responses={204: None, 401: E401, 403: E403, 404: E404})
    def delete(self, request: Request, jobId: str) -> Response:
        from config.ops.lifecycle import delete_job

        delete_job(visible_job(request, jobId), user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileDetailView(APIView):
    @extend_schema(tags=["Files"], operation_id="files_delete", summary="Delete an uploaded file",
                   description="The owner's right to delete: the file, every job made from it and their results. "
                               "Audited; the stored bytes are removed once no other user's upload holds them.",
                   parameters=[FILE_ID], responses={204: None, 401: E401, 403: E403, 404: E404})
    def delete(self, request: Request, fileId: str) -> Response:
        from config.ops.lifecycle import delete_asset

        delete_asset(visible_asset(request, fileId), user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnalysisResultsView(APIView):
    @extend_schema(
        tags=["Analysis"], operation_id="analysis_results", summary="Get analysis results",
        description="The verdict with evidence and provenance (format=json), or the same result as a PDF or CSV "
                    "report (a download, audited; see reports/). "
                    "409 while the job is not completed (code results_not_ready, or the failure code).",
        parameters=[JOB_ID, OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "pdf", "csv"],
                                             default="json")],
        responses={(200, "application/json"): AnalysisResultSerializer,
                   (200, "application/pdf"): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.STR,
                   400: E400, 401: E401, 404: E404, 409: E409},
    )
    def get(self, request: Request, jobId: str) -> Any:
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "pdf", "csv"):
            raise ServiceError(f"format must be json, pdf or csv, not {fmt!r}.", code="invalid_request")
        job = visible_job(request, jobId)
        if fmt != "json":
            from reports.api.views import job_export_response

            return job_export_response(request, job, fmt)
        if job.status != JobStatus.COMPLETED:
            if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise Conflict(f"The analysis {job.status}: {job.error_message}", code=job.error_code or job.status)
            raise Conflict(f"The analysis is {job.status} ({job.progress}%); results are not ready yet.",
                           code="results_not_ready")
        result = job.result
        result.job = job
        return Response(AnalysisResultSerializer(result).data)


class AnalysisCancelView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.CANCEL)]

    @extend_schema(tags=["Analysis"], operation_id="analysis_cancel", summary="Cancel an analysis job",
                   description="Stops a queued job, and a running one at its next stage.", request=None,
                   parameters=[JOB_ID],
                   responses={200: AnalysisJobDetailSerializer, 401: E401, 403: E403, 404: E404, 409: E409})
    def post(self, request: Request, jobId: str) -> Response:
        job = services.cancel_job(visible_job(request, jobId), user=request.user, request=request)
        return Response(AnalysisJobDetailSerializer(job).data)


class FileUploadView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.SUBMIT)]
    parser_classes = [MultiPartParser, FormParser]

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), *(t() for t in UPLOAD_THROTTLES)]

    @extend_schema(tags=["Files"], operation_id="files_upload", summary="Upload a media file (without analysing it)",
                   description="201 for a new file, 200 when you already uploaded the same bytes (same id).",
                   request={"multipart/form-data": FileUploadSerializer},
                   responses={201: MediaAssetSerializer, 200: MediaAssetSerializer, 400: E400, 401: E401,
                              403: E403, 413: E413, 429: E429})
    def post(self, request: Request) -> Response:
        body = FileUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        asset, created = services.store_upload(request.user, body.validated_data["file"], request=request)
        return Response(MediaAssetSerializer(asset).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FileStatusView(APIView):
    @extend_schema(tags=["Files"], operation_id="files_status", summary="Status of an uploaded file",
                   parameters=[FILE_ID], responses={200: FileStatusSerializer, 401: E401, 404: E404})
    def get(self, request: Request, fileId: str) -> Response:
        asset = visible_asset(request, fileId)
        jobs = AnalysisJob.objects.visible_to(request.user).filter(asset=asset).order_by("-created_at")
        return Response(FileStatusSerializer(asset, context={"jobs": jobs}).data)


class FileDownloadView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.DOWNLOAD)]

    @extend_schema(tags=["Files"], operation_id="files_download", summary="Download the original file",
                   parameters=[FILE_ID],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 401: E401, 403: E403,
                              404: E404, 302: OpenApiResponse(description="STORAGE_SIGNED_REDIRECTS: to a "
                                                                          "short-lived signed URL of the store")})
    def get(self, request: Request, fileId: str) -> FileResponse:
        asset = visible_asset(request, fileId)
        try:
            handle = default_storage.open(asset.storage_name, "rb")
        except FileNotFoundError as exc:
            raise NotFound() from exc
        audit.record("download", f"downloaded {asset.file_name}", request=request, asset_id=str(asset.pk),
                     sha256=asset.sha256, owner_id=asset.owner_id)
        signed = services.signed_download_url(asset.storage_name, asset.file_name, asset.mime)
        if signed:
            handle.close()
            return HttpResponseRedirect(signed)  # type: ignore[return-value]
        response = FileResponse(handle, as_attachment=True, filename=asset.file_name, content_type=asset.mime)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class ModelListView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.VIEW_MODELS)]

    @extend_schema(tags=["Models"], operation_id="models_list", summary="Detectors and fusion of this engine",
                   responses={200: inline_serializer("ModelList", {"data": ModelSerializer(many=True)}),
                              401: E401, 403: E403})
    def get(self, request: Request) -> Response:
        return Response({"data": ModelSerializer(catalog.list_models(), many=True).data})


def _model_or_404(model_id: str, reader: Any) -> dict[str, Any]:
    try:
        return dict(reader(model_id))
    except KeyError as exc:
        raise NotFound() from exc


class ModelStatusView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.VIEW_MODELS)]

    @extend_schema(tags=["Models"], operation_id="models_status", summary="Is this model ready to serve",
                   parameters=[MODEL_ID], responses={200: ModelStatusSerializer, 401: E401, 403: E403, 404: E404})
    def get(self, request: Request, modelId: str) -> Response:
        return Response(ModelStatusSerializer(_model_or_404(modelId, catalog.model_status)).data)


class ModelMetricsView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.VIEW_MODELS)]

    @extend_schema(tags=["Models"], operation_id="models_metrics", summary="Fusion parameters and evaluations",
                   parameters=[MODEL_ID], responses={200: ModelMetricsSerializer, 401: E401, 403: E403, 404: E404})
    def get(self, request: Request, modelId: str) -> Response:
        return Response(ModelMetricsSerializer(_model_or_404(modelId, catalog.model_metrics)).data)

