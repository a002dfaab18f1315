"""``python -m detection evaluate MANIFEST.csv --root DIR``: score any labelled set with the shipped engine.

The CSV needs ``relpath,label`` (label real|fake) and may have ``source``; rows without a source are grouped
under their top folder. Unreadable files are errors: counted, listed, never skipped silently. Options add the
robustness transform (JPEG q70 + 0.5x downscale) and the shortcut check (can file size / resolution / format
alone tell the classes apart in this set? and does the model's score survive normalising them away?).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import AnalysisConfig
from .errors import DetectionError
from .fusion import load_params
from .metrics import roc_auc, summary


@dataclass(frozen=True)
class Row:
    relpath: str
    label: int
    source: str


def read_manifest(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"relpath", "label"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: the CSV needs the columns relpath,label (found {reader.fieldnames})")
        for i, rec in enumerate(reader, start=2):
            label = (rec.get("label") or "").strip().lower()
            if label not in ("real", "fake"):
                raise SystemExit(f"{path}:{i}: label must be real or fake, not {label!r}")
            rel = (rec.get("relpath") or "").strip()
            source = (rec.get("source") or "").strip() or (rel.split("/")[0] if "/" in rel else "default")
            rows.append(Row(rel, 1 if label == "fake" else 0, source))
    return rows


def degrade_for_robustness(data: bytes) -> bytes:
    """The robustness report's transform: 0.5x downscale then JPEG quality 70."""
    from PIL import Image

    src = Image.open(io.BytesIO(data))
    src.seek(0)
    im = src.convert("RGB")
    im = im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=70)
    return out.getvalue()


def normalise_container(data: bytes, short_side: int = 512) -> bytes:
    """Same pixels content, shortcut features removed: fixed short side, JPEG q90, no metadata."""
    from PIL import Image

    src = Image.open(io.BytesIO(data))
    src.seek(0)
    im = src.convert("RGB")
    s = short_side / min(im.size)
    im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _by_media(
    image_fn: Callable[[bytes], bytes] | None, audio_fn: Callable[[bytes], bytes] | None
) -> Callable[[bytes], bytes]:
    """A transform that applies the image or the audio version according to the file's content (videos and
    media without a version pass unchanged)."""

    def run(data: bytes) -> bytes:
        from .decode import sniff

        kind = sniff(data[:64])
        fn = (
            image_fn
            if kind is not None and kind.kind == "image"
            else audio_fn
            if kind is not None and kind.kind == "audio"
            else None
        )
        return fn(data) if fn is not None else data

    return run


def _mp3_64k(data: bytes) -> bytes:
    from .audio.transforms import mp3_64k_file

    return mp3_64k_file(data)


def _noise_20db(data: bytes) -> bytes:
    from .audio.transforms import noise_20db_file

    return noise_20db_file(data)


#: ``--transform``: images get JPEG q70 + 0.5x (robustness) or size/codec normalisation; audio gets MP3 64 kbps
#: (robustness, mp3_64k) or noise at 20 dB SNR (noise_20db).
TRANSFORMS: dict[str, Callable[[bytes], bytes]] = {
    "robustness": _by_media(degrade_for_robustness, _mp3_64k),
    "normalise": _by_media(normalise_container, None),
    "mp3_64k": _by_media(None, _mp3_64k),
    "noise_20db": _by_media(None, _noise_20db),
}


def _group_metrics(recs: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    ok = [r for r in recs if r["error"] is None]
    y = [r["label"] for r in ok]
    p = [r["p"] for r in ok]
    out: dict[str, Any] = summary(y, p, threshold)
    out["n"] = len(recs)
    out["unknown_rate"] = round(sum(r["prediction"] == "unknown" for r in ok) / len(ok), 4) if ok else None
    out["errors"] = len(recs) - len(ok)
    out["mean_latency_ms"] = round(1000 * float(np.mean([r["seconds"] for r in ok])), 1) if ok else None
    return out


def shortcut_check(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """AUC of a cross-validated logistic regression on container attributes alone: file size, width, height and
    duration (whichever the media has) and format. A high value means the data can be separated without looking
    at the content; compare it with the model's AUC on the same files."""
    ok = [r for r in recs if r["error"] is None and (r.get("width") or r.get("duration"))]
    y = np.array([r["label"] for r in ok])
    if len(ok) < 20 or y.min() == y.max() or min(np.bincount(y)) < 5:
        return {"metadata_only_auc": None, "note": "too few files of each class"}
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    formats = sorted({r["format"] for r in ok})
    x = np.array(
        [
            [
                np.log1p(r["size_bytes"]),
                np.log1p(r.get("width") or 0),
                np.log1p(r.get("height") or 0),
                np.log1p(r.get("duration") or 0),
            ]
            + [1.0 if r["format"] == f else 0.0 for f in formats]
            for r in ok
        ]
    )
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    p = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
    return {
        "metadata_only_auc": round(float(roc_auc(y.tolist(), p.tolist()) or 0.0), 4),
        "model_auc": round(float(roc_auc(y.tolist(), [r["p"] for r in ok]) or 0.0), 4),
        "features": ["log_bytes", "log_width", "log_height", "log_duration", *[f"format={f}" for f in formats]],
    }


def evaluate(
    manifest: Path,
    root: Path,
    *,
    config: AnalysisConfig | None = None,
    transform: str | None = None,
    limit: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    from .engine import analyze

    rows = read_manifest(manifest)
    if limit:
        rows = rows[:limit]
    cfg = config or AnalysisConfig()
    fn = TRANSFORMS[transform] if transform else None
    threshold = load_params().threshold
    recs: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if progress:
            progress(i, len(rows), row.relpath)
        rec: dict[str, Any] = {"relpath": row.relpath, "label": row.label, "source": row.source, "error": None}
        t = time.perf_counter()
        try:
            src: Any = root / row.relpath
            if fn is not None:
                src = fn(Path(src).read_bytes())
            a = analyze(src, cfg)
            rec.update(
                p=a.fake_probability,
                prediction=a.prediction,
                reason=a.reason,
                width=a.media.width,
                height=a.media.height,
                duration=a.media.duration,
                media_type=a.media.media_type,
                format=a.media.format,
                size_bytes=a.media.size_bytes,
                scores=a.scores,
            )
        except DetectionError as exc:
            rec.update(error=exc.code, message=exc.message)
        except Exception as exc:  # noqa: BLE001 - a transform or file-system failure is an error row too
            rec.update(error="internal_error" if not isinstance(exc, OSError) else "unreadable", message=str(exc))
        rec["seconds"] = time.perf_counter() - t
        recs.append(rec)
    if progress:
        progress(len(rows), len(rows), "")
    per_source = {
        s: _group_metrics([r for r in recs if r["source"] == s], threshold) for s in sorted({r["source"] for r in recs})
    }
    return {
        "overall": _group_metrics(recs, threshold),
        "per_source": per_source,
        "threshold": threshold,
        "transform": transform,
        "shortcut_check": shortcut_check(recs),
        "errors": [
            {"relpath": r["relpath"], "code": r["error"], "message": r.get("message", "")}
            for r in recs
            if r["error"] is not None
        ],
        "files": [{k: v for k, v in r.items() if k != "message"} for r in recs],
    }


def format_report(report: dict[str, Any]) -> str:
    cols = ["n", "auc", "eer", "accuracy", "ece", "unknown_rate", "errors", "mean_latency_ms"]

    def fmt(v: Any) -> str:
        return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    width = max([len("overall"), *(len(s) for s in report["per_source"])]) + 2
    lines = ["source".ljust(width) + "".join(c.rjust(16) for c in cols)]
    for name, m in [*report["per_source"].items(), ("overall", report["overall"])]:
        lines.append(name.ljust(width) + "".join(fmt(m.get(c)).rjust(16) for c in cols))
    sc = report.get("shortcut_check") or {}
    if sc.get("metadata_only_auc") is not None:
        lines.append(
            f"shortcut check: a classifier on file size/resolution/format alone reaches AUC "
            f"{sc['metadata_only_auc']:.3f} on this set (model: {sc['model_auc']:.3f})"
        )
    for e in report["errors"][:20]:
        lines.append(f"error: {e['relpath']}: {e['code']}: {e['message']}")
    if len(report["errors"]) > 20:
        lines.append(f"... and {len(report['errors']) - 20} more errors")
    lines.append(
        f"threshold {report['threshold']}" + (f", transform {report['transform']}" if report["transform"] else "")
    )
    return "\n".join(lines)
