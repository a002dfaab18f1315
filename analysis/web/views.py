"""Dashboard pages. Thin: every job comes from ``AnalysisJob.objects.visible_to`` (through ``_visible_job``),
uploads go through ``services.submit_analysis``, numbers through ``stats``, models through ``catalog``."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.roles import Capability, has
from config.throttling import AuthIPThrottle, UploadIPThrottle, UploadUserThrottle

from .. import catalog, services
from ..exceptions import ServiceError
from ..models import AnalysisJob, JobStatus, MediaKind, Prediction
from ..uploads import UploadTooLarge
from . import presenters, stats

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
ACCEPT = "image/jpeg,image/png,image/webp,image/gif,image/bmp,image/tiff,video/mp4,video/webm,video/quicktime," \
         "video/x-matroska,audio/mpeg,audio/wav,audio/x-wav,audio/flac,audio/ogg,audio/mp4,audio/webm"


def _throttled(request: HttpRequest, *throttles: Any) -> float | None:
    """The API's scoped rate limits (same cache counters) for the dashboard's form posts: seconds to wait, or
    ``None`` when allowed."""
    for throttle in (t() for t in throttles):
        if not throttle.allow_request(request, None):
            return float(throttle.wait() or 1)
    return None


class LoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = _throttled(request, AuthIPThrottle)
        if wait is not None:
            response = self.render_to_response(self.get_context_data(throttled=round(wait)))
            response.status_code = 429
            response["Retry-After"] = str(round(wait))
            return response
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    pass


def _visible_job(request: HttpRequest, job_id: Any) -> AnalysisJob:
    """The one visibility rule; anyone else's job is a 404."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError as exc:
        raise Http404 from exc
    job = AnalysisJob.objects.visible_to(request.user).select_related("asset", "user", "result").filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = AnalysisJob.objects.visible_to(request.user).select_related("result", "user")
    f = {k: request.GET.get(k, "").strip() for k in ("status", "type", "verdict", "from", "to", "q")}
    if f["status"] in JobStatus.values:
        jobs = jobs.filter(status=f["status"])
    if f["type"] in MediaKind.values:
        jobs = jobs.filter(file_type=f["type"])
    if f["verdict"] in Prediction.values:
        jobs = jobs.filter(result__prediction=f["verdict"])
    if since := _date(f["from"]):
        jobs = jobs.filter(created_at__date__gte=since)
    if until := _date(f["to"]):
        jobs = jobs.filter(created_at__date__lte=until)
    if f["q"]:
        jobs = jobs.filter(Q(file_name__icontains=f["q"]) | Q(metadata__tags__icontains=f["q"]))
    page = Paginator(jobs.order_by("-created_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "dashboard/jobs.html", {
        "page": page, "filters": f, "query": query.urlencode(), "statuses": JobStatus.values,
        "kinds": MediaKind.values, "verdicts": Prediction.values, "nav": "jobs",
        "show_owner": has(request.user, Capability.VIEW_ALL_JOBS),
    })


def _metadata(request: HttpRequest) -> dict[str, Any]:
    tags = [t.strip() for t in request.POST.get("tags", "").split(",") if t.strip()][:20]
    meta: dict[str, Any] = {"source": "dashboard"}
    if tags:
        meta["tags"] = tags
    return meta


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    can_submit = has(request.user, Capability.SUBMIT)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "POST":
        if not can_submit:
            if wants_json:
                return JsonResponse({"error": "This account may not submit media for analysis.",
                                     "code": "permission_denied"}, status=403)
            raise PermissionDenied("This account may not submit media for analysis.")
        try:
            files = request.FILES.getlist("files")
        except UploadTooLarge:  # the streaming limit (analysis/uploads.py) stopped the body
            message = f"A file exceeds the {filesizeformat(settings.UPLOAD_MAX_BYTES)} limit."
            if wants_json:
                return JsonResponse({"jobs": [], "errors": [{"file": "", "error": message, "code": "file_too_large"}]},
                                    status=413)
            messages.error(request, message)
            return redirect("dashboard:upload")
        options = {"priority": request.POST.get("priority") or "normal",
                   "detailed_analysis": request.POST.get("detailed") == "on"}
        if options["priority"] not in ("low", "normal", "high", "urgent"):
            options["priority"] = "normal"
        created, errors = [], []
        for upload_file in files:
            wait = _throttled(request, UploadUserThrottle, UploadIPThrottle)
            if wait is not None:
                errors.append({"file": upload_file.name, "code": "rate_limited",
                               "error": f"Too many uploads; try again in {round(wait)} s."})
                continue
            try:
                job = services.submit_analysis(request.user, upload=upload_file, options=options,
                                               metadata=_metadata(request), request=request)
            except ServiceError as exc:
                errors.append({"file": upload_file.name, "error": exc.message, "code": exc.code})
                continue
            created.append({"id": str(job.pk), "file": job.file_name, "type": job.file_type,
                            "url": reverse("dashboard:job", args=[job.pk])})
        if not created and not errors:
            errors.append({"file": "", "error": "Choose at least one file.", "code": "no_file"})
        if wants_json:
            limited = not created and any(e["code"] == "rate_limited" for e in errors)
            return JsonResponse({"jobs": created, "errors": errors}, status=201 if created else 429 if limited else 400)
        for e in errors:
            messages.error(request, f"{e['file']}: {e['error']}")
        if len(created) == 1:
            return redirect(created[0]["url"])
        if created:
            messages.success(request, f"{len(created)} files submitted.")
            return redirect("dashboard:jobs")
    return render(request, "dashboard/upload.html", {
        "can_submit": can_submit, "max_bytes": settings.UPLOAD_MAX_BYTES, "accept": ACCEPT, "nav": "upload",
    }, status=200 if can_submit or request.method == "GET" else 403)


@login_required
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _visible_job(request, job_id)
    context = presenters.job_page(job)
    context.update({
        "job": job, "nav": "jobs", "final": job.is_final,
        "can_cancel": has(request.user, Capability.CANCEL) and not job.is_final,
        "live": {"id": str(job.pk), "status": job.status, "progress": job.progress, "stage": job.stage,
                 "ws": f"/ws/analysis/{job.pk}", "api": f"/api/v2/analysis/{job.pk}"},
    })
    return render(request, "dashboard/job.html", context)


@login_required
@require_http_methods(["POST"])
def job_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _visible_job(request, job_id)
    if not has(request.user, Capability.CANCEL):
        raise PermissionDenied
    try:
        services.cancel_job(job, user=request.user, request=request)
        messages.success(request, "The job was cancelled.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return redirect("dashboard:job", job_id=job.pk)


@login_required
def job_media(request: HttpRequest, job_id: str) -> FileResponse:
    """The analysed file, inline, for the job page (the same visibility rule; no download audit: not a copy)."""
    job = _visible_job(request, job_id)
    try:
        handle = default_storage.open(job.file_path, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=job.asset.mime)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def analytics(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/analytics.html", {"a": stats.analytics(request.user), "nav": "analytics"})


@login_required
def models(request: HttpRequest) -> HttpResponse:
    if not has(request.user, Capability.VIEW_MODELS):
        raise PermissionDenied
    rows = []
    for model in catalog.list_models():
        status = catalog.model_status(model["id"])
        metrics = catalog.model_metrics(model["id"])
        rows.append({**model, "jobs_last_24h": status["jobs_last_24h"], "evaluations": metrics["evaluations"][:5],
                     "fusion": metrics["fusion"]})
    return render(request, "dashboard/models.html", {"models": rows, "nav": "models"})


@login_required
def health(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/health.html", {"h": stats.health(), "nav": "health"})


API_PREFIXES = ("/api/", "/sse/", "/ws/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the API keeps its JSON body; a person in the dashboard gets a page (same 404 either way)."""
    from ..api.errors import json_404

    if request.path.startswith(API_PREFIXES) or "application/json" in request.headers.get("Accept", ""):
        return json_404(request, exception)
    return render(request, "dashboard/404.html", {}, status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403 for dashboard pages (an auditor posting an upload, say)."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": "You do not have permission to perform this action.",
                             "code": "permission_denied"}, status=403)
    return render(request, "dashboard/403.html", {"message": str(exception or "")}, status=403)
