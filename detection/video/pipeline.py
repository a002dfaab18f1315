"""``analyze_video``: sampled frames -> faces -> tracks -> face-manipulation model -> aggregation, plus the audio
track through the speech detector, fused into one verdict that keeps each part's score visible.

Audio-visual fusion is a small set of explicit rules over two calibrated parts (faces, speech) because each part
sees a different fake: a face swap can come with the real voice, a lip-sync or voice-clone fake with a real face.
- either part confidently fake (above its abstention band) -> ``deepfake`` (reason names the part when the other
  part says authentic);
- otherwise any applicable part inside its band -> ``unknown`` / ``weak_evidence``;
- ``authentic`` only when every applicable part says authentic;
- no applicable part -> ``unknown`` with the face part's reason (``no_face_found``) or the speech part's.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__, registry
from ..config import AnalysisConfig
from ..decode.sniff import Sniffed
from ..decode.video import decode_video
from ..detectors._effnet import heatmap_png
from ..errors import DetectionError
from ..types import Analysis, DetectorResult, FeatureMap, Finding, MediaInfo, Prediction
from . import evidence as ev
from .aggregate import load_video_params, track_features, track_logit
from .stage import FaceStage, score_tracks
from .tracking import landmark_jitter, major_tracks, temporal_artifacts

if TYPE_CHECKING:
    from ..audio import AudioPart
    from ..detectors.face_manipulation import FaceManipulationDetector

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
DETECTOR = "face_manipulation"
HIGH = 0.7


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Part:
    """One question's answer (faces or speech)."""

    name: str
    prediction: Prediction
    fake_probability: float | None
    reason: str | None


def _face_detector() -> FaceManipulationDetector:
    det = registry.get(DETECTOR)
    det.ensure_loaded()
    return det  # type: ignore[return-value]


def _audio(data: bytes, kind: Sniffed, sha: str, cfg: AnalysisConfig, report: Progress) -> AudioPart | None:
    from ..audio.pipeline import analyze_track

    try:
        part: AudioPart | None = analyze_track(data, kind, sha, cfg, report)
    except DetectionError as exc:
        # a damaged or over-long audio track must not sink the face analysis: the evidence says why it is missing
        logger.info("audio track not analysed: %s", exc.code)
        raise _AudioSkipped(exc.code) from exc
    except FileNotFoundError as exc:  # an install without the speech weights: same as without the speech side
        logger.warning("audio track not analysed: %s", exc)
        raise _AudioSkipped("model_missing") from exc
    return part


class _AudioSkipped(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _audio_part(part: AudioPart | None, cfg: AnalysisConfig) -> Part | None:
    if part is None:
        return None
    from ..audio.pipeline import verdict

    applicable = part.reason is None and part.result.score is not None
    label, _conf, p_fake, why = verdict(part, cfg)  # the speech detector's own fitted abstention band
    return Part("speech", label, p_fake if applicable else None, why)  # type: ignore[arg-type]


def fuse(face: Part, speech: Part | None) -> tuple[Prediction, float, str | None]:
    """(prediction, P(fake), reason) for the clip from its parts (see the module docstring)."""
    parts = [p for p in (face, speech) if p is not None]
    applicable = [p for p in parts if p.fake_probability is not None]
    if not applicable:
        return "unknown", 0.5, face.reason or (speech.reason if speech else None)
    p_max = max(float(p.fake_probability or 0.0) for p in applicable)
    fakes = [p for p in applicable if p.prediction == "deepfake"]
    if fakes:
        others_real = [p for p in applicable if p.prediction == "authentic"]
        return "deepfake", p_max, (f"{fakes[0].name}_deepfake" if others_real else None)
    if any(p.prediction == "unknown" for p in applicable):
        return "unknown", p_max, "weak_evidence"
    return "authentic", p_max, None


def analyze_video(
    data: bytes, kind: Sniffed, sha: str, cfg: AnalysisConfig, report: Progress, *, started: float
) -> Analysis:
    timings: dict[str, float] = {}
    det = _face_detector()
    stage = FaceStage(cfg, det.input_size, report)
    video = decode_video(data, kind.format, kind.mime, sha, cfg, report, inspect=stage)
    t = time.perf_counter()
    tracks = stage.tracks(video.frames)
    timings["faces"] = stage.seconds + time.perf_counter() - t
    timings["decode"] = time.perf_counter() - started - timings["faces"]
    report("decode", 1, 1)

    t = time.perf_counter()
    params = load_video_params()
    score_tracks(tracks, det, report)
    majors = major_tracks(tracks)
    summaries: list[dict[str, Any]] = []
    for tr in tracks:
        logits = [d.logit for d in tr.dets]
        z = track_logit(logits, params)
        topk, std = track_features(logits, params.k_frac)
        scores = np.array([d.score for d in tr.dets])
        jit = landmark_jitter(tr)
        summaries.append(
            {
                "track": tr.id,
                "frames": len(tr.dets),
                "first_t": round(tr.dets[0].t, 3),
                "last_t": round(tr.dets[-1].t, 3),
                "major": tr in majors,
                "score": round(_sigmoid(z), 4),
                "logit": round(z, 4),
                "topk_logit": round(topk, 4),
                "std_logit": round(std, 4),
                "mean_frame_score": round(float(scores.mean()), 4),
                "max_frame_score": round(float(scores.max()), 4),
                "score_std": round(float(scores.std()), 4),
                "landmark_jitter": round(jit, 5) if jit is not None else None,
                "temporal_artifacts": round(temporal_artifacts(float(scores.std()), jit), 4),
            }
        )
    major_ids = {tr.id for tr in majors}
    major_sums = [s for s in summaries if s["track"] in major_ids]
    worst = max(major_sums, key=lambda s: float(s["logit"])) if major_sums else None

    picks = ev.pick_suspicious(majors)
    cams: list[np.ndarray] | None = None
    maps: list[FeatureMap] = []
    if cfg.detailed and picks:
        crops = [c for tr, i in picks if (c := tr.dets[i].crop) is not None]
        _logits, cam_arr = det.explain_crops(crops)
        cams = list(cam_arr)
        for (tr, i), crop, cam in zip(picks, crops, cams, strict=True):
            maps.append(
                FeatureMap(
                    layer="face_manipulation.gradcam",
                    activation_map=heatmap_png(crop, cam),
                    target=f"face:{tr.id}@{tr.dets[i].t:.2f}s",
                    box=tuple(int(v) for v in tr.dets[i].face.box),  # type: ignore[arg-type]
                )
            )
    timings["models"] = time.perf_counter() - t

    report("audio", 0, 1)
    t = time.perf_counter()
    audio_error: str | None = None
    try:
        audio = _audio(data, kind, sha, cfg, report) if video.has_audio else None
    except _AudioSkipped as exc:
        audio, audio_error = None, f"audio_{exc.code}"
    timings["audio"] = time.perf_counter() - t
    report("audio", 1, 1)

    report("fusion", 0, 1)
    face_res = _face_result(det, worst, summaries, params.as_dict(), maps, len(tracks))
    if worst is None:
        face_part = Part("face", "unknown", None, "no_face_found")
    else:
        p = float(worst["score"])
        lo = cfg.abstain_low if cfg.abstain_low is not None else params.abstain_low
        hi = cfg.abstain_high if cfg.abstain_high is not None else params.abstain_high
        pred: Prediction = "unknown" if lo <= p <= hi else ("deepfake" if p > hi else "authentic")
        face_part = Part("face", pred, p, "weak_evidence" if pred == "unknown" else None)
    speech_part = _audio_part(audio, cfg) if audio_error is None else Part("speech", "unknown", None, audio_error)
    prediction, p_fake, reason = fuse(face_part, speech_part)
    report("fusion", 1, 1)

    results: dict[str, DetectorResult] = {DETECTOR: replace(face_res, seconds=round(timings["models"], 4))}
    if audio is not None:
        results[audio.result.name] = replace(audio.result, seconds=round(timings["audio"], 4))
    from ..engine import _evidence

    evidence = _evidence(results, cfg.detailed)
    temporal = [float(s["temporal_artifacts"]) for s in major_sums if int(s["frames"]) >= 3]
    evidence.update(
        {
            "temporal_artifacts": round(max(temporal), 4) if temporal else None,
            "timeline": ev.timeline(video.frames, tracks),
            "tracks": summaries,
            "suspicious_frames": ev.suspicious_frames(video.frames, picks, cams, det.input_size),
            "parts": {
                p.name: {"prediction": p.prediction, "fake_probability": p.fake_probability, "reason": p.reason}
                for p in (face_part, speech_part)
                if p is not None
            },
            "audio": _audio_evidence(audio, cfg, video.has_audio, audio_error),
        }
    )
    timings["total"] = time.perf_counter() - started
    info = MediaInfo(
        media_type="video",
        format=video.format,
        mime=video.mime,
        size_bytes=video.size_bytes,
        sha256=sha,
        width=video.width,
        height=video.height,
        duration=video.duration,
    )
    faces = tuple(max(tr.dets, key=lambda d: d.logit).face for tr in majors)
    models_used = tuple(n for n, r in results.items() if r.weights_sha256 and r.applicable)
    confidence = max(p_fake, 1 - p_fake) if prediction != "unknown" or reason == "weak_evidence" else 0.0
    provenance: dict[str, Any] = {
        "engine": "detection",
        "engine_version": __version__,
        "input_sha256": sha,
        "detectors": [
            {
                "name": r.name,
                "version": r.version,
                "weights_sha256": r.weights_sha256,
                "applicable": r.applicable,
                "score": r.score,
                "logit": r.logit,
                "weight": None,
                "seconds": round(r.seconds, 4),
            }
            for r in results.values()
        ],
        "fusion": {"video": params.as_dict(), "rule": "either part fake -> deepfake; authentic needs all parts"},
        "timings": {k: round(v, 4) for k, v in timings.items()},
        "decode": {
            "codec": video.codec,
            "rotation": video.rotation,
            "average_fps": video.average_fps,
            "frames_decoded": video.frames_decoded,
            "frames_sampled": len(video.frames),
            "decode_seconds": round(video.decode_seconds, 4),
            **video.details,
        },
        "config": {
            "detailed": cfg.detailed,
            "analysis_side": cfg.analysis_side,
            "max_duration": cfg.max_duration,
            "detectors": list(results),
        },
    }
    return Analysis(
        prediction=prediction,
        confidence=round(confidence, 4),
        is_authentic=prediction == "authentic",
        fake_probability=round(p_fake, 4),
        reason=reason,
        scores={n: (round(r.score, 4) if r.score is not None else None) for n, r in results.items()},
        models_used=models_used,
        processing_time=round(timings["total"], 4),
        evidence=evidence,
        media=info,
        faces=faces,
        detectors=tuple(results.values()),
        provenance=provenance,
    )


def _face_result(
    det: FaceManipulationDetector,
    worst: dict[str, Any] | None,
    summaries: list[dict[str, Any]],
    params: dict[str, Any],
    maps: list[FeatureMap],
    n_tracks: int,
) -> DetectorResult:
    if worst is None:
        return det.result(score=None, logit=None, applicable=False, reason="no_face_found")
    findings: list[Finding] = []
    for s in summaries:
        if s["major"] and float(s["score"]) >= HIGH:
            findings.append(
                Finding(
                    detector=DETECTOR,
                    code="face_manipulation_suspected",
                    message=(
                        f"Face track {s['track'] + 1} ({s['first_t']:.1f}-{s['last_t']:.1f} s, {s['frames']} sampled "
                        f"frames) shows traces typical of face swapping or blending (P(manipulated) {s['score']:.0%})."
                    ),
                    direction="fake",
                    data={"track": s["track"], "score": s["score"]},
                )
            )
    if float(worst["score"]) <= 0.2:
        findings.append(
            Finding(
                detector=DETECTOR,
                code="faces_consistent",
                message=(
                    f"No sign of face swapping or blending on the tracked face{'s' if n_tracks > 1 else ''} "
                    f"(highest track P(manipulated) {worst['score']:.0%})."
                ),
                direction="neutral",
                data={"max_score": worst["score"]},
            )
        )
    return det.result(
        score=float(worst["score"]),
        logit=float(worst["logit"]),
        applicable=True,
        findings=tuple(findings),
        feature_maps=tuple(maps),
        details={
            "facial_inconsistencies": worst["score"],
            "worst_track": worst["track"],
            "tracks": len(summaries),
            "aggregation": params,
        },
    )


def _audio_evidence(
    audio: AudioPart | None, cfg: AnalysisConfig, has_stream: bool, error: str | None = None
) -> dict[str, Any] | None:
    if audio is None:
        return {"present": True, "analysed": False, "reason": error or "not_analysed"} if has_stream else None
    spec = audio.spectrogram
    return {
        "present": True,
        "analysed": True,
        "detector": audio.result.name,
        "score": audio.result.score,
        "reason": audio.reason,
        "timeline": audio.timeline,
        "speech_seconds": round(audio.speech_seconds, 2),
        "duration": round(audio.duration, 3),
        "spectrogram": spec.activation_map if (spec is not None and cfg.detailed) else None,
    }
