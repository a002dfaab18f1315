"""Detection metrics shared by training, evaluation and benchmarks (numpy only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def roc_auc(y: Sequence[int], p: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney form, ties counted half); ``None`` with one class only."""
    ya, pa = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    pos, neg = pa[ya == 1], pa[ya == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([neg, pos]), kind="mergesort")
    ranks = np.empty(len(order), dtype=float)
    allv = np.concatenate([neg, pos])[order]
    # average ranks for ties
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    r_pos = ranks[len(neg) :].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def eer(y: Sequence[int], p: Sequence[float]) -> float | None:
    """Equal error rate: where the false-accept and false-reject rates cross."""
    ya, pa = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    if ya.min(initial=0) == ya.max(initial=0) or len(ya) == 0:
        return None
    thresholds = np.unique(np.concatenate([pa, [-np.inf, np.inf]]))
    best = (1.0, 0.0)
    for t in thresholds:
        far = float(np.mean(pa[ya == 0] >= t))
        frr = float(np.mean(pa[ya == 1] < t))
        if abs(far - frr) <= abs(best[0] - best[1]):
            best = (far, frr)
    return (best[0] + best[1]) / 2.0


def ece(y: Sequence[int], p: Sequence[float], bins: int = 10) -> float | None:
    """Expected calibration error of P(fake) over equal-width bins."""
    ya, pa = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(ya) == 0:
        return None
    idx = np.minimum((pa * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / len(ya) * abs(pa[m].mean() - ya[m].mean())
    return float(total)


def accuracy(y: Sequence[int], p: Sequence[float], threshold: float = 0.5) -> float | None:
    ya, pa = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    if len(ya) == 0:
        return None
    return float(np.mean((pa > threshold).astype(int) == ya))


def summary(y: Sequence[int], p: Sequence[float], threshold: float = 0.5) -> dict[str, float | int | None]:
    def r(v: float | None) -> float | None:
        return None if v is None or math.isnan(v) else round(v, 4)

    return {
        "n": len(y),
        "auc": r(roc_auc(y, p)),
        "eer": r(eer(y, p)),
        "accuracy": r(accuracy(y, p, threshold)),
        "ece": r(ece(y, p)),
    }
