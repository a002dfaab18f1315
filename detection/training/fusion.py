"""Fit the fusion combiner, its temperature and the abstention band on the validation fold.

``python -m detection.training fusion`` runs the shipped engine (decode, faces, every fused detector) on the
validation fold of every image source, fits a source-balanced logistic regression on the detectors' logits
plus a has-face indicator, fits a temperature on out-of-fold predictions, picks the abstention band, reports
the test fold per source and writes ``detection/weights/fusion.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .. import registry
from ..fusion import FUSION_PATH, MAX_FEATURE, feature_vector, load_params, sigmoid
from ..metrics import summary
from .data import Item, fold_of, image_items, neutral_bytes, split

FEATURES = ("face_manipulation", "ai_generated", MAX_FEATURE)
DETECTORS = ("face_manipulation", "ai_generated")


def _run(items: list[Item], label: str) -> list[dict[str, Any]]:
    from ..config import AnalysisConfig
    from ..engine import analyze
    from ..errors import DetectionError

    cfg = AnalysisConfig(detectors=DETECTORS)
    rows = []
    t0 = time.time()
    for i, it in enumerate(items):
        try:
            a = analyze(neutral_bytes(it), cfg)
        except DetectionError as exc:
            print(f"  skip {it.relpath}: {exc.code}")
            continue
        results = {r.name: r for r in a.detectors}
        rows.append({"item": it, "x": feature_vector(results, FEATURES), "y": it.label})
        if (i + 1) % 100 == 0:
            print(f"  {label}: {i + 1}/{len(items)} ({time.time() - t0:.0f} s)", flush=True)
    return rows


def _weights(rows: list[dict[str, Any]]) -> np.ndarray:
    """Each class weighs half; inside a class every source weighs the same, so no source defines a class."""
    cells = Counter((r["item"].source, r["y"]) for r in rows)
    per_class = Counter(y for _, y in cells)
    w = np.array([1.0 / (cells[(r["item"].source, r["y"])] * per_class[r["y"]]) for r in rows])
    return w * len(rows) / w.sum()


def _fit_lr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0, max_iter=2000)
    clf.fit(x, y, sample_weight=w)
    return clf.coef_[0], float(clf.intercept_[0])


def _fit_temperature(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.25), math.log(8.0), 200)):
        p = np.clip(1 / (1 + np.exp(-z / t)), 1e-6, 1 - 1e-6)
        nll = float(-(w * (y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def _band(p: np.ndarray, y: np.ndarray, target: float = 0.9) -> tuple[float, float]:
    """Smallest symmetric band around 0.5 whose outside reaches ``target`` accuracy (capped at +-0.25)."""
    for d in np.arange(0.05, 0.251, 0.01):
        keep = (p < 0.5 - d) | (p > 0.5 + d)
        if keep.sum() >= 10 and np.mean((p[keep] > 0.5) == y[keep]) >= target:
            return round(0.5 - d, 3), round(0.5 + d, 3)
    return 0.25, 0.75


def _write_card(path: Path, params: dict[str, Any]) -> None:
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = [f"| {s} | {m['n']} | {m['auc']} | {m['eer']} | {m['ece']} | {m['accuracy']} | {m['unknown_rate']} |"
            for s, m in [*params["metrics"]["test_per_source"].items(), ("overall", params["metrics"]["test_overall"])]]
    card = f"""# Model card: `fusion.json` (verdict combiner)

| | |
|---|---|
| file | `detection/weights/fusion.json` |
| sha256 | `{sha}` |
| reproduce | `python -m detection.training fusion` (after the detectors' weights; runs the shipped engine) |
| combiner | logistic regression on {params["features"]}: raw logits (0 when not applicable) and the \
largest calibrated logit ("max": any detector being sure must count) |
| coefficients | {params["coef"]}, intercept {params["intercept"]} |
| temperature | {params["temperature"]} (fitted on out-of-fold predictions inside the validation fold, NLL) |
| abstention band | P(fake) in {params["abstain"]} -> `unknown` / `weak_evidence` (smallest band whose outside reaches
90% accuracy out-of-fold, at most +-0.25) |

## Data
Validation fold 0 of `detection.training.data.split` (grouped by DFDC pair / identity), every image source, at
most 80 files per (source, label); each class weighs half and every source weighs the same within its class,
so that no source defines "fake". tpdne files are read through `neutral_bytes` (watermark corner removed, both
classes re-encoded).
Licences: as the detectors' cards (DFDC and CelebA-derived data are research-only).
Out-of-fold validation: {json.dumps(params["fitted_on"]["oof_validation"])}

## Test fold (fold 1, never seen by the detectors' training or this fit)

| source | n | AUC | EER | ECE | accuracy@0.5 | unknown rate |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Intended use and limits
Combines the learned detectors into one calibrated P(fake). Rules on top (fusion.py): a valid C2PA generator
claim decides; unverified generator metadata blocks an `authentic` verdict. The per-source table shows where the
calibration holds; sources absent from training (the hidden test set) may be calibrated worse.
"""
    path.with_suffix(".md").write_text(card)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detection.training fusion")
    parser.add_argument("--out", type=Path, default=FUSION_PATH)
    parser.add_argument("--max-per-cell", type=int, default=80, help="cap files per (source, label) per fold")
    args = parser.parse_args(argv)
    rng = random.Random(0)
    items = image_items()
    parts = split(items)

    def capped(group: list[Item]) -> list[Item]:
        by: dict[tuple[str, int], list[Item]] = {}
        for it in group:
            by.setdefault((it.source, it.label), []).append(it)
        out: list[Item] = []
        for key in sorted(by):
            cell = sorted(by[key], key=lambda it: it.relpath)
            rng.shuffle(cell)
            out.extend(cell[: args.max_per_cell])
        return out

    val, test = capped(parts["val"]), capped(parts["test"])
    print(f"fusion: {len(val)} validation and {len(test)} test files")
    vrows, trows = _run(val, "val"), _run(test, "test")
    xv = np.array([r["x"] for r in vrows])
    yv = np.array([r["y"] for r in vrows])
    wv = _weights(vrows)

    # out-of-fold logits (grouped folds inside the validation fold) for the temperature and the band
    inner = np.array([fold_of(r["item"].group, 5, salt="fusion") for r in vrows])
    z_oof = np.zeros(len(vrows))
    for k in range(5):
        tr, te = inner != k, inner == k
        c, b = _fit_lr(xv[tr], yv[tr], wv[tr])
        z_oof[te] = xv[te] @ c + b
    coef, intercept = _fit_lr(xv, yv, wv)
    temperature = _fit_temperature(z_oof, yv, wv)
    p_oof = 1 / (1 + np.exp(-z_oof / temperature))
    low, high = _band(p_oof, yv)

    def fused_p(rows: list[dict[str, Any]]) -> list[float]:
        return [sigmoid((float(np.dot(coef, r["x"])) + intercept) / temperature) for r in rows]

    pt = fused_p(trows)
    per_source: dict[str, Any] = {}
    for s in sorted({r["item"].source for r in trows}):
        idx = [i for i, r in enumerate(trows) if r["item"].source == s]
        m = summary([trows[i]["y"] for i in idx], [pt[i] for i in idx])
        m["unknown_rate"] = round(float(np.mean([low <= pt[i] <= high for i in idx])), 4)
        per_source[s] = m
    overall = summary([r["y"] for r in trows], pt)
    overall["unknown_rate"] = round(float(np.mean([low <= p <= high for p in pt])), 4)
    params = {
        "version": "1.0",
        "features": list(FEATURES),
        "coef": {n: round(float(c), 6) for n, c in zip(FEATURES, coef, strict=True)},
        "intercept": round(intercept, 6),
        "temperature": round(temperature, 6),
        "abstain": [low, high],
        "threshold": 0.5,
        "fitted_on": {
            "split": "validation fold 0 of detection.training.data.split (grouped by pair/identity)",
            "n": len(vrows),
            "sources": sorted({r["item"].source for r in vrows}),
            "weighting": "classes weigh half each; sources weigh equally within a class",
            "detectors": {n: registry.get(n).weights_sha256() for n in DETECTORS},
            "oof_validation": summary(yv.tolist(), p_oof.tolist()),
        },
        "metrics": {"test_overall": overall, "test_per_source": per_source},
    }
    args.out.write_text(json.dumps(params, indent=2) + "\n")
    load_params.cache_clear()
    _write_card(args.out, params)
    print(json.dumps({k: params[k] for k in ("coef", "intercept", "temperature", "abstain")}))
    print("test fold (fused):", json.dumps(overall))
    for s, m in per_source.items():
        print(f"  {s:<28} {json.dumps(m)}")
    print(f"wrote {args.out}")
    return 0
