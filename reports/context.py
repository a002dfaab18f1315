"""The ONE place that shapes a job's (or several jobs') data for a report, whatever the format.

``build_report(jobs)`` returns plain JSON-able data (a ``ReportData``): the JSON renderer dumps it, the CSV renderer
flattens each job to a row, the PDF template lays it out. No renderer reads a model itself, so the three formats
cannot disagree. Evidence images stay base64 here; charts are drawn by ``reports.charts`` from the timeline.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

from django.core.files.storage import default_storage
from django.utils import timezone

from analysis.models import AnalysisJob, AnalysisResult, JobStatus

#: What each verdict and score means, and what it does NOT mean: printed in the PDF, included in JSON.
EXPLANATIONS: dict[str, str] = {
    "verdict": (
        "The verdict is 'deepfake' when the combined evidence points to manipulation or synthesis, 'authentic' "
        "when it points away from it, and 'unknown' when the evidence is too weak or the media unsuitable "
        "(the reason says why). It is the output of statistical models, not proof: an 'authentic' verdict does "
        "not certify that the media is genuine, and a 'deepfake' verdict does not establish who made it or why."
    ),
    "confidence": (
        "Confidence is how strongly the models favour the stated verdict (0 to 1). It is not the probability "
        "that the verdict is right for this particular file; it was calibrated on test collections that may "
        "differ from your media (new generators, heavy compression, screenshots lower reliability)."
    ),
    "fake_probability": (
        "Fake probability is the fused estimate that the media was manipulated or generated. Values near 0.5 "
        "mean the models cannot tell; the product then answers 'unknown' rather than guess."
    ),
    "model_scores": (
        "Each model score (0 to 1) is one detector's own estimate that it sees its kind of artefact (face "
        "manipulation, AI generation, compression traces, synthetic speech). A high score from one detector is "
        "a lead to examine, not a verdict: detectors are weighted and combined into the final result."
    ),
    "heatmaps": (
        "Heatmaps show where a detector looked hardest (red = more influence). They indicate regions that "
        "drove the score, not a mask of manipulated pixels."
    ),
    "timeline": (
        "The timeline shows the score over time (video: the most suspicious face per sampled frame; audio: "
        "each speech window). Isolated peaks can come from motion blur, occlusion or noise; sustained high "
        "stretches are more meaningful."
    ),
    "provenance": (
        "Provenance lists the file's SHA-256, the engine and model versions and the hashes of the model "
        "weights, so that the same analysis can be reproduced and checked later."
    ),
}

REASONS: dict[str, str] = {
    "below_confidence_threshold": "the confidence was below the threshold chosen for this analysis",
    "no_applicable_detector": "no detector applies to this media",
    "too_small": "the image is too small to analyse reliably",
    "no_speech": "no speech was found in the audio",
    "too_short": "the audio is too short to analyse reliably",
    "uncertain": "the evidence is inconclusive",
}


class ImageItem(TypedDict):
    label: str
    mime: str
    data: str  # base64


class JobReport(TypedDict, total=False):
    job_id: str
    file_name: str
    file_type: str
    file_format: str
    file_size: int
    sha256: str
    status: str
    owner: str
    source: str
    tags: list[str]
    created_at: str | None
    completed_at: str | None
    error: dict[str, str] | None
    verdict: dict[str, Any] | None
    models: list[dict[str, Any]]
    evidence_scores: dict[str, float | None]
    findings: list[dict[str, Any]]
    images: list[ImageItem]
    timeline: dict[str, Any] | None
    provenance: dict[str, Any]
    media: dict[str, Any]


class ReportData(TypedDict):
    title: str
    generated_at: str
    generated_by: str | None
    job_count: int
    jobs: list[JobReport]
    explanations: dict[str, str]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _models(result: AnalysisResult) -> list[dict[str, Any]]:
    """Per-model rows: score, fusion weight, version and weights hash (from provenance, else the scores dict)."""
    prov = result.provenance or {}
    rows = []
    seen = set()
    for det in prov.get("detectors") or []:
        name = str(det.get("name", ""))
        seen.add(name)
        rows.append({
            "name": name,
            "version": det.get("version"),
            "score": _float(det.get("score")),
            "weight": _float(det.get("weight")),
            "applicable": bool(det.get("applicable", True)),
            "weights_sha256": det.get("weights_sha256"),
        })
    for name, score in ((result.features_detected or {}).get("scores") or {}).items():
        if name not in seen:
            rows.append({"name": name, "version": None, "score": _float(score), "weight": None,
                         "applicable": score is not None, "weights_sha256": None})
    return rows


def _images(evidence: dict[str, Any]) -> list[ImageItem]:
    images: list[ImageItem] = []
    for fm in evidence.get("feature_maps") or []:
        data = fm.get("activation_map")
        if not data:
            continue
        layer = str(fm.get("layer", "map"))
        label = "Spectrogram (suspicious windows boxed)" if layer == "spectrogram" else f"Heatmap: {layer}"
        if fm.get("target") and layer != "spectrogram":
            label += f" ({fm['target']})"
        images.append({"label": label, "mime": "image/png", "data": str(data)})
    for fr in evidence.get("suspicious_frames") or []:
        if fr.get("image"):
            label = f"Suspicious frame at {float(fr.get('t', 0)):.2f} s, score {float(fr.get('score') or 0):.2f}"
            images.append({"label": label, "mime": str(fr.get("mime") or "image/jpeg"), "data": str(fr["image"])})
    return images


ORIGINAL_SIDE = 720


def original_preview(job: AnalysisJob) -> ImageItem | None:
    """The analysed image itself (from our storage, downscaled to a JPEG), so heatmaps can be read against it.
    ``None`` for audio and video, or when the file is gone or unreadable."""
    if job.file_type != "image":
        return None
    try:
        from PIL import Image

        with default_storage.open(job.file_path, "rb") as fh, Image.open(fh) as img:
            if img.width * img.height > 60_000_000:  # beyond the engine's own limit: do not decode
                return None
            img.draft("RGB", (ORIGINAL_SIDE, ORIGINAL_SIDE))
            img = img.convert("RGB")
            img.thumbnail((ORIGINAL_SIDE, ORIGINAL_SIDE))
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=82)
    except Exception:  # noqa: BLE001 - a missing or odd file leaves the report without the preview, nothing more
        return None
    return {"label": "The analysed image", "mime": "image/jpeg", "data": base64.b64encode(buf.getvalue()).decode()}


def _timeline(evidence: dict[str, Any]) -> dict[str, Any] | None:
    """Normalised points ``[{t, score}]`` (score may be None) plus the kind of timeline."""
    raw = evidence.get("timeline") or []
    if not raw:
        return None
    points: list[dict[str, Any]] = []
    kind = "audio" if "start" in raw[0] else "video"
    for p in raw:
        if kind == "audio":
            t = (float(p.get("start", 0)) + float(p.get("end", 0))) / 2
            points.append({"t": round(t, 3), "start": p.get("start"), "end": p.get("end"),
                           "score": _float(p.get("score"))})
        else:
            points.append({"t": _float(p.get("t")) or 0.0, "score": _float(p.get("score"))})
    scored = [p["score"] for p in points if p["score"] is not None]
    return {"kind": kind, "points": points, "max_score": max(scored) if scored else None,
            "suspicious": [p for p in points if p["score"] is not None and p["score"] >= 0.5][:20]}


def job_report(job: AnalysisJob, *, images: bool = True) -> JobReport:
    """One job, shaped: everything a report of any format shows about it. ``images=False`` leaves out the
    evidence images (a CSV has no place for them, and decoding the original costs time)."""
    meta = job.metadata or {}
    entry: JobReport = {
        "job_id": str(job.pk),
        "file_name": job.file_name,
        "file_type": job.file_type,
        "file_format": job.file_format,
        "file_size": int(job.file_size),
        "sha256": job.file_sha256,
        "status": job.status,
        "owner": getattr(job.user, "username", str(job.user_id)),
        "source": str(meta.get("source") or ""),
        "tags": [str(t) for t in meta.get("tags") or []],
        "created_at": _iso(job.created_at),
        "completed_at": _iso(job.completed_at),
        "error": ({"code": job.error_code or job.status, "message": job.error_message}
                  if job.status in (JobStatus.FAILED, JobStatus.CANCELLED) else None),
        "verdict": None, "models": [], "evidence_scores": {}, "findings": [], "images": [], "timeline": None,
        "provenance": {}, "media": {},
    }
    result = getattr(job, "result", None) if job.status == JobStatus.COMPLETED else None
    if result is None:
        return entry
    evidence = result.evidence_data or {}
    prov = result.provenance or {}
    entry["verdict"] = {
        "prediction": result.prediction,
        "confidence": float(result.confidence),
        "is_authentic": bool(result.is_authentic),
        "fake_probability": _float(result.fake_probability),
        "reason": result.reason or None,
        "reason_text": REASONS.get(result.reason, result.reason.replace("_", " ")) if result.reason else None,
        "processing_time": _float(result.processing_time),
        "models_used": list(result.models_used or []),
    }
    entry["models"] = _models(result)
    entry["evidence_scores"] = {k: _float(evidence.get(k)) for k in
                                ("facial_inconsistencies", "temporal_artifacts", "compression_anomalies")}
    entry["findings"] = [{"detector": f.get("detector"), "code": f.get("code"), "message": f.get("message"),
                          "direction": f.get("direction")} for f in evidence.get("findings") or []]
    if images:
        preview = original_preview(job)
        entry["images"] = ([preview] if preview else []) + _images(evidence)
    entry["timeline"] = _timeline(evidence)
    entry["provenance"] = {
        "file_sha256": job.file_sha256,
        "input_sha256": prov.get("input_sha256"),
        "engine": prov.get("engine"),
        "engine_version": result.engine_version or prov.get("engine_version"),
        "models": [{"name": m["name"], "version": m["version"], "weights_sha256": m["weights_sha256"]}
                   for m in entry["models"]],
        "fusion": prov.get("fusion") or {},
        "timings": prov.get("timings") or {},
    }
    entry["media"] = dict(result.media_info or {})
    return entry


def report_jobs(jobs: Iterable[AnalysisJob]) -> list[AnalysisJob]:
    """The jobs with what the shaping reads, in one query each (callers pass a ``visible_to`` queryset)."""
    if hasattr(jobs, "select_related"):
        jobs = jobs.select_related("user", "result")  # type: ignore[union-attr]
    return list(jobs)


def build_report(jobs: Iterable[AnalysisJob], *, generated_by: Any = None, title: str | None = None,
                 images: bool = True) -> ReportData:
    entries = [job_report(j, images=images) for j in report_jobs(jobs)]
    if title is None:
        title = (f"Deepfake analysis report: {entries[0]['file_name']}" if len(entries) == 1
                 else f"Deepfake analysis report: {len(entries)} files")
    return {
        "title": title,
        "generated_at": timezone.now().isoformat(),
        "generated_by": getattr(generated_by, "username", None),
        "job_count": len(entries),
        "jobs": entries,
        "explanations": dict(EXPLANATIONS),
    }
