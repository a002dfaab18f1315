"""Speech: canonical front end, voice-activity detection, windowed spoof scoring, timeline and spectrogram.

``pipeline.analyze_audio`` analyses an audio file; ``pipeline.analyze_track`` analyses the audio track of a
video (the video pipeline calls it with the container bytes) and returns an ``AudioPart``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types import DetectorResult, FeatureMap


@dataclass(frozen=True)
class AudioPart:
    """What the speech side says about one audio stream."""

    #: The speech detector's result (``score`` is a calibrated P(fake)); not applicable when ``reason`` is set.
    result: DetectorResult
    #: ``None`` when the detector scored speech; else ``no_speech`` or ``too_short``.
    reason: str | None
    #: Per-window scores ``[{"start": s, "end": s, "score": p}]`` in seconds of the ORIGINAL timeline.
    timeline: list[dict[str, float]] = field(default_factory=list)
    #: Speech the VAD found; it stops scanning at ``MIN_SPEECH_S + 1`` s, so this is a lower bound, not a total.
    speech_seconds: float = 0.0
    duration: float = 0.0
    #: Log-spectrogram PNG with the most suspicious windows marked (only when ``config.detailed``).
    spectrogram: FeatureMap | None = None
    details: dict[str, Any] = field(default_factory=dict)
