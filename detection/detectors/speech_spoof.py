"""Synthetic / converted speech detector: LFCC + LCNN-style CNN trained by us (detection/training/speech.py).

Scores overlapping 4 s windows from one trunk pass; the utterance score is a FITTED aggregation of the window
logits (mean and max, logistic regression on the validation fold) with a fitted temperature, so ``score`` is a
calibrated P(fake). Window scores use their own fitted temperature and make the timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..types import DetectorResult
from .base import Detector, ImageContext


@dataclass(frozen=True)
class ClipScore:
    window_logits: list[float]
    window_scores: list[float]  # calibrated P(fake) per window
    spans: list[tuple[float, float]]  # seconds on the canonical (trimmed) timeline
    logit: float  # aggregated, before temperature
    score: float  # calibrated P(fake) for the clip


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


class SpeechSpoofDetector(Detector):
    name = "speech_spoof"
    version = "1.1"  # 1.1: front end with a fixed noise floor
    media_types: ClassVar[frozenset[str]] = frozenset({"audio"})
    weights_file = "speech_spoof.pt"
    fused = True

    def __init__(self) -> None:
        super().__init__()
        self.model: Any = None
        self.meta: dict[str, Any] = {}

    def load(self) -> None:
        from ..audio.model import build

        ckpt = self.load_checkpoint()
        self.meta = dict(ckpt["meta"])
        model = build(self.meta)
        model.load_state_dict(ckpt["state_dict"])
        model.eval()
        self.model = model

    @property
    def abstain(self) -> tuple[float, float]:
        lo, hi = self.meta.get("abstain", (0.3, 0.7))
        return float(lo), float(hi)

    def score_clip(self, samples: np.ndarray) -> ClipScore:
        """Score a canonical clip (float32, 16 kHz, at least one second long)."""
        import torch

        self.ensure_loaded()
        with torch.inference_mode():
            logits_t, spans = self.model.window_logits(torch.from_numpy(np.ascontiguousarray(samples)))
        logits = [float(v) for v in logits_t]
        agg = self.meta["aggregate"]
        z = float(agg["intercept"]) + float(agg["mean"]) * float(np.mean(logits)) + float(agg["max"]) * max(logits)
        t_clip = float(self.meta.get("temperature", 1.0))
        t_win = float(self.meta.get("window_temperature", 1.0))
        w_bias = float(self.meta.get("window_bias", 0.0))
        return ClipScore(
            window_logits=logits,
            window_scores=[_sigmoid((v + w_bias) / t_win) for v in logits],
            spans=spans,
            logit=z,
            score=_sigmoid(z / t_clip),
        )

    def analyze(self, ctx: ImageContext) -> DetectorResult:
        return self.result(score=None, applicable=False, reason="not_audio")
