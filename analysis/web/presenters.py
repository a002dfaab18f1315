"""Shape a stored result for the job page: percentages for overlays, SVG points for timelines.

Only arithmetic on what ``complete_job`` stored; no verdict logic lives here.
"""

from __future__ import annotations

from typing import Any

from ..models import AnalysisJob, AnalysisResult

CHART_W, CHART_H = 600, 160

VERDICT_TEXT = {
    "authentic": "No sign of manipulation was found.",
    "deepfake": "The models found signs of manipulation or generation.",
    "unknown": "The engine abstained: the evidence is too weak or contradictory for a verdict.",
}


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _analysed_size(result: AnalysisResult) -> tuple[float, float] | None:
    """Boxes are in analysed-image pixels: the original scaled so its longer side is at most analysis_side."""
    width, height = _num(result.media_info.get("width")), _num(result.media_info.get("height"))
    if not width or not height:
        return None
    side = _num((result.provenance.get("config") or {}).get("analysis_side")) or 1024.0
    scale = min(1.0, side / max(width, height))
    return width * scale, height * scale


def _box_pct(box: Any, size: tuple[float, float] | None) -> dict[str, float] | None:
    if not box or size is None or len(box) != 4:
        return None
    w, h = size
    x0, y0, x1, y1 = (float(v) for v in box)
    return {"left": round(100 * x0 / w, 3), "top": round(100 * y0 / h, 3),
            "width": round(100 * (x1 - x0) / w, 3), "height": round(100 * (y1 - y0) / h, 3)}


def _crop_style(box: dict[str, float]) -> str:
    """CSS that shows only ``box`` of the full image inside a square-ish frame (image scaled up, shifted)."""
    bw, bh = max(box["width"], 0.01), max(box["height"], 0.01)
    return (f"width:{100 * 100 / bw:.3f}%;height:{100 * 100 / bh:.3f}%;"
            f"left:{-100 * box['left'] / bw:.3f}%;top:{-100 * box['top'] / bh:.3f}%")


def overlays(result: AnalysisResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(image overlays, face crops). An overlay is a heatmap PNG positioned on the image in percent."""
    size = _analysed_size(result)
    maps = [m for m in (result.evidence_data.get("feature_maps") or []) if m.get("activation_map")]
    image_maps = []
    for i, m in enumerate(maps):
        if m.get("layer") == "spectrogram" or m.get("target") == "audio":
            continue
        box = _box_pct(m.get("box"), size) if m.get("box") else {"left": 0, "top": 0, "width": 100, "height": 100}
        if box is None:
            continue
        layer = str(m.get("layer", "map"))
        # Grad-CAM maps come already blended with the photo: drawn opaque. ELA is a bare colour map: off by
        # default and translucent when switched on.
        bare = layer.startswith("ela")
        image_maps.append({"id": f"map{i}", "layer": layer, "target": m.get("target", "image"),
                           "png": m["activation_map"], "box": box, "on": not bare, "opacity": 0.6 if bare else 1})
    image_maps.sort(key=lambda m: -m["box"]["width"] * m["box"]["height"])  # face maps above whole-image ones
    faces = []
    for i, face in enumerate(result.features_detected.get("faces") or []):
        box = _box_pct(face.get("box"), size)
        if box is None:
            continue
        target = f"face:{i}"
        face_maps = [m for m in image_maps if m["target"] == target]
        faces.append({"index": i, "score": _num(face.get("score")), "box": box, "style": _crop_style(box),
                      "maps": face_maps})
    return image_maps, faces


def scores(result: AnalysisResult) -> list[dict[str, Any]]:
    weights = {d.get("name"): d for d in result.provenance.get("detectors") or [] if isinstance(d, dict)}
    out = []
    for det in result.features_detected.get("detectors") or []:
        name = det.get("name")
        score = _num(det.get("score"))
        prov = weights.get(name, {})
        out.append({"name": name, "version": det.get("version") or prov.get("version"), "score": score,
                    "pct": round(100 * score) if score is not None else None,
                    "applicable": det.get("applicable", score is not None), "reason": det.get("reason"),
                    "weight": prov.get("weight"), "seconds": det.get("seconds")})
    if not out:  # older results carry only the name -> score map
        for name, score in (result.features_detected.get("scores") or {}).items():
            value = _num(score)
            out.append({"name": name, "version": None, "score": value, "applicable": value is not None,
                        "pct": round(100 * value) if value is not None else None, "reason": None})
    return out


def video_timeline(result: AnalysisResult) -> dict[str, Any] | None:
    points = [p for p in result.evidence_data.get("timeline") or [] if "t" in p]
    if not points:
        return None
    end = max(float(p["t"]) for p in points) or 1.0

    def x(t: float) -> float:
        return round(CHART_W * float(t) / end, 1)

    def y(score: float) -> float:
        return round(CHART_H - CHART_H * float(score), 1)

    scored = [p for p in points if p.get("score") is not None]
    line = " ".join(f"{x(p['t'])},{y(p['score'])}" for p in scored)
    frames = []
    for i, f in enumerate(result.evidence_data.get("suspicious_frames") or []):
        frames.append({"index": i, "t": f.get("t"), "score": _num(f.get("score")), "x": x(f.get("t") or 0),
                       "y": y(f.get("score") or 0), "image": f.get("image"), "mime": f.get("mime", "image/jpeg"),
                       "heatmap": f.get("heatmap")})
    return {"width": CHART_W, "height": CHART_H, "line": line, "duration": end, "frames": frames,
            "points": len(points), "with_faces": len(scored), "threshold_y": y(0.5)}


def audio_timeline(result: AnalysisResult) -> dict[str, Any] | None:
    windows = [w for w in result.evidence_data.get("timeline") or [] if "start" in w]
    if not windows:
        audio = result.evidence_data.get("audio") or {}
        windows = [w for w in audio.get("timeline") or [] if "start" in w] if isinstance(audio, dict) else []
    spectrogram = next((m["activation_map"] for m in result.evidence_data.get("feature_maps") or []
                        if m.get("layer") == "spectrogram"), None)
    if not windows and not spectrogram:
        return None
    # the spectrogram spans the whole file: the axis does too, even when the last window ends earlier
    end = max([float(w["end"]) for w in windows] + [_num(result.media_info.get("duration")) or 0.0]) or 1.0
    bars = []
    for w in windows:
        score = _num(w.get("score")) or 0.0
        bars.append({"x": round(CHART_W * float(w["start"]) / end, 1),
                     "w": max(1.0, round(CHART_W * (float(w["end"]) - float(w["start"])) / end, 1)),
                     "x2": round(CHART_W * float(w["end"]) / end, 1),
                     "h": round(CHART_H * score, 1), "y": round(CHART_H - CHART_H * score, 1), "score": score,
                     "start": w["start"], "end": w["end"], "fake": score >= 0.5})
    return {"width": CHART_W, "height": CHART_H, "bars": bars, "spectrogram": spectrogram, "duration": end,
            "threshold_y": round(CHART_H / 2, 1)}


def provenance(result: AnalysisResult) -> dict[str, Any]:
    prov = result.provenance or {}
    findings = result.evidence_data.get("findings") or []
    metadata = [f for f in findings if f.get("detector") in ("provenance", "compression")]
    other = [f for f in findings if f not in metadata]
    return {
        "findings": metadata, "other_findings": other,
        "c2pa": [f for f in findings if "c2pa" in str(f.get("code", "")).lower()],
        "engine_version": result.engine_version or prov.get("engine_version"),
        "input_sha256": prov.get("input_sha256") or prov.get("sha256") or result.job.file_sha256,
        "detectors": [d for d in prov.get("detectors") or [] if isinstance(d, dict)],
        "fusion": prov.get("fusion"),
        "timings": prov.get("timings"),
        "media": result.media_info,
    }


def job_page(job: AnalysisJob) -> dict[str, Any]:
    """Everything the job template needs beyond the job row itself."""
    result = getattr(job, "result", None) if job.status == "completed" else None
    if result is None:
        return {"result": None}
    result.job = job
    image_maps, faces = overlays(result) if job.file_type == "image" else ([], [])
    confidence = float(result.confidence)
    fake = _num(result.fake_probability)
    return {
        "result": result,
        "confidence_pct": round(100 * confidence),
        "fake_pct": round(100 * fake) if fake is not None else None,
        "verdict_text": VERDICT_TEXT.get(result.prediction, ""),
        "scores": scores(result),
        "image_maps": image_maps,
        "faces": faces,
        "video": video_timeline(result) if job.file_type == "video" else None,
        "audio": audio_timeline(result) if job.file_type in ("audio", "video") else None,
        "prov": provenance(result),
    }
