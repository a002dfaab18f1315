"""Engine data: frozen dataclasses that serialise to plain JSON with ``to_dict``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Prediction = Literal["authentic", "deepfake", "unknown"]
Direction = Literal["fake", "real", "neutral"]


@dataclass(frozen=True)
class Finding:
    """One piece of evidence with a human-readable reason.

    ``decisive`` findings (e.g. a valid C2PA claim that a generator made the image) may set the verdict;
    everything else only informs the analyst or, when it contradicts the models, forces ``unknown``.
    """

    detector: str
    code: str
    message: str
    direction: Direction = "neutral"
    decisive: bool = False
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureMap:
    """A heatmap as a base64 PNG (``activation_map``), named after the layer/detector that made it."""

    layer: str
    activation_map: str
    target: str = "image"  # "image" or "face:N"
    box: tuple[int, int, int, int] | None = None  # where the map lies on the analysed image (x0, y0, x1, y1)


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in analysed-image pixels
    score: float
    landmarks: tuple[tuple[float, float], ...]  # eyes, nose, mouth, ears (BlazeFace order)


@dataclass(frozen=True)
class DetectorResult:
    name: str
    version: str
    weights_sha256: str | None
    #: Calibrated P(fake) from this detector alone; ``None`` when it does not apply (e.g. no face).
    score: float | None
    #: The raw logit the fusion combiner consumes; ``None`` when not applicable.
    logit: float | None = None
    applicable: bool = True
    reason: str | None = None
    findings: tuple[Finding, ...] = ()
    feature_maps: tuple[FeatureMap, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class MediaInfo:
    media_type: Literal["image", "video", "audio"]
    format: str
    mime: str
    size_bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    duration: float | None = None


@dataclass(frozen=True)
class Analysis:
    prediction: Prediction
    confidence: float
    is_authentic: bool
    #: Calibrated probability that the media is manipulated or generated.
    fake_probability: float
    #: Why the engine abstained (``unknown``) or why a rule decided; ``None`` for a plain model verdict.
    reason: str | None
    scores: dict[str, float | None]
    models_used: tuple[str, ...]
    processing_time: float
    evidence: dict[str, Any]
    media: MediaInfo
    faces: tuple[Face, ...]
    detectors: tuple[DetectorResult, ...]
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["models_used"] = list(self.models_used)
        return out
