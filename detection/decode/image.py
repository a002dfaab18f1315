"""Still-image decoding with hard limits.

Pillow reads the header first, so the pixel cap is checked before any pixel is decompressed (decompression
bombs); truncated or corrupt data fails the full decode and becomes ``decode_failed``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps

from ..config import AnalysisConfig
from ..errors import DecodeFailed, MediaTooLarge
from ..types import MediaInfo

# Never decode a partial image silently: a truncated file is an error the user must see.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class DecodedImage:
    info: MediaInfo
    data: bytes
    #: RGB uint8, orientation applied, full resolution.
    rgb: np.ndarray
    #: RGB uint8 downscaled so the longest side is at most ``config.analysis_side``.
    analysis_rgb: np.ndarray
    #: analysis pixels per original pixel
    scale: float
    #: Raw container metadata for the provenance/compression detectors.
    meta: dict[str, Any] = field(default_factory=dict)


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if mode == "P":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    # CMYK (Pillow handles Adobe inverted CMYK), YCbCr, LAB, L, 1, ...
    return im.convert("RGB")


def _collect_meta(im: Image.Image, fmt: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"format": fmt, "mode": im.mode}
    info = dict(im.info)
    exif = im.getexif()
    meta["exif"] = {int(k): v for k, v in exif.items()} if exif else {}
    try:
        meta["exif_ifd"] = {int(k): v for k, v in exif.get_ifd(0x8769).items()} if exif else {}
    except Exception:  # noqa: BLE001 - malformed EXIF sub-IFD is evidence of nothing; skip it
        meta["exif_ifd"] = {}
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", "replace")
    meta["xmp"] = xmp if isinstance(xmp, str) else None
    if fmt == "png":
        meta["png_text"] = {
            str(k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
            for k, v in info.items()
            if isinstance(v, (str, bytes)) and k not in ("xmp", "XML:com.adobe.xmp", "icc_profile", "exif")
        }
    if fmt == "jpeg":
        q = getattr(im, "quantization", None)
        meta["quantization"] = {int(k): list(v) for k, v in q.items()} if q else {}
        meta["progressive"] = bool(info.get("progressive") or info.get("progression"))
        meta["subsampling"] = _jpeg_subsampling(im)
    meta["icc_profile"] = bool(info.get("icc_profile"))
    meta["n_frames"] = int(getattr(im, "n_frames", 1) or 1)
    return meta


def _jpeg_subsampling(im: Image.Image) -> int | None:
    try:
        from PIL import JpegImagePlugin

        return int(JpegImagePlugin.get_sampling(im))
    except Exception:  # noqa: BLE001 - unknown layouts simply report no value
        return None


def decode_image(data: bytes, fmt: str, mime: str, sha256: str, config: AnalysisConfig) -> DecodedImage:
    # Pillow's switch is process-global and other libraries flip it on import (WeasyPrint sets it to True, and
    # report rendering runs in the same worker processes): set it on every call, never trust the import-time value.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            w, h = im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaTooLarge(f"Image is too large to decode safely: {exc}") from exc
    except Exception as exc:
        raise DecodeFailed(f"Could not read the {fmt.upper()} header: {exc}") from exc
    if w <= 0 or h <= 0:
        raise DecodeFailed("Image has no pixels.")
    if w * h > config.max_pixels or max(w, h) > config.max_side:
        raise MediaTooLarge(
            f"Image is {w}x{h} ({w * h / 1e6:.1f} MP); the limit is {config.max_pixels / 1e6:.0f} MP "
            f"and {config.max_side} px per side."
        )
    try:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        meta = _collect_meta(im, fmt)
        im.load()
        oriented: Image.Image = ImageOps.exif_transpose(im) or im
        rgb_im = _to_rgb(oriented)
        rgb = np.asarray(rgb_im, dtype=np.uint8)
    except MediaTooLarge:
        raise
    except Exception as exc:
        raise DecodeFailed(f"The {fmt.upper()} data is truncated or corrupt: {exc}") from exc
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DecodeFailed("Decoded image has an unexpected shape.")
    analysis_rgb, scale = fit_longest_side(rgb, config.analysis_side)
    info = MediaInfo(
        media_type="image",
        format=fmt,
        mime=mime,
        size_bytes=len(data),
        sha256=sha256,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        mode=meta.get("mode"),
    )
    return DecodedImage(info=info, data=data, rgb=rgb, analysis_rgb=analysis_rgb, scale=scale, meta=meta)


def fit_longest_side(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    longest = max(h, w)
    if longest <= side:
        return rgb, 1.0
    import cv2

    scale = side / longest
    out = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out), scale
