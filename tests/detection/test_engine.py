"""End to end through the public API and the CLI, with every committed model."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from detection import AnalysisConfig, analyze, registry
from detection.errors import DecodeFailed, UnsupportedMedia

from .media import encode, photo

REPO = Path(__file__).resolve().parents[2]


def test_it_returns_the_documented_result_shape(face_jpeg: bytes) -> None:
    a = analyze(face_jpeg)
    d = a.to_dict()
    assert d["prediction"] in ("authentic", "deepfake", "unknown")
    assert 0.0 <= d["confidence"] <= 1.0 and 0.0 <= d["fake_probability"] <= 1.0
    assert d["is_authentic"] == (d["prediction"] == "authentic")
    assert {"facial_inconsistencies", "temporal_artifacts", "compression_anomalies", "feature_maps"} <= set(
        d["evidence"]
    )
    assert d["evidence"]["temporal_artifacts"] is None
    assert 0.0 <= d["evidence"]["facial_inconsistencies"] <= 1.0
    assert 0.0 <= d["evidence"]["compression_anomalies"] <= 1.0
    assert d["evidence"]["feature_maps"] == []
    assert {"face_manipulation", "ai_generated"} <= set(d["models_used"])
    assert len(d["faces"]) >= 1
    json.dumps(d)


def test_every_verdict_carries_its_provenance(face_jpeg: bytes) -> None:
    a = analyze(face_jpeg)
    prov = a.provenance
    assert prov["input_sha256"] == hashlib.sha256(face_jpeg).hexdigest()
    assert prov["engine_version"]
    by_name = {d["name"]: d for d in prov["detectors"]}
    for name in ("face_manipulation", "ai_generated"):
        det = registry.get(name)
        assert by_name[name]["weights_sha256"] == hashlib.sha256(det.weights_path.read_bytes()).hexdigest()
        assert by_name[name]["version"]
    assert prov["fusion"]["version"] != "unfitted"
    assert prov["fusion"]["sha256"]
    assert "total" in prov["timings"]


def test_it_is_deterministic(face_jpeg: bytes) -> None:
    a, b = analyze(face_jpeg), analyze(face_jpeg)
    assert a.fake_probability == b.fake_probability and a.scores == b.scores


def test_detailed_analysis_adds_decodable_heatmaps(face_jpeg: bytes) -> None:
    maps = analyze(face_jpeg, AnalysisConfig(detailed=True)).evidence["feature_maps"]
    assert {m["layer"].split(".")[0] for m in maps} >= {"face_manipulation", "ai_generated"}
    for m in maps:
        im = Image.open(io.BytesIO(base64.b64decode(m["activation_map"])))
        assert im.format == "PNG" and im.width > 0


def test_an_image_without_faces_is_judged_by_the_whole_image_detectors(landscape_png: bytes) -> None:
    a = analyze(landscape_png)
    assert a.faces == ()
    assert a.scores["face_manipulation"] is None
    assert a.scores["ai_generated"] is not None
    face = next(d for d in a.detectors if d.name == "face_manipulation")
    assert face.applicable is False and face.reason == "no_face_found"


def test_a_one_pixel_image_is_out_of_scope_not_an_error() -> None:
    a = analyze(encode(photo((1, 1)), "PNG"))
    assert a.prediction == "unknown" and a.reason == "too_small"


def test_progress_reports_every_stage_in_order(face_jpeg: bytes) -> None:
    seen: list[tuple[str, int, int]] = []
    analyze(face_jpeg, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [s for s, _, _ in seen]
    assert stages[0] == "decode" and stages[-1] == "fusion"
    assert "faces" in stages and any(s.startswith("detector:") for s in stages)
    assert all(0 <= done <= total for _, done, total in seen)


def test_bad_input_raises_a_stable_code() -> None:
    with pytest.raises(UnsupportedMedia):
        analyze(b"MZ\x90\x00" + b"\x00" * 100)
    with pytest.raises(DecodeFailed):
        analyze(encode(photo(), "JPEG")[:300])


def test_every_committed_model_has_a_card_naming_its_sha256() -> None:
    for name in registry.names():
        det = registry.get(name)
        if det.weights_path is None:
            continue
        card = det.weights_path.with_suffix(".md")
        assert card.exists(), f"{name} has no model card"
        sha = hashlib.sha256(det.weights_path.read_bytes()).hexdigest()
        assert sha in card.read_text(), f"{card.name} does not state the sha256 of {det.weights_path.name}"
        assert det.weights_path.stat().st_size < 25 * 1024 * 1024


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detection", *args], capture_output=True, text=True, timeout=300, cwd=REPO
    )


def test_cli_prints_a_verdict_and_fails_with_the_reason_for_bad_files(tmp_path: Path, face_jpeg: bytes) -> None:
    good = tmp_path / "portrait.jpg"
    good.write_bytes(face_jpeg)
    bad = tmp_path / "invoice.jpg"
    bad.write_bytes(b"#!/bin/sh\necho pwned\n")
    out = _cli("analyze", str(good), str(bad))
    assert out.returncode == 2
    assert re.search(r"portrait\.jpg: (AUTHENTIC|DEEPFAKE|UNKNOWN)", out.stdout)
    assert "invoice.jpg: ERROR unsupported_media" in out.stdout


def test_cli_json_output_is_machine_readable(tmp_path: Path, face_jpeg: bytes) -> None:
    good = tmp_path / "portrait.jpg"
    good.write_bytes(face_jpeg)
    out = _cli("analyze", str(good), "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["ok"] is True and body["result"]["prediction"] in ("authentic", "deepfake", "unknown")


def test_evaluate_reports_metrics_per_source_and_counts_unreadable_files(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        for label in ("real", "fake"):
            rel = f"{label}/{i}.png"
            (tmp_path / label).mkdir(exist_ok=True)
            (tmp_path / rel).write_bytes(
                encode(photo((96 + 8 * i, 80), seed=i + (10 if label == "fake" else 0)), "PNG")
            )
            rows.append((rel, label, "synthetic"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    rows.append(("broken.jpg", "fake", "other"))
    rows.append(("missing.jpg", "real", "other"))
    manifest = tmp_path / "labels.csv"
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["relpath", "label", "source"])
        w.writerows(rows)
    out_json = tmp_path / "report.json"
    res = _cli("evaluate", str(manifest), "--root", str(tmp_path), "--json", str(out_json))
    assert res.returncode == 0, res.stderr
    report = json.loads(out_json.read_text())
    keys = {"n", "auc", "eer", "accuracy", "ece", "unknown_rate", "errors", "mean_latency_ms"}
    assert keys <= set(report["overall"])
    assert report["overall"]["n"] == 10 and report["overall"]["errors"] == 2
    assert report["per_source"]["synthetic"]["n"] == 8 and report["per_source"]["synthetic"]["auc"] is not None
    assert keys <= set(report["per_source"]["other"])
    assert {e["code"] for e in report["errors"]} == {"decode_failed", "not_found"}
    assert "synthetic" in res.stdout and "overall" in res.stdout


def test_the_fusion_was_fitted_on_the_committed_detector_weights() -> None:
    from detection.fusion import load_params

    fitted = load_params().extra["fitted_on"]["detectors"]
    for name, sha in fitted.items():
        assert registry.get(name).weights_sha256() == sha, f"refit fusion after retraining {name}"
