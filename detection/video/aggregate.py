"""Per-track and per-clip scores from per-frame face logits, with the FITTED aggregation in
``weights/video_fusion.json`` (``python -m detection.training video``).

A track's score is ``sigmoid(a * topk_mean(logits) + b * std(logits) + c)`` where ``topk_mean`` averages the
``ceil(k_frac * n)`` highest logits: a swap that fails on some frames still shows on the others, and a
single noisy frame cannot decide alone (the mean of the top half is robust to both). The clip's face score is
its most suspicious major track's, since one swapped person makes the clip a deepfake.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

VIDEO_FUSION_PATH = Path(__file__).resolve().parent.parent / "weights" / "video_fusion.json"


@dataclass(frozen=True)
class VideoFusionParams:
    k_frac: float
    coef_topk: float
    coef_std: float
    intercept: float
    abstain_low: float
    abstain_high: float
    version: str = "unfitted"
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "k_frac": self.k_frac,
            "coef": {"topk_logit": self.coef_topk, "std_logit": self.coef_std},
            "intercept": self.intercept,
            "abstain": [self.abstain_low, self.abstain_high],
        }


@lru_cache(maxsize=4)
def load_video_params(path: Path = VIDEO_FUSION_PATH) -> VideoFusionParams:
    """Fitted parameters; before a fit, the image detector's own temperature (labelled ``unfitted``)."""
    if not path.exists():
        return VideoFusionParams(0.5, 1.0 / 1.7875, 0.0, 0.0, 0.35, 0.65)
    raw = path.read_bytes()
    d = json.loads(raw)
    return VideoFusionParams(
        k_frac=float(d["k_frac"]),
        coef_topk=float(d["coef"]["topk_logit"]),
        coef_std=float(d["coef"]["std_logit"]),
        intercept=float(d["intercept"]),
        abstain_low=float(d["abstain"][0]),
        abstain_high=float(d["abstain"][1]),
        version=str(d.get("version", "1")),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def track_features(logits: np.ndarray | list[float], k_frac: float) -> tuple[float, float]:
    """(mean of the top ``ceil(k_frac * n)`` logits, std of the logits)."""
    arr = np.sort(np.asarray(logits, dtype=np.float64))[::-1]
    if arr.size == 0:
        raise ValueError("a track needs at least one logit")
    k = max(1, math.ceil(k_frac * arr.size))
    return float(arr[:k].mean()), float(arr.std())


def track_logit(logits: np.ndarray | list[float], params: VideoFusionParams) -> float:
    """The calibrated logit of one track (``sigmoid`` of it is the track's P(fake))."""
    topk, std = track_features(logits, params.k_frac)
    return params.coef_topk * topk + params.coef_std * std + params.intercept
