"""Exports, multi-job reports and analytics. Thin: visibility through ``visible_job`` / ``visible_to``, the rest
in ``reports.services``."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.permissions import require
from accounts.roles import Capability
from analysis.api.errors import (
    E400,
    E401,
    E403,
    E404,
    E409,
    E429,
)
from analysis.exceptions import Conflict
from analysis.models import AnalysisJob, JobStatus
from analysis.services import sanitize_filename, signed_download_url

from .. import services
from ..models import Report, ReportStatus
from ..renderers import Rendered
from .serializers import (
    AnalyticsQuerySerializer,
    AnalyticsSerializer,
    FormatQuerySerializer,
    ReportCreateSerializer,
    ReportSerializer,
)

REPORT_ID = OpenApiParameter("reportId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Report id")
RESULT_ID = OpenApiParameter("resultId", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The analysis job id (or the result's own id)")
FORMAT = OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "pdf", "csv"], default="json")
FILE_RESPONSES: dict[Any, Any] = {
    (200, "application/json"): OpenApiTypes.OBJECT,
    (200, "application/pdf"): OpenApiTypes.BINARY,
    (200, "text/csv"): OpenApiTypes.STR,
}


class ReportThrottle(UserRateThrottle):
    """Rendering is the expensive part (a PDF takes ~0.3 s of CPU): exports and report requests per user."""

    scope = "reports"


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound() from exc


def ensure_completed(job: AnalysisJob) -> None:
    """409 for a job without results (the same rule and codes as GET /analysis/{id}/results)."""
    if job.status == JobStatus.COMPLETED:
        return
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise Conflict(f"The analysis {job.status}: {job.error_message}", code=job.error_code or job.status)
    raise Conflict(f"The analysis is {job.status} ({job.progress}%); results are not ready yet.",
                   code="results_not_ready")


def file_response(rendered: Rendered, stem: str) -> HttpResponse:
    response = HttpResponse(rendered.content, content_type=rendered.content_type)
    name = f"{sanitize_filename(stem, fallback='report')}.{rendered.extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def job_export_response(request: Request, job: AnalysisJob, fmt: str) -> HttpResponse:
    """One job's report as ``fmt`` (a download, audited). ``job`` comes from ``visible_job``."""
    ensure_completed(job)
    rendered = services.export_jobs(AnalysisJob.objects.filter(pk=job.pk), fmt, user=request.user)
    services.audit_download(request, f"the {fmt} report of job {job.pk}", job_id=str(job.pk), format=fmt,
                            sha256=job.file_sha256, owner_id=job.user_id)
    return file_response(rendered, f"{job.file_name.rsplit('.', 1)[0]}-report")


class ResultExportView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.EXPORT)]

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ReportThrottle()]

    @extend_schema(tags=["Reports"], operation_id="results_export", summary="Export one analysis result",
                   description="The result as a JSON, CSV or PDF document (download). 409 until the job completed.",
                   parameters=[RESULT_ID, FORMAT],
                   responses={**FILE_RESPONSES, 400: E400, 401: E401, 403: E403, 404: E404, 409: E409, 429: E429})
    def get(self, request: Request, resultId: str) -> HttpResponse:
        query = FormatQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pk = _uuid_or_404(resultId)
        job = (AnalysisJob.objects.visible_to(request.user).filter(Q(pk=pk) | Q(result__id=pk))
               .select_related("asset").first())
        if job is None:
            raise NotFound()
        return job_export_response(request, job, query.validated_data["format"])


def visible_report(request: Request, report_id: str) -> Report:
    report = Report.objects.visible_to(request.user).filter(pk=_uuid_or_404(report_id)).first()
    if report is None:
        raise NotFound()
    return report


class ReportCollectionView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.EXPORT)]

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ReportThrottle()]

    @extend_schema(tags=["Reports"], operation_id="reports_create", summary="Generate a multi-job report",
                   description="Queued and generated in the background: 202 with the report and a Location to "
                               "poll (GET /reports/{reportId}); download from its download_url once completed.",
                   request=ReportCreateSerializer,
                   responses={202: ReportSerializer, 400: E400, 401: E401, 403: E403, 429: E429})
    def post(self, request: Request) -> Response:
        body = ReportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = services.request_report(request.user, body.validated_data["job_ids"],
                                         body.validated_data["format"])
        report.refresh_from_db()
        location = request.build_absolute_uri(f"/api/v2/reports/{report.pk}")
        return Response(ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": location})


class ReportDetailView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.EXPORT)]

    @extend_schema(tags=["Reports"], operation_id="reports_retrieve", summary="Status of a report",
                   parameters=[REPORT_ID], responses={200: ReportSerializer, 401: E401, 403: E403, 404: E404})
    def get(self, request: Request, reportId: str) -> Response:
        return Response(ReportSerializer(visible_report(request, reportId)).data)


class ReportDownloadView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.EXPORT)]

    @extend_schema(tags=["Reports"], operation_id="reports_download", summary="Download a generated report",
                   parameters=[REPORT_ID],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.STR,
                              (200, "application/json"): OpenApiTypes.OBJECT,
                              302: OpenApiResponse(description="STORAGE_SIGNED_REDIRECTS: to a short-lived signed "
                                                               "URL of the store"),
                              401: E401, 403: E403, 404: E404, 409: E409})
    def get(self, request: Request, reportId: str) -> HttpResponse:
        report = visible_report(request, reportId)
        if report.status != ReportStatus.COMPLETED:
            raise Conflict(f"The report is {report.status}; it cannot be downloaded yet.",
                           code="report_failed" if report.status == ReportStatus.FAILED else "report_not_ready")
        types = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json"}
        name = f"deepfake-report-{str(report.pk)[:8]}"
        signed = signed_download_url(report.storage_name, f"{name}.{report.format}", types[report.format])
        if signed:  # STORAGE_SIGNED_REDIRECTS with S3: the store serves the bytes
            services.audit_download(request, f"report {report.pk}", report_id=str(report.pk), format=report.format,
                                    job_ids=report.job_ids)
            return HttpResponseRedirect(signed)
        try:
            with default_storage.open(report.storage_name, "rb") as fh:
                content = fh.read()
        except FileNotFoundError as exc:
            raise NotFound() from exc

        services.audit_download(request, f"report {report.pk}", report_id=str(report.pk), format=report.format,
                                job_ids=report.job_ids)
        return file_response(Rendered(content, types[report.format], report.format), name)


class AnalyticsView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.EXPORT)]

    @extend_schema(tags=["Reports"], operation_id="analytics", summary="Analytics over the jobs you can see",
                   description="Analyses over time, verdict distribution, processing time, per-media-type counts "
                               "and model performance (latest model_performance row per model).",
                   parameters=[AnalyticsQuerySerializer],
                   responses={200: AnalyticsSerializer, 400: E400, 401: E401, 403: E403})
    def get(self, request: Request) -> Response:
        query = AnalyticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(services.analytics(request.user, days=query.validated_data["days"]))
