"""Turn detector outputs into one calibrated verdict.

The combiner (logistic regression over the fused detectors' logits and the strongest calibrated logit) and its
temperature are FITTED by ``python -m detection.training fusion`` on the validation fold and stored in
``weights/fusion.json``; nothing here is hand-weighted. Rules on top of the learned part are few and
explicit: a decisive provenance finding (a valid C2PA generator claim) decides; unverified metadata that
contradicts an "authentic" model verdict forces ``unknown``; a probability inside the fitted abstention band
gives ``unknown`` with reason ``weak_evidence``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .types import DetectorResult, Finding, Prediction

FUSION_PATH = Path(__file__).resolve().parent / "weights" / "fusion.json"


@dataclass(frozen=True)
class FusionParams:
    features: tuple[str, ...]
    coef: dict[str, float]
    intercept: float
    temperature: float
    abstain_low: float
    abstain_high: float
    threshold: float = 0.5
    version: str = "unfitted"
    sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "features": list(self.features),
            "coef": self.coef,
            "intercept": self.intercept,
            "temperature": self.temperature,
            "abstain": [self.abstain_low, self.abstain_high],
            "threshold": self.threshold,
        }


@lru_cache(maxsize=4)
def load_params(path: Path = FUSION_PATH) -> FusionParams:
    """The fitted parameters; before any fit, an equal-weight average of logits is used and labelled so."""
    if not path.exists():
        return FusionParams(
            features=("face_manipulation", "ai_generated"),
            coef={"face_manipulation": 1.0, "ai_generated": 1.0},
            intercept=0.0,
            temperature=1.0,
            abstain_low=0.35,
            abstain_high=0.65,
            version="unfitted",
        )
    raw = path.read_bytes()
    d = json.loads(raw)
    return FusionParams(
        features=tuple(d["features"]),
        coef={k: float(v) for k, v in d["coef"].items()},
        intercept=float(d["intercept"]),
        temperature=float(d["temperature"]),
        abstain_low=float(d["abstain"][0]),
        abstain_high=float(d["abstain"][1]),
        threshold=float(d.get("threshold", 0.5)),
        version=str(d.get("version", "1")),
        sha256=hashlib.sha256(raw).hexdigest(),
        extra={k: v for k, v in d.items() if k in ("fitted_on", "metrics")},
    )


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


#: Pseudo-feature: the largest calibrated logit among the applicable detectors. The detectors look for
#: different things (a swapped face, a generated image), so "any detector is sure" must be expressible; a
#: linear sum of logits alone lets a confident detector be cancelled by one that is blind to that fake.
MAX_FEATURE = "max"


def _calibrated_logit(score: float) -> float:
    p = min(max(score, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def feature_vector(results: dict[str, DetectorResult], features: tuple[str, ...]) -> list[float]:
    """Values in ``features`` order: raw logits (0.0 when a detector does not apply) and ``max``."""
    applicable = [r for n, r in results.items() if n in features and r.applicable and r.logit is not None]
    vec = []
    for name in features:
        if name == MAX_FEATURE:
            scores = [_calibrated_logit(r.score) for r in applicable if r.score is not None]
            vec.append(max(scores) if scores else 0.0)
            continue
        r = results.get(name)
        vec.append(float(r.logit) if r is not None and r.applicable and r.logit is not None else 0.0)
    return vec


@dataclass(frozen=True)
class Verdict:
    prediction: Prediction
    confidence: float
    fake_probability: float
    reason: str | None


def combine(
    results: dict[str, DetectorResult],
    params: FusionParams,
    *,
    abstain_low: float | None = None,
    abstain_high: float | None = None,
) -> Verdict:
    fused = [n for n in params.features if n in results and results[n].applicable and results[n].logit is not None]
    findings: list[Finding] = [f for r in results.values() for f in r.findings]
    decisive = [f for f in findings if f.decisive and f.direction == "fake"]
    if decisive:
        return Verdict("deepfake", 0.99, 0.99, decisive[0].code)
    if not fused:
        return Verdict("unknown", 0.0, 0.5, "no_applicable_detector")
    vec = feature_vector(results, params.features)
    z = params.intercept + sum(params.coef.get(n, 0.0) * v for n, v in zip(params.features, vec, strict=True))
    p = sigmoid(z / params.temperature)
    low = params.abstain_low if abstain_low is None else abstain_low
    high = params.abstain_high if abstain_high is None else abstain_high
    confidence = max(p, 1.0 - p)
    if low <= p <= high:
        return Verdict("unknown", confidence, p, "weak_evidence")
    if p < low and any(f.direction == "fake" for f in findings):
        # The models see nothing, but the file's own metadata says a generator made it. Unverified metadata
        # cannot convict, yet we cannot call the image authentic either.
        return Verdict("unknown", confidence, p, "metadata_contradicts_models")
    return Verdict("deepfake" if p > high else "authentic", confidence, p, None)
