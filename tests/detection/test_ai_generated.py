"""The AI-generated / GAN whole-image detector: contract, determinism, heatmap, size invariance, safe loading."""

from __future__ import annotations

import base64
import io
import math
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from detection.config import AnalysisConfig
from detection.decode import decode
from detection.detectors.ai_generated import AIGeneratedDetector, crop_boxes, preprocess
from detection.detectors.base import WEIGHTS_DIR, ImageContext

from .media import encode, photo

pytestmark = pytest.mark.skipif(
    not (WEIGHTS_DIR / "ai_generated.pt").exists(), reason="ai_generated.pt weights are not committed"
)


@pytest.fixture(scope="module")
def detector() -> AIGeneratedDetector:
    det = AIGeneratedDetector()
    det.ensure_loaded()
    return det


def _ctx(rgb: np.ndarray, detailed: bool = False, fmt: str = "PNG") -> ImageContext:
    cfg = AnalysisConfig(detailed=detailed)
    return ImageContext(image=decode(encode(rgb, fmt), cfg), faces=[], config=cfg)


def _scene(size: int, seed: int = 3) -> np.ndarray:
    """A photo-like scene made at ``size`` px: blobs and edges, rendered smoothly so a resize keeps it intact."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(0, 255, (12, 12, 3)).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    stripes = 40 * np.sin(2 * math.pi * (3 * xx + 2 * yy))[..., None]
    return np.clip(base + stripes, 0, 255).astype(np.uint8)


def test_score_is_a_calibrated_probability_of_the_raw_logit_and_repeatable(detector: AIGeneratedDetector) -> None:
    ctx = _ctx(photo((640, 480), seed=1))
    a, b = detector.analyze(ctx), detector.analyze(ctx)
    assert a.applicable and a.score is not None and a.logit is not None
    assert 0.0 <= a.score <= 1.0 and math.isfinite(a.logit)
    assert a.score == b.score and a.logit == b.logit
    assert a.score == pytest.approx(1 / (1 + math.exp(-a.logit / detector.temperature)), abs=1e-9)
    assert a.details["short_side"] == detector.short_side
    assert 1 <= len(a.details["crop_scores"]) <= detector.max_crops
    assert a.name == "ai_generated" and a.weights_sha256 and len(a.weights_sha256) == 64


def test_detailed_mode_adds_a_png_heatmap_covering_the_whole_image(detector: AIGeneratedDetector) -> None:
    rgb = photo((500, 300), seed=2)
    res = detector.analyze(_ctx(rgb, detailed=True))
    plain = detector.analyze(_ctx(rgb))
    assert res.score == pytest.approx(plain.score, abs=1e-5)  # the Grad-CAM pass scores the same crops
    (fmap,) = res.feature_maps
    assert fmap.layer.startswith("ai_generated.") and fmap.target == "image"
    assert fmap.box == (0, 0, 500, 300)
    png = base64.b64decode(fmap.activation_map)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and abs(im.width / im.height - 500 / 300) < 0.02
    assert detector.analyze(_ctx(rgb)).feature_maps == ()


def test_the_same_content_at_two_file_resolutions_gets_nearly_the_same_score(
    detector: AIGeneratedDetector,
) -> None:
    """Image size was a perfect label in one training source; after preprocessing it must not matter."""
    big = _scene(1600)
    small = cv2.resize(big, (600, 600), interpolation=cv2.INTER_AREA)
    s_big = detector.analyze(_ctx(big, fmt="JPEG"))
    s_small = detector.analyze(_ctx(small, fmt="JPEG"))
    assert abs(s_big.logit - s_small.logit) < 0.5
    assert abs(s_big.score - s_small.score) < 0.1


def test_preprocessing_gives_the_network_fixed_size_crops_whatever_the_input_size() -> None:
    for h, w in [(128, 128), (559, 559), (3000, 4000), (90, 1024), (1024, 300)]:
        resized, crops, boxes = preprocess(np.zeros((h, w, 3), np.uint8), 256, 160, 4)
        assert min(resized.shape[:2]) >= 160
        assert crops.shape[1:] == (160, 160, 3) and 1 <= len(crops) <= 4
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= resized.shape[1] and 0 <= y0 < y1 <= resized.shape[0]
    # a square image at the network scale is tiled by four overlapping crops that reach every corner
    boxes = crop_boxes(256, 256, 160, 4)
    assert sorted(boxes) == [(0, 0, 160, 160), (0, 96, 160, 256), (96, 0, 256, 160), (96, 96, 256, 256)]


def test_a_thumbnail_too_small_to_judge_is_not_applicable(detector: AIGeneratedDetector) -> None:
    res = detector.analyze(_ctx(photo((12, 12))))
    assert not res.applicable and res.score is None and res.logit is None


def test_the_shipped_checkpoint_holds_only_tensors_and_plain_metadata() -> None:
    import torch

    ckpt = torch.load(WEIGHTS_DIR / "ai_generated.pt", map_location="cpu", weights_only=True)
    assert set(ckpt) == {"state_dict", "meta"}
    meta = ckpt["meta"]
    assert meta["temperature"] > 0 and meta["crop"] > 0 and meta["short_side"] >= meta["crop"]
    assert (WEIGHTS_DIR / "ai_generated.pt").stat().st_size < 25 * 1024 * 1024


class _Payload:
    """Unpickling this would run code of the file's choosing; weights_only loading must refuse it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_loading_refuses_a_checkpoint_that_contains_pickled_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    bad = tmp_path / "ai_generated.pt"
    torch.save({"state_dict": {}, "meta": {}, "payload": _Payload()}, bad)
    monkeypatch.setattr("detection.detectors.base.WEIGHTS_DIR", tmp_path)
    det = AIGeneratedDetector()
    assert det.weights_path == bad
    with pytest.raises(pickle.UnpicklingError):
        det.ensure_loaded()
