"""Analysis configuration: every limit and switch in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class AnalysisConfig:
    #: Produce heatmaps (``feature_maps``) and per-face crops. Costs ~100 ms per image.
    detailed: bool = False
    #: Detector names to run; ``None`` means every registered detector that applies to the media.
    detectors: tuple[str, ...] | None = None
    #: Hard input limits. Anything over them raises before the expensive work starts.
    max_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 20_000
    #: Longest side the models look at; larger images are downscaled once after decoding.
    analysis_side: int = 1024
    #: Faces smaller than this (pixels, shorter box side) are ignored: too little signal.
    min_face_size: int = 40
    max_faces: int = 8
    #: Time-based media (audio, video): longest accepted duration in seconds.
    max_duration: float = 600.0
    #: Video: frame-size and decoded-frame caps (a header may lie; both are re-checked while decoding).
    max_video_pixels: int = 4096 * 2304
    max_frames: int = 20_000
    #: Override the fitted abstention band: calibrated P(fake) inside [low, high] gives ``unknown``.
    abstain_low: float | None = None
    abstain_high: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **kwargs: Any) -> AnalysisConfig:
        return replace(self, **kwargs)

    @classmethod
    def coerce(cls, value: AnalysisConfig | dict[str, Any] | None) -> AnalysisConfig:
        if value is None:
            return cls()
        if isinstance(value, AnalysisConfig):
            return value
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        if "detectors" in known and known["detectors"] is not None:
            known["detectors"] = tuple(known["detectors"])
        return cls(**known)
