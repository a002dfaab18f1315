"""/metrics (Prometheus text format, protected), /health/live and /health/ready (JSON, open to probes; the
error texts of the checks only for callers that may read the metrics)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from analysis.audit import client_ip

from . import health, metrics
from .access import metrics_allowed


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(client_ip(request), request.headers.get("Authorization")):
        return JsonResponse({"error": "Not allowed to read metrics", "code": "forbidden"}, status=403)
    return HttpResponse(metrics.render(settings.METRICS_PROBE_TIMEOUT), content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    ok, body = health.readiness()
    if not metrics_allowed(client_ip(request), request.headers.get("Authorization")):
        # strangers learn which dependency is down, not its host names or error texts
        body["checks"] = {name: {"ok": check["ok"]} for name, check in body["checks"].items()}
    return JsonResponse(body, status=200 if ok else 503)
