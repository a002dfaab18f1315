"""Media the tests make themselves: no dataset is needed to run the suite."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def photo(size: tuple[int, int] = (320, 240), seed: int = 0) -> np.ndarray:
    """A natural-ish RGB image: smooth gradients plus texture, so codecs behave as on photos."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w * 200, yy / h * 180, (xx + yy) / (w + h) * 160], axis=-1)
    texture = rng.normal(0, 12, (h, w, 3)).astype(np.float32)
    return np.clip(base + texture + 30, 0, 255).astype(np.uint8)


def face_photo() -> np.ndarray:
    """A real photograph with a real face, shipped inside scikit-image (NASA, public domain)."""
    from skimage import data

    return np.asarray(data.astronaut())


def encode(rgb: np.ndarray | Image.Image, fmt: str, **kwargs: object) -> bytes:
    im = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()
