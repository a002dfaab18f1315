"""Compression forensics on images made inside the tests (skimage's bundled photos and generated texture)."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

from detection.config import AnalysisConfig
from detection.decode import decode
from detection.detectors.base import ImageContext
from detection.detectors.compression import CompressionDetector
from detection.types import DetectorResult

from .media import encode, photo


def analyze(data: bytes, detailed: bool = False) -> DetectorResult:
    cfg = AnalysisConfig(detailed=detailed)
    return CompressionDetector().analyze(ImageContext(image=decode(data, cfg), faces=[], config=cfg))


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def natural(name: str = "astronaut") -> np.ndarray:
    from skimage import data

    return np.asarray(getattr(data, name)())


def pink_noise(size: int = 512, seed: int = 0) -> np.ndarray:
    """1/f texture: a broad, photo-like spectrum, so DCT coefficient histograms are smooth and wide."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) / np.maximum(f, 1e-4) ** 0.5))
    gray = ((field - field.min()) / np.ptp(field) * 255).astype(np.uint8)
    return np.stack([gray] * 3, axis=-1)


def codes(result: DetectorResult) -> set[str]:
    return {f.code for f in result.findings}


@pytest.mark.parametrize("background,donor", [("astronaut", "chelsea"), ("chelsea", "coffee"), ("rocket", "coffee")])
def test_a_pasted_region_from_another_jpeg_raises_the_error_level_anomaly(background: str, donor: str) -> None:
    # The "camera original" is a q75 JPEG; a region from another photo saved at q50 is pasted in and the
    # result saved at q90. The untouched control is the same original saved at q90.
    original = decoded(encode(natural(background), "JPEG", quality=75))
    patch = decoded(encode(natural(donor), "JPEG", quality=50))
    h, w = original.shape[:2]
    forged = original.copy()
    forged[h // 4 : h // 4 + h // 3, w // 4 : w // 4 + w // 3] = patch[: h // 3, : w // 3]
    uniform = analyze(encode(original, "JPEG", quality=90))
    spliced = analyze(encode(forged, "JPEG", quality=90))
    assert spliced.details["ela"]["anomaly"] >= uniform.details["ela"]["anomaly"] + 0.4
    assert spliced.details["compression_anomalies"] > uniform.details["compression_anomalies"]
    assert "ela_inconsistent" not in codes(uniform)
    if background == "astronaut":  # the finding needs anomaly >= 0.7: it is meant to be rare and precise
        assert "ela_inconsistent" in codes(spliced)


def test_a_uniformly_compressed_photo_has_a_low_anomaly() -> None:
    result = analyze(encode(natural("coffee"), "JPEG", quality=85))
    assert result.details["ela"]["anomaly"] < 0.3
    assert 0.0 <= result.details["compression_anomalies"] < 0.3
    assert result.score is None and result.logit is None and result.applicable


@pytest.mark.parametrize("image", ["astronaut", "pink"])
def test_double_compression_q90_then_q70_scores_higher_than_single_q70(image: str) -> None:
    rgb = pink_noise() if image == "pink" else natural(image)
    single = analyze(encode(rgb, "JPEG", quality=70))
    double = analyze(encode(decoded(encode(rgb, "JPEG", quality=90)), "JPEG", quality=70))
    assert double.details["double_jpeg"] > single.details["double_jpeg"]
    assert double.details["double_jpeg_detail"]["raw"] > single.details["double_jpeg_detail"]["raw"] + 0.05


def test_a_low_then_high_quality_double_compression_is_reported() -> None:
    rgb = natural("astronaut")
    result = analyze(encode(decoded(encode(rgb, "JPEG", quality=60)), "JPEG", quality=85))
    assert result.details["double_jpeg"] >= 0.9
    assert "double_jpeg" in codes(result)
    assert "double_jpeg" not in codes(analyze(encode(rgb, "JPEG", quality=85)))


@pytest.mark.parametrize("image", ["astronaut", "chelsea"])
def test_cropping_after_compression_shows_a_shifted_jpeg_grid(image: str) -> None:
    compressed = decoded(encode(natural(image), "JPEG", quality=70))
    result = analyze(encode(np.ascontiguousarray(compressed[3:, 5:]), "JPEG", quality=95))
    assert "jpeg_grid_misaligned" in codes(result)
    assert result.details["grid"]["x"]["phase"] == (7 - 5) % 8
    assert "jpeg_grid_misaligned" not in codes(analyze(encode(natural(image), "JPEG", quality=95)))


def test_a_png_that_was_a_jpeg_shows_block_traces_and_no_double_jpeg_score() -> None:
    was_jpeg = analyze(encode(decoded(encode(natural("astronaut"), "JPEG", quality=70)), "PNG"))
    assert "jpeg_trace" in codes(was_jpeg)
    assert was_jpeg.details["double_jpeg"] is None
    assert "jpeg_trace" not in codes(analyze(encode(natural("astronaut"), "PNG")))


def test_the_ela_heatmap_is_only_made_when_detailed() -> None:
    data = encode(photo((320, 240)), "JPEG", quality=80)
    assert analyze(data, detailed=False).feature_maps == ()
    (fmap,) = analyze(data, detailed=True).feature_maps
    assert fmap.layer == "ela" and fmap.target == "image" and fmap.box == (0, 0, 320, 240)
    png = Image.open(io.BytesIO(base64.b64decode(fmap.activation_map)))
    assert png.format == "PNG" and png.mode == "RGB" and png.size == (320, 240)


def test_the_heatmap_follows_exif_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    result = analyze(encode(photo((320, 240)), "JPEG", quality=80, exif=exif), detailed=True)
    assert result.feature_maps[0].box == (0, 0, 240, 320)
    png = Image.open(io.BytesIO(base64.b64decode(result.feature_maps[0].activation_map)))
    assert png.size == (240, 320)


@pytest.mark.parametrize("size", [(1, 1), (9, 7), (40, 30)])
def test_tiny_images_do_not_break_it(size: tuple[int, int]) -> None:
    for fmt in ("JPEG", "PNG"):
        result = analyze(encode(photo(size), fmt), detailed=True)
        assert 0.0 <= result.details["compression_anomalies"] <= 1.0


def test_it_is_fast_on_a_1024x768_jpeg() -> None:
    import cv2

    data = encode(cv2.resize(natural("astronaut"), (1024, 768)), "JPEG", quality=85)
    cfg = AnalysisConfig()
    ctx = ImageContext(image=decode(data, cfg), faces=[], config=cfg)
    detector = CompressionDetector()
    detector.analyze(ctx)
    start = time.perf_counter()
    for _ in range(5):
        detector.analyze(ctx)
    # ~15-20 ms on one free core; the bound is loose because tests share the CPU with other jobs.
    assert (time.perf_counter() - start) / 5 < 0.15
