"""``manage.py evaluate_models LABELS.csv --root DIR --dataset NAME``: measure the shipped models on YOUR labelled
media and record the numbers in model_performance (what /models/{id}/metrics, the dashboard's models and
analytics pages and the admin show).

The CSV is the engine's evaluate format (``relpath,label[,source]``, label real|fake). One row is written per
detector that scored any file, and one for the fused verdict (``fusion``), each with accuracy, precision,
recall and F1 at 0.5 and ROC AUC; files the engine abstained on (``unknown``) count in ``extra``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.catalog import FUSION_ID
from analysis.models import ModelPerformance


def _dec(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(str(round(float(v), 4)))


def scores_to_row(y: list[int], p: list[float]) -> dict[str, Any]:
    from detection.metrics import roc_auc

    tp = sum(1 for t, s in zip(y, p, strict=True) if t == 1 and s >= 0.5)
    fp = sum(1 for t, s in zip(y, p, strict=True) if t == 0 and s >= 0.5)
    fn = sum(1 for t, s in zip(y, p, strict=True) if t == 1 and s < 0.5)
    tn = len(y) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    auc = roc_auc(y, p) if 0 < sum(y) < len(y) else None
    return {
        "accuracy": (tp + tn) / len(y) if y else None,
        "precision_score": precision,
        "recall": recall,
        "f1_score": f1,
        "roc_auc": auc,
    }


class Command(BaseCommand):
    help = "Evaluate the shipped models on a labelled CSV and record the results in model_performance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--root", type=Path, required=True, help="folder the CSV's relpath values start from")
        parser.add_argument("--dataset", required=True, help="a name for this labelled set, e.g. 'newsroom-2026Q4'")
        parser.add_argument("--limit", type=int, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        from detection import __version__, registry
        from detection.evaluate import evaluate

        if not opts["manifest"].exists():
            raise CommandError(f"{opts['manifest']} does not exist")
        report = evaluate(opts["manifest"], opts["root"], limit=opts["limit"])
        ok = [f for f in report["files"] if f["error"] is None]
        if not ok:
            raise CommandError(f"no file could be analysed ({len(report['files'])} rows; see the errors)")
        per_model: dict[str, tuple[list[int], list[float]]] = {FUSION_ID: ([], [])}
        for f in ok:
            per_model[FUSION_ID][0].append(int(f["label"]))
            per_model[FUSION_ID][1].append(float(f["p"]))
            for name, score in (f.get("scores") or {}).items():
                if score is not None:
                    ys, ps = per_model.setdefault(name, ([], []))
                    ys.append(int(f["label"]))
                    ps.append(float(score))
        unknown = sum(1 for f in ok if f["prediction"] == "unknown")
        written = 0
        for name, (y, p) in per_model.items():
            version = __version__ if name == FUSION_ID else registry.get(name).version
            row = scores_to_row(y, p)
            ModelPerformance.objects.create(
                model_name=name,
                version=version,
                dataset_name=opts["dataset"][:100],
                extra={"n": len(y), "files": len(report["files"]), "errors": len(report["files"]) - len(ok),
                       "unknown": unknown if name == FUSION_ID else None, "engine_version": __version__,
                       "manifest": str(opts["manifest"])},
                **{k: _dec(v) for k, v in row.items()},
            )
            written += 1
            auc = "n/a" if row["roc_auc"] is None else f"{row['roc_auc']:.3f}"
            self.stdout.write(f"{name:<20} n={len(y):<5} accuracy={row['accuracy']:.3f} auc={auc}")
        self.stdout.write(self.style.SUCCESS(f"recorded {written} model_performance rows for {opts['dataset']}"))
