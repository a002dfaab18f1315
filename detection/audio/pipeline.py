"""Audio analysis: decode -> canonical front end -> VAD -> windowed spoof scoring -> verdict and evidence."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .. import __version__, registry
from ..config import AnalysisConfig
from ..decode.audio import DecodedAudio, decode_audio
from ..decode.sniff import Sniffed
from ..detectors.speech_spoof import ClipScore, SpeechSpoofDetector
from ..types import Analysis, DetectorResult, FeatureMap, Finding
from . import AudioPart
from .frontend import RATE, canonical, speech_seconds

Progress = Callable[[str, int, int], None]

#: Less speech than this (seconds) cannot be judged: ``unknown/too_short``.
MIN_SPEECH_S = 1.0
DETECTOR = "speech_spoof"


def _detector() -> SpeechSpoofDetector:
    det = registry.get(DETECTOR)
    assert isinstance(det, SpeechSpoofDetector)
    return det


def _not_applicable(det: SpeechSpoofDetector, reason: str, **details: Any) -> DetectorResult:
    return det.result(score=None, logit=None, applicable=False, reason=reason, details=details)


def spectrogram_png(samples: np.ndarray, marks: list[tuple[float, float, float]], offset: float = 0.0) -> str:
    """Log-magnitude spectrogram as a base64 PNG; ``marks`` (start, end, score) are boxed in red."""
    import cv2

    n_fft, hop = 512, 160
    x = samples[: RATE * 600]
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    mag = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)).T + 1e-6)  # (freq, time)
    mag = np.clip((mag - (mag.max() - 80)) / 80, 0, 1)
    img: np.ndarray = (np.flipud(mag) * 255).astype(np.uint8)
    width = int(min(1200, max(200, img.shape[1])))
    img = cv2.resize(img, (width, 200), interpolation=cv2.INTER_AREA)
    rgb = cv2.applyColorMap(img, cv2.COLORMAP_MAGMA)
    per_s = width / max(x.size / RATE, 1e-6)
    for start, end, score in marks:
        x0, x1 = int((start - offset) * per_s), int((end - offset) * per_s) - 1
        cv2.rectangle(rgb, (max(0, x0), 1), (min(width - 1, x1), 198), (0, 0, 255), 2)
        cv2.putText(rgb, f"{score:.2f}", (max(2, x0 + 3), 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    ok, buf = cv2.imencode(".png", rgb)
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def score_audio(decoded: DecodedAudio, cfg: AnalysisConfig, report: Progress) -> AudioPart:
    """Everything the speech side says about decoded audio (used for audio files and video tracks)."""
    det = _detector()
    det.ensure_loaded()
    canon = canonical(decoded.samples)
    report("audio:vad", 0, 1)
    speech = speech_seconds(canon.samples, enough=MIN_SPEECH_S + 1.0)
    report("audio:vad", 1, 1)
    duration = decoded.samples.size / RATE
    base = {"speech_seconds_found": round(speech, 2), "trimmed_seconds": round(canon.samples.size / RATE, 2)}
    if speech == 0.0:
        res = _not_applicable(det, "no_speech", **base)
        return AudioPart(result=res, reason="no_speech", speech_seconds=0.0, duration=duration, details=base)
    if speech < MIN_SPEECH_S or canon.samples.size < RATE * MIN_SPEECH_S:
        res = _not_applicable(det, "too_short", **base)
        return AudioPart(result=res, reason="too_short", speech_seconds=speech, duration=duration, details=base)
    report(f"detector:{DETECTOR}", 0, 1)
    t = time.perf_counter()
    clip: ClipScore = det.score_clip(canon.samples)
    took = time.perf_counter() - t
    report(f"detector:{DETECTOR}", 1, 1)
    off = canon.offset
    timeline = [
        {"start": round(s + off, 2), "end": round(e + off, 2), "score": round(p, 4)}
        for (s, e), p in zip(clip.spans, clip.window_scores, strict=True)
    ]
    worst = sorted(timeline, key=lambda w: -w["score"])[:3]
    suspicious = [w for w in worst if w["score"] >= 0.5]
    findings = []
    if suspicious:
        spans = ", ".join(f"{w['start']:.1f}-{w['end']:.1f} s ({w['score']:.2f})" for w in suspicious)
        findings.append(
            Finding(DETECTOR, "synthetic_speech_segments", f"Speech windows that look synthetic: {spans}.", "fake")
        )
    spectrogram = None
    if cfg.detailed:
        png = spectrogram_png(decoded.samples, [(w["start"], w["end"], w["score"]) for w in suspicious])
        spectrogram = FeatureMap(layer="spectrogram", activation_map=png, target="audio")
    details = {
        **base,
        "windows": len(timeline),
        "max_window_score": max(clip.window_scores),
        "mean_window_score": round(float(np.mean(clip.window_scores)), 4),
    }
    res = det.result(
        score=clip.score,
        logit=clip.logit,
        findings=tuple(findings),
        feature_maps=(spectrogram,) if spectrogram else (),
        details=details,
        seconds=took,
    )
    return AudioPart(
        result=res,
        reason=None,
        timeline=timeline,
        speech_seconds=speech,
        duration=duration,
        spectrogram=spectrogram,
        details=details,
    )


def analyze_track(data: bytes, kind: Sniffed, sha: str, cfg: AnalysisConfig, report: Progress) -> AudioPart | None:
    """The audio track of a video container; ``None`` when the container has no audio stream."""
    decoded = decode_audio(data, kind.format, kind.mime, sha, cfg, media_type="video", required=False)
    if decoded is None:
        return None
    return score_audio(decoded, cfg, report)


def verdict(part: AudioPart, cfg: AnalysisConfig) -> tuple[str, float, float, str | None]:
    """(prediction, confidence, P(fake), reason) for one audio part, with the detector's fitted abstention band."""
    res = part.result
    if part.reason is not None or res.score is None:
        return "unknown", 0.0, 0.5, part.reason or "no_applicable_detector"
    lo, hi = _detector().abstain
    lo = cfg.abstain_low if cfg.abstain_low is not None else lo
    hi = cfg.abstain_high if cfg.abstain_high is not None else hi
    p = float(res.score)
    conf = max(p, 1 - p)
    if lo <= p <= hi:
        return "unknown", conf, p, "weak_evidence"
    return ("deepfake" if p > hi else "authentic"), conf, p, None


def analyze_audio(
    data: bytes, kind: Sniffed, sha: str, cfg: AnalysisConfig, report: Progress, *, started: float
) -> Analysis:
    decoded = decode_audio(data, kind.format, kind.mime, sha, cfg)
    assert decoded is not None
    t_decode = time.perf_counter() - started
    report("decode", 1, 1)
    t = time.perf_counter()
    part = score_audio(decoded, cfg, report)
    t_audio = time.perf_counter() - t
    report("fusion", 0, 1)
    prediction, confidence, p, reason = verdict(part, cfg)
    report("fusion", 1, 1)
    res = replace(part.result, seconds=round(t_audio, 4))
    det = _detector()
    total = time.perf_counter() - started
    evidence = {
        "facial_inconsistencies": None,
        "temporal_artifacts": None,
        "compression_anomalies": None,
        "feature_maps": (
            [
                {"layer": m.layer, "activation_map": m.activation_map, "target": m.target, "box": m.box}
                for m in res.feature_maps
            ]
            if cfg.detailed
            else []
        ),
        "findings": [
            {
                "detector": f.detector,
                "code": f.code,
                "message": f.message,
                "direction": f.direction,
                "decisive": f.decisive,
                "data": f.data,
            }
            for f in res.findings
        ],
        "timeline": part.timeline,
        "audio": {
            "score": res.score,
            "reason": part.reason,
            "speech_seconds": round(part.speech_seconds, 2),
            "duration": round(part.duration, 3),
            "source_rate": decoded.source_rate,
            "source_channels": decoded.source_channels,
            "codec": decoded.codec,
        },
    }
    provenance = {
        "engine": "detection",
        "engine_version": __version__,
        "input_sha256": sha,
        "detectors": [
            {
                "name": res.name,
                "version": res.version,
                "weights_sha256": res.weights_sha256,
                "applicable": res.applicable,
                "score": res.score,
                "logit": res.logit,
                "weight": None,
                "seconds": round(res.seconds, 4),
            }
        ],
        "fusion": {
            "version": det.version,
            "aggregate": det.meta.get("aggregate"),
            "temperature": det.meta.get("temperature"),
            "abstain": list(det.abstain),
        },
        "timings": {"decode": round(t_decode, 4), "audio": round(t_audio, 4), "total": round(total, 4)},
        "config": {"detailed": cfg.detailed, "detectors": [DETECTOR]},
    }
    return Analysis(
        prediction=prediction,  # type: ignore[arg-type]
        confidence=round(confidence, 4),
        is_authentic=prediction == "authentic",
        fake_probability=round(p, 4),
        reason=reason,
        scores={DETECTOR: round(res.score, 4) if res.score is not None else None},
        models_used=(DETECTOR,) if res.applicable else (),
        processing_time=round(total, 4),
        evidence=evidence,
        media=decoded.info,
        faces=(),
        detectors=(res,),
        provenance=provenance,
    )
