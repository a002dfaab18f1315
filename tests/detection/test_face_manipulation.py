"""The face-manipulation detector on generated media (no dataset needed), and the SBI pseudo-fake maker."""

from __future__ import annotations

import base64
import io
import random

import numpy as np
import pytest
import torch
from PIL import Image

from detection.config import AnalysisConfig
from detection.decode import decode
from detection.detectors.base import ImageContext
from detection.detectors.face_manipulation import FaceManipulationDetector
from detection.faces import detect_faces

from .media import face_photo


def _context(data: bytes, detailed: bool = False) -> ImageContext:
    config = AnalysisConfig(detailed=detailed)
    img = decode(data, config)
    faces = detect_faces(img.analysis_rgb, min_size=config.min_face_size, max_faces=config.max_faces)
    return ImageContext(image=img, faces=faces, config=config)


@pytest.fixture(scope="module")
def detector() -> FaceManipulationDetector:
    det = FaceManipulationDetector()
    det.ensure_loaded()
    return det


def test_the_checkpoint_loads_with_weights_only_and_carries_its_calibration(detector: FaceManipulationDetector) -> None:
    assert detector.weights_path is not None
    ckpt = torch.load(detector.weights_path, map_location="cpu", weights_only=True)
    meta = ckpt["meta"]
    assert meta["temperature"] > 0
    assert meta["input_size"] == detector.input_size
    assert 0.0 <= meta["metrics"]["test"]["auc"] <= 1.0
    assert len(detector.weights_sha256() or "") == 64


def test_it_scores_a_real_face_photo_with_a_probability(detector: FaceManipulationDetector, face_jpeg: bytes) -> None:
    res = detector.analyze(_context(face_jpeg))
    assert res.applicable and res.reason is None
    assert res.score is not None and 0.0 <= res.score <= 1.0
    assert res.logit is not None and np.isfinite(res.logit)
    faces = res.details["faces"]
    assert len(faces) >= 1 and {"index", "box", "score"} <= set(faces[0])
    assert res.details["facial_inconsistencies"] == pytest.approx(max(f["score"] for f in faces), abs=1e-4)
    assert res.feature_maps == ()  # heatmaps only on request


def test_it_is_deterministic_across_calls(detector: FaceManipulationDetector, face_jpeg: bytes) -> None:
    a = detector.analyze(_context(face_jpeg))
    b = detector.analyze(_context(face_jpeg))
    assert a.score == b.score and a.logit == b.logit


def test_it_does_not_apply_to_an_image_without_a_face(detector: FaceManipulationDetector, landscape_png: bytes) -> None:
    res = detector.analyze(_context(landscape_png))
    assert res.applicable is False
    assert res.reason == "no_face_found"
    assert res.score is None and res.logit is None


def test_detailed_mode_adds_a_decodable_gradcam_png_per_face_without_changing_the_score(
    detector: FaceManipulationDetector, face_jpeg: bytes
) -> None:
    plain = detector.analyze(_context(face_jpeg))
    res = detector.analyze(_context(face_jpeg, detailed=True))
    assert len(res.feature_maps) == len(res.details["faces"]) >= 1
    fm = res.feature_maps[0]
    assert fm.layer == "face_manipulation.gradcam" and fm.target == "face:0" and fm.box is not None
    png = Image.open(io.BytesIO(base64.b64decode(fm.activation_map)))
    assert png.format == "PNG" and png.size[0] >= 64
    assert res.score == pytest.approx(plain.score, abs=1e-5)


def test_a_self_blended_image_differs_from_its_source_inside_a_non_empty_mask() -> None:
    from detection.training.sbi import face_landmarks, self_blend

    crop = np.asarray(Image.fromarray(face_photo()[20:240, 150:370]).resize((224, 224)))
    landmarks = face_landmarks(crop)
    assert landmarks is not None and landmarks.shape == (468, 2)
    blended, mask = self_blend(crop, landmarks, random.Random(0))
    assert blended.shape == crop.shape and blended.dtype == np.uint8
    assert not np.array_equal(blended, crop)
    assert mask.shape == crop.shape[:2] and float(mask.max()) > 0 and (mask > 0.05).mean() > 0.05


def test_self_blending_falls_back_to_an_ellipse_when_no_landmarks_are_found() -> None:
    from detection.training.sbi import self_blend

    rng = np.random.default_rng(1)
    crop = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    blended, mask = self_blend(crop, None, random.Random(3))
    assert not np.array_equal(blended, crop)
    assert float(mask.max()) > 0 and mask[64, 64] > 0 and mask[0, 0] < 0.05
