"""Augmentations applied identically to BOTH classes, so codec, size and sharpness stop being labels."""

from __future__ import annotations

import io
import random

import cv2
import numpy as np
from PIL import Image


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def rescale(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, (max(8, round(w * factor)), max(8, round(h * factor))), interpolation=interp)


def gaussian_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma)


def sharpen(rgb: np.ndarray, amount: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(rgb, (0, 0), 1.0).astype(np.float32)
    out = rgb.astype(np.float32) * (1 + amount) - blurred * amount
    return np.clip(out, 0, 255).astype(np.uint8)


def noise(rgb: np.ndarray, sigma: float, rng: random.Random) -> np.ndarray:
    gen = np.random.default_rng(rng.randrange(2**32))
    out = rgb.astype(np.float32) + gen.normal(0, sigma, rgb.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def degrade(rgb: np.ndarray, rng: random.Random, strength: float = 1.0) -> np.ndarray:
    """A random chain of the channel effects users' media go through (each with some probability)."""
    out = rgb
    if rng.random() < 0.3 * strength:
        out = rescale(out, rng.uniform(0.5, 0.9))
    if rng.random() < 0.25 * strength:
        out = gaussian_blur(out, rng.uniform(0.3, 1.5))
    elif rng.random() < 0.2 * strength:
        out = sharpen(out, rng.uniform(0.3, 1.0))
    if rng.random() < 0.2 * strength:
        out = noise(out, rng.uniform(1.0, 5.0), rng)
    if rng.random() < 0.6 * strength:
        out = jpeg(out, rng.randint(60, 98))
    return out
