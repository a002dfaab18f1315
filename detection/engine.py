"""``analyze()``: decode -> faces -> detectors -> fusion -> evidence, with progress callbacks."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from . import __version__, registry
from .config import AnalysisConfig
from .decode import Sniffed, Source, decode_image, read_source, sniff_or_raise
from .detectors.base import ImageContext
from .faces import detect_faces
from .fusion import combine, load_params
from .types import Analysis, DetectorResult

logger = logging.getLogger(__name__)

#: ``progress(stage, done, total)``; stages: decode, faces, detector:<name>, fusion.
Progress = Callable[[str, int, int], None]

#: Shorter side (pixels) below which the learned detectors are not run: the verdict is ``unknown/too_small``.
MIN_SIDE = 32

_threads_lock = threading.Lock()
_threads_set = False


def _limit_threads() -> None:
    """One intra-op thread per process: on small CPUs this is faster and lets workers run side by side."""
    global _threads_set
    with _threads_lock:
        if not _threads_set:
            import torch

            torch.set_num_threads(int(os.environ.get("DETECTION_TORCH_THREADS", "1")))
            _threads_set = True


def _noop(stage: str, done: int, total: int) -> None:
    return None


def warm_up(names: list[str] | None = None) -> dict[str, float]:
    """Load every detector's weights now (a worker calls this at start) and return load seconds per name."""
    _limit_threads()
    out: dict[str, float] = {}
    for name in names or registry.names("image"):
        t = time.perf_counter()
        registry.get(name).ensure_loaded()
        out[name] = time.perf_counter() - t
    return out


def analyze(
    source: Source,
    config: AnalysisConfig | dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Analyse one media file (path or bytes): an image, an audio clip or a video, by its content.

    Raises ``DetectionError`` subclasses for bad input.
    """
    cfg = AnalysisConfig.coerce(config)
    report = progress or _noop
    t0 = time.perf_counter()
    report("decode", 0, 1)
    data = read_source(source, cfg)
    kind = sniff_or_raise(data)
    sha = hashlib.sha256(data).hexdigest()
    if kind.kind == "video":
        from .decode.audio import stream_types

        types = stream_types(data)
        if types is not None and "video" not in types and "audio" in types:  # e.g. WebM or MP4 with sound only
            kind = Sniffed("audio", kind.format, kind.mime.replace("video/", "audio/"))
    if kind.kind == "audio":
        from .audio.pipeline import analyze_audio

        _limit_threads()
        return analyze_audio(data, kind, sha, cfg, report, started=t0)
    if kind.kind == "video":
        from .video.pipeline import analyze_video

        _limit_threads()
        return analyze_video(data, kind, sha, cfg, report, started=t0)
    return _analyze_image(data, kind.format, kind.mime, sha, cfg, report, t0)


def _analyze_image(
    data: bytes, fmt: str, mime: str, sha: str, cfg: AnalysisConfig, report: Progress, t0: float
) -> Analysis:
    timings: dict[str, float] = {}
    image = decode_image(data, fmt, mime, sha, cfg)
    timings["decode"] = time.perf_counter() - t0
    report("decode", 1, 1)

    _limit_threads()
    report("faces", 0, 1)
    t = time.perf_counter()
    faces = detect_faces(image.analysis_rgb, min_size=cfg.min_face_size, max_faces=cfg.max_faces)
    timings["faces"] = time.perf_counter() - t
    report("faces", 1, 1)

    ctx = ImageContext(image=image, faces=faces, config=cfg)
    selected = cfg.detectors if cfg.detectors is not None else registry.names("image")
    names = [n for n in selected if "image" in registry.get(n).media_types]
    too_small = min(image.rgb.shape[:2]) < MIN_SIDE
    if too_small:  # nothing a model can say about a thumbnail; provenance still runs
        names = [n for n in names if not registry.get(n).fused]
    results: dict[str, DetectorResult] = {}
    for i, name in enumerate(names):
        report(f"detector:{name}", i, len(names))
        det = registry.get(name)
        t = time.perf_counter()
        det.ensure_loaded()
        res = det.analyze(ctx)
        took = time.perf_counter() - t
        timings[f"detector:{name}"] = took
        results[name] = replace(res, seconds=took)
    report(f"detector:{names[-1]}" if names else "detectors", len(names), len(names))

    report("fusion", 0, 1)
    params = load_params()
    verdict = combine(results, params, abstain_low=cfg.abstain_low, abstain_high=cfg.abstain_high)
    if too_small and verdict.reason == "no_applicable_detector":
        verdict = replace(verdict, reason="too_small")
    report("fusion", 1, 1)

    evidence = _evidence(results, cfg.detailed)
    timings["total"] = time.perf_counter() - t0
    models_used = tuple(n for n, r in results.items() if r.weights_sha256 and r.applicable)
    provenance = {
        "engine": "detection",
        "engine_version": __version__,
        "input_sha256": image.info.sha256,
        "detectors": [
            {
                "name": r.name,
                "version": r.version,
                "weights_sha256": r.weights_sha256,
                "applicable": r.applicable,
                "score": r.score,
                "logit": r.logit,
                "weight": params.coef.get(r.name),
                "seconds": round(r.seconds, 4),
            }
            for r in results.values()
        ],
        "fusion": params.as_dict(),
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "config": {"detailed": cfg.detailed, "analysis_side": cfg.analysis_side, "detectors": names},
    }
    return Analysis(
        prediction=verdict.prediction,
        confidence=round(verdict.confidence, 4),
        is_authentic=verdict.prediction == "authentic",
        fake_probability=round(verdict.fake_probability, 4),
        reason=verdict.reason,
        scores={n: (round(r.score, 4) if r.score is not None else None) for n, r in results.items()},
        models_used=models_used,
        processing_time=round(timings["total"], 4),
        evidence=evidence,
        media=image.info,
        faces=tuple(faces),
        detectors=tuple(results.values()),
        provenance=provenance,
    )


def _evidence(results: dict[str, DetectorResult], detailed: bool) -> dict[str, Any]:
    """The seed schema's evidence fields plus the findings list the dashboard and reports show."""

    def detail(name: str, key: str) -> float | None:
        r = results.get(name)
        v = r.details.get(key) if r is not None else None
        return round(float(v), 4) if isinstance(v, (int, float)) else None

    maps = []
    if detailed:
        maps = [
            {"layer": m.layer, "activation_map": m.activation_map, "target": m.target, "box": m.box}
            for r in results.values()
            for m in r.feature_maps
        ]
    return {
        "facial_inconsistencies": detail("face_manipulation", "facial_inconsistencies"),
        "temporal_artifacts": None,
        "compression_anomalies": detail("compression", "compression_anomalies"),
        "feature_maps": maps,
        "findings": [
            {
                "detector": f.detector,
                "code": f.code,
                "message": f.message,
                "direction": f.direction,
                "decisive": f.decisive,
                "data": f.data,
            }
            for r in results.values()
            for f in r.findings
        ],
    }
