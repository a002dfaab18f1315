"""Fabricated but realistic analyses (the shape of ``detection.analyze(...).to_dict()``) for report tests and
``bench/report_speed.py``: heatmaps as base64 PNGs, video suspicious-frame JPEG thumbnails and a per-frame
timeline, audio speech windows and a spectrogram PNG. Jobs are finished through ``analysis.services.complete_job``
exactly as a worker finishes them."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import uuid
from typing import Any

import numpy as np
from PIL import Image

from analysis import services
from analysis.models import AnalysisJob, JobStatus, MediaAsset

FORMATS = {"image": ("png", "image/png"), "video": ("mp4", "video/mp4"), "audio": ("wav", "audio/wav")}


def _b64(img: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=80) if fmt == "JPEG" else img.save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def heatmap(side: int = 224, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    cx, cy = rng.uniform(0.3, 0.7, 2)
    heat = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.03)
    rgb = np.stack([heat * 255, (1 - abs(heat - 0.5) * 2) * 180, (1 - heat) * 255], -1).astype(np.uint8)
    return _b64(Image.fromarray(rgb))


def thumbnail(seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    pixels = (rng.random((180, 320, 3)) * 60 + 100).astype(np.uint8)
    pixels[50:130, 120:200] = (255, 40, 40)
    return _b64(Image.fromarray(pixels), "JPEG")


def spectrogram() -> str:
    rng = np.random.default_rng(3)
    spec = (rng.random((128, 600)) * 80 + np.linspace(120, 20, 128)[:, None]).astype(np.uint8)
    return _b64(Image.fromarray(spec).convert("RGB"))


def analysis_dict(kind: str, prediction: str = "deepfake", confidence: float = 0.91) -> dict[str, Any]:
    detectors = {
        "image": [("face_manipulation", 0.93, 0.6), ("ai_generated", 0.41, 0.3), ("compression", None, 0.1)],
        "video": [("face_manipulation", 0.88, 0.7), ("speech_spoof", 0.22, 0.3)],
        "audio": [("speech_spoof", 0.9, 1.0)],
    }[kind]
    evidence: dict[str, Any] = {"facial_inconsistencies": 0.8 if kind != "audio" else None,
                                "temporal_artifacts": 0.6 if kind == "video" else None,
                                "compression_anomalies": 0.2 if kind == "image" else None,
                                "feature_maps": [],
                                "findings": [{"detector": detectors[0][0], "code": "high_score",
                                              "message": "The strongest detector is confident.", "direction": "fake",
                                              "decisive": True, "data": {}}]}
    if kind == "image":
        evidence["feature_maps"] = [{"layer": "gradcam", "activation_map": heatmap(seed=i), "target": f"face {i}",
                                     "box": [10, 10, 90, 90]} for i in range(2)]
    elif kind == "video":
        evidence["timeline"] = [{"t": round(i * 0.5, 3),
                                 "score": None if i % 13 == 5 else round(0.5 + 0.45 * math.sin(i / 5), 4),
                                 "faces": []} for i in range(60)]
        evidence["suspicious_frames"] = [{"t": 3.5 + i, "track": 0, "box": [120, 50, 200, 130], "score": 0.9,
                                          "heatmap": True, "image": thumbnail(i), "mime": "image/jpeg"}
                                         for i in range(3)]
    else:
        evidence["timeline"] = [{"start": i * 2.0, "end": i * 2.0 + 2.0, "score": round(0.3 + 0.6 * (i % 4) / 3, 4)}
                                for i in range(15)]
        evidence["feature_maps"] = [{"layer": "spectrogram", "activation_map": spectrogram(), "target": "audio",
                                     "box": None}]
    return {
        "prediction": prediction, "confidence": confidence, "fake_probability": confidence, "reason": None,
        "scores": {n: s for n, s, _ in detectors},
        "models_used": [n for n, s, _ in detectors if s is not None],
        "processing_time": {"image": 1.4, "video": 18.2, "audio": 3.1}[kind],
        "evidence": evidence, "media": {"width": 640, "height": 480} if kind != "audio" else {"duration": 30.0},
        "faces": [], "detectors": [{"name": n, "score": s} for n, s, _ in detectors],
        "provenance": {
            "engine": "detection", "engine_version": "0.9.0", "input_sha256": None,
            "detectors": [{"name": n, "version": "1.2.0", "weights_sha256": hashlib.sha256(n.encode()).hexdigest(),
                           "applicable": s is not None, "score": s, "weight": w} for n, s, w in detectors],
            "fusion": {"temperature": 1.0}, "timings": {"total": 1.0},
        },
    }


def completed_job(user: Any, kind: str = "image", *, file_name: str | None = None, metadata: dict | None = None,
                  prediction: str = "deepfake", confidence: float = 0.91) -> AnalysisJob:
    """A job finished by ``complete_job``. Its notification hook runs on commit (captured or dropped by tests)."""
    fmt, mime = FORMATS[kind]
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    asset = MediaAsset.objects.create(owner=user, sha256=sha, file_name=file_name or f"sample.{fmt}",
                                      storage_name=f"media/{sha}.{fmt}", kind=kind, format=fmt, mime=mime, size=12345)
    job = AnalysisJob.objects.create(user=user, asset=asset, file_name=asset.file_name, file_path=asset.storage_name,
                                     file_type=kind, file_format=fmt, file_size=asset.size, file_sha256=sha,
                                     status=JobStatus.PROCESSING, metadata=metadata or {})
    if kind == "image":  # the stored original, as an upload leaves it (reports show it beside the heatmaps)
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        yy, xx = np.mgrid[0:480, 0:640]
        pixels = np.stack([xx * 255 // 640, yy * 255 // 480, (xx + yy) * 255 // 1120], -1).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        default_storage.save(asset.storage_name, ContentFile(buf.getvalue()))
    data = analysis_dict(kind, prediction, confidence)
    data["provenance"]["input_sha256"] = sha
    services.complete_job(str(job.pk), data)
    return AnalysisJob.objects.select_related("result", "user").get(pk=job.pk)


def processing_job(user: Any, kind: str = "image") -> AnalysisJob:
    fmt, mime = FORMATS[kind]
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    asset = MediaAsset.objects.create(owner=user, sha256=sha, file_name=f"running.{fmt}",
                                      storage_name=f"media/{sha}.{fmt}", kind=kind, format=fmt, mime=mime, size=1)
    return AnalysisJob.objects.create(user=user, asset=asset, file_name=asset.file_name, file_path=asset.storage_name,
                                      file_type=kind, file_format=fmt, file_size=1, file_sha256=sha,
                                      status=JobStatus.PROCESSING)
