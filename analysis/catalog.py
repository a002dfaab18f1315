"""What /models shows: the engine's detectors (detection.registry) and its fitted fusion, plus stored metrics.

The web process never loads weights; it reports whether they are present and their sha256. A detector whose
module cannot be imported is listed as ``unavailable`` with the reason rather than breaking the endpoint.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from .models import AnalysisResult, ModelPerformance

logger = logging.getLogger(__name__)

FUSION_ID = "fusion"


def _detector(name: str) -> dict[str, Any]:
    from detection import registry

    try:
        info = registry.get(name).describe()
    except Exception as exc:  # noqa: BLE001 - an engine still being installed must not break the catalogue
        logger.warning("detector %s unavailable: %s", name, exc)
        return {"id": name, "name": name, "kind": "detector", "version": None, "media_types": [],
                "weights_file": None, "weights_sha256": None, "fused": False, "status": "unavailable",
                "detail": f"{type(exc).__name__}: {exc}"}
    missing = info.get("weights_file") and not info.get("weights_sha256")
    return {
        "id": name,
        "name": str(info["name"]),
        "kind": "detector",
        "version": str(info["version"]),
        "media_types": list(info.get("media_types", [])),
        "weights_file": info.get("weights_file"),
        "weights_sha256": info.get("weights_sha256"),
        "fused": bool(info.get("fused", False)),
        "status": "missing_weights" if missing else "ready",
        "detail": f"weights file {info['weights_file']} is not installed" if missing else None,
    }


def _fusion() -> dict[str, Any]:
    from detection.fusion import load_params

    params = load_params()
    fitted = params.version != "unfitted"
    return {
        "id": FUSION_ID, "name": FUSION_ID, "kind": "fusion", "version": params.version, "media_types": ["image"],
        "weights_file": "fusion.json", "weights_sha256": params.sha256, "fused": False,
        "status": "ready" if fitted else "missing_weights",
        "detail": None if fitted else "fusion.json is not fitted yet; an equal-weight average is used",
    }


def model_ids() -> list[str]:
    from detection.registry import DETECTORS

    return [*DETECTORS, FUSION_ID]


def list_models() -> list[dict[str, Any]]:
    return [get_model(name) for name in model_ids()]


def get_model(model_id: str) -> dict[str, Any]:
    if model_id not in model_ids():
        raise KeyError(model_id)
    return _fusion() if model_id == FUSION_ID else _detector(model_id)


def model_status(model_id: str) -> dict[str, Any]:
    info = get_model(model_id)
    since = timezone.now() - timedelta(hours=24)
    recent = AnalysisResult.objects.filter(created_at__gte=since)
    if model_id == FUSION_ID:
        used = recent.count()
    else:
        # models_used is a JSON list; counting in Python keeps this portable across SQLite and PostgreSQL
        used = sum(1 for names in recent.values_list("models_used", flat=True) if model_id in (names or []))
    return {"id": model_id, "status": info["status"], "detail": info["detail"], "version": info["version"],
            "weights_sha256": info["weights_sha256"], "jobs_last_24h": used}


def model_metrics(model_id: str) -> dict[str, Any]:
    from detection.fusion import load_params

    info = get_model(model_id)
    params = load_params().as_dict()
    fusion = params if model_id == FUSION_ID else {
        "version": params["version"], "weight": (params.get("coef") or {}).get(model_id),
        "temperature": params.get("temperature"), "abstain": params.get("abstain"),
    }
    rows = ModelPerformance.objects.filter(model_name=model_id).order_by("-test_date")[:50]
    return {
        "id": model_id,
        "version": info["version"],
        "fusion": fusion,
        "evaluations": [
            {"version": r.version, "dataset_name": r.dataset_name, "accuracy": _f(r.accuracy),
             "precision": _f(r.precision_score), "recall": _f(r.recall), "f1_score": _f(r.f1_score),
             "roc_auc": _f(r.roc_auc), "test_date": r.test_date, "extra": r.extra}
            for r in rows
        ],
    }


def _f(value: Any) -> float | None:
    return float(value) if value is not None else None
