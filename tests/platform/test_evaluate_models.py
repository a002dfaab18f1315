"""``manage.py evaluate_models``: the shipped models measured on a labelled CSV land in model_performance."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from analysis.models import ModelPerformance

pytestmark = pytest.mark.django_db


def test_it_records_one_row_per_model_and_one_for_the_fused_verdict(tmp_path: Path) -> None:
    from skimage import data

    rng = np.random.default_rng(0)
    rows = []
    for i in range(4):
        img = data.astronaut() if i % 2 == 0 else rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
        Image.fromarray(img).save(tmp_path / f"{i}.png")
        rows.append((f"{i}.png", "real" if i < 2 else "fake"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 10)
    rows.append(("broken.jpg", "fake"))
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["relpath", "label"])
        w.writerows(rows)
    out = io.StringIO()
    call_command("evaluate_models", str(tmp_path / "labels.csv"), "--root", str(tmp_path), "--dataset", "mini",
                 stdout=out)
    names = set(ModelPerformance.objects.filter(dataset_name="mini").values_list("model_name", flat=True))
    assert {"fusion", "ai_generated"} <= names
    fused = ModelPerformance.objects.get(dataset_name="mini", model_name="fusion")
    assert fused.extra["n"] == 4 and fused.extra["errors"] == 1
    assert fused.accuracy is not None and 0 <= fused.accuracy <= 1
    assert fused.roc_auc is not None
    assert "recorded" in out.getvalue()


def test_a_missing_manifest_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        call_command("evaluate_models", str(tmp_path / "nope.csv"), "--root", str(tmp_path), "--dataset", "x")
