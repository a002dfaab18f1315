"""Compression forensics: error-level analysis, double-JPEG and grid-alignment hints, as evidence only.

Three cheap signals (numpy/OpenCV only; ~20 ms on a 1024x768 JPEG, +4 ms for the heatmap):

* **Error levels (ELA / JPEG ghosts).** The luminance is re-saved as JPEG at several qualities
  (:data:`GHOST_QUALITIES`) and the squared error is averaged over 16x16 blocks. A plain ELA map (q90)
  mostly shows texture, so the anomaly score does not use it directly: each block's errors are normalised
  across the qualities into a *profile* (Farid's "JPEG ghosts", 2009), which cancels texture and overall
  quality; a region with a different compression history has a different profile. The score is the spread
  (98th minus 50th percentile) of the per-block distance to the median profile, mapped to [0, 1].
  Measured on real photos from ../shared/data (176 as published, 240 re-saved at q75/q90, 240 with a
  pasted region from another photo, raw or q60): AUC pasted vs re-saved only 0.61, but the finding
  (anomaly >= 0.7) fired on 7.5% of pasted images and on 0% of the re-saved and 0% of the published
  photos. It catches the classic case (a camera JPEG with a pasted region, saved again at a higher
  quality) and misses a paste into a never-compressed image: a pointer for the analyst, never a verdict.
* **Double JPEG.** For JPEG inputs the 8x8 DCT of the decoded luminance (on the file's own grid) is
  divided by the final quantisation step; if an earlier compression used a different step, the histogram
  of the quantised values shows periodic peaks/gaps. We measure the excess second difference of the
  log-histogram over Poisson noise, averaged over ten low frequencies. AUC (60 real photos, single vs
  double): 1.0 when the first quality was lower (q60 -> q85, q80 -> q75), 0.88 for q90 -> q70, 0.80 for
  q95 -> q85, nothing for equal qualities. Smooth images, graphics and scanned text can fake it.
* **Grid alignment.** JPEG leaves stronger pixel differences across 8x8 block borders. The strongest
  border phase should be the file's own (0, 0) grid; a clearly stronger shifted grid means an earlier
  compression on another grid, i.e. cropping after compression. For PNG and other lossless inputs, a
  clear grid shows the image was a JPEG before.

Double compression and cropping are very common in authentic photos (every re-share does it), so they
count 0.3 in ``details["compression_anomalies"] = max(ela, 0.3 * double_jpeg, 0.3 * grid)``; only a
locally uneven error level can push it above 0.3.
"""

from __future__ import annotations

import base64
import time
from typing import Any, ClassVar

import cv2
import numpy as np
from numpy.typing import NDArray

from ..types import DetectorResult, FeatureMap, Finding
from .base import Detector, ImageContext

GHOST_QUALITIES = (50, 65, 80, 90)
BLOCK = 16
#: Compute error levels on the native-resolution luminance up to this many pixels (JPEG traces do not
#: survive resizing); above it, on the downscaled analysis image with the score halved.
NATIVE_MAX_PIXELS = 4_000_000
DCT_CROP = 1024
#: Blocks whose worst (q50) re-save MSE is below this are flat or clipped: their profile is noise.
FLAT_MSE = 4.0
DCT_FREQS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1), (2, 2), (0, 3), (3, 0))
# Score mappings (raw statistic -> [0, 1]); fitted on real photos so that uniform re-saves stay low.
ELA_SPREAD_RANGE = (0.25, 0.85)
DJ_RANGE = (0.12, 0.30)
GRID_RANGE = (0.05, 0.15)
#: Robust z a phase needs over the other phases: 3 for a shifted grid, 4 for "was a JPEG" traces. On 176 real
#: photos: shifted-grid false alarms 2% (PNG, resized) / 1% (JPEG as published); 47% found after crop + q95.
GRID_Z_SHIFTED, GRID_Z_TRACE = 3.0, 4.0
FINDING_THRESHOLD = {"ela": 0.7, "double_jpeg": 0.5, "grid": 0.5}

_n = np.arange(8)
_DCT8 = np.sqrt(2 / 8) * np.cos(np.pi * (2 * _n[None, :] + 1) * _n[:, None] / 16)
_DCT8[0] /= np.sqrt(2)

#: OpenCV hands back loosely typed arrays; these aliases document intent (uint8 luminance, float statistics).
Gray = NDArray[Any]
Floats = NDArray[Any]


def _ramp(value: float, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def _jpeg_roundtrip(y: Gray, quality: int) -> Gray:
    ok, buf = cv2.imencode(".jpg", y, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoder failed")
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def _orient(a: Floats, orientation: int) -> Floats:
    """Apply an EXIF orientation to a map computed on the stored (unrotated) pixels, as Pillow does."""
    if orientation in (2, 3, 4):
        a = a[:, ::-1] if orientation == 2 else a[::-1, ::-1] if orientation == 3 else a[::-1]
    elif orientation in (5, 7):
        a = (a if orientation == 5 else a[::-1, ::-1]).swapaxes(0, 1)
    elif orientation in (6, 8):
        a = np.rot90(a, -1 if orientation == 6 else 1)
    return np.ascontiguousarray(a)


def native_luma(ctx: ImageContext) -> tuple[Gray, int]:
    """Full-resolution luminance on the file's own pixel grid, and the EXIF orientation still to apply.

    For JPEG the Y plane is decoded directly (libjpeg, orientation ignored) so the 8x8 grid and the
    values are exactly the encoder's; other formats use the decoded RGB.
    """
    if ctx.image.info.format == "jpeg":
        y = cv2.imdecode(np.frombuffer(ctx.image.data, np.uint8), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        if y is not None and y.ndim == 2:
            orientation = (ctx.image.meta.get("exif") or {}).get(0x0112, 1)
            return y, int(orientation) if isinstance(orientation, int) else 1
    return cv2.cvtColor(ctx.image.rgb, cv2.COLOR_RGB2GRAY), 1


def error_levels(y: Gray) -> dict[str, Any]:
    """ELA map (q90) and the JPEG-ghost profile spread over 16x16 blocks. See the module docstring."""
    h, w = y.shape[0] // BLOCK * BLOCK, y.shape[1] // BLOCK * BLOCK
    y = np.ascontiguousarray(y[:h, :w])
    if h < BLOCK or w < BLOCK:
        return {"ela_map": np.zeros((1, 1), np.float32), "stats": {"blocks": 0}, "anomaly": 0.0}
    errs = []
    ela_map = None
    for q in GHOST_QUALITIES:
        diff = cv2.absdiff(y, _jpeg_roundtrip(y, q))
        if q == 90:
            ela_map = diff
        squared = cv2.multiply(diff, diff, dtype=cv2.CV_32F)
        errs.append(cv2.resize(squared, (w // BLOCK, h // BLOCK), interpolation=cv2.INTER_AREA))
    d = np.stack(errs, axis=-1)  # (by, bx, n_qualities): mean squared error per block and quality
    lo, hi = d.min(axis=-1, keepdims=True), d.max(axis=-1, keepdims=True)
    profile = (d - lo) / (hi - lo + 1e-3)
    dist = np.abs(profile - np.median(profile.reshape(-1, d.shape[-1]), axis=0)).sum(axis=-1)
    flat = hi[..., 0] < FLAT_MSE  # flat or clipped blocks carry no compression signal
    dist[flat] = 0.0 if flat.all() else float(np.median(dist[~flat]))
    spread = float(np.percentile(dist, 98) - np.percentile(dist, 50))
    med = float(np.median(dist))
    z = cv2.blur(((dist - med) / (float(np.median(np.abs(dist - med))) * 1.4826 + 1e-6)).astype(np.float32), (3, 3))
    assert ela_map is not None
    ela_blocks = cv2.resize(ela_map.astype(np.float32), (w // BLOCK, h // BLOCK), interpolation=cv2.INTER_AREA)
    stats = {
        "ela_q90_mean": round(float(ela_map.mean()), 4),
        "ela_q90_block_p50": round(float(np.percentile(ela_blocks, 50)), 4),
        "ela_q90_block_p98": round(float(np.percentile(ela_blocks, 98)), 4),
        "ghost_spread": round(spread, 4),
        "outlier_blocks": round(float((z > 3.0).mean()), 4),
        "flat_blocks": round(float(flat.mean()), 4),
        "blocks": int(dist.size),
    }
    return {"ela_map": ela_map, "stats": stats, "anomaly": _ramp(spread, ELA_SPREAD_RANGE) if dist.size >= 16 else 0.0}


def _aligned_crop(y: Gray, side: int = DCT_CROP) -> Gray:
    """A centred crop of at most ``side`` px whose origin stays on the file's 8x8 grid."""
    h, w = y.shape
    ch, cw = min(h, side) // 8 * 8, min(w, side) // 8 * 8
    y0, x0 = (h - ch) // 2 // 8 * 8, (w - cw) // 2 // 8 * 8
    return y[y0 : y0 + ch, x0 : x0 + cw]


def _histogram_excess(k: Floats, span: int = 40, min_count: int = 10) -> float | None:
    """Excess (over Poisson noise) RMS second difference of the log-histogram of |k|, k = 2..span-1.

    A single quantisation leaves a smooth, Laplacian-like histogram (linear in log); a second one with a
    different step makes some bins collect more source values than others: periodic bumps or gaps.
    """
    a = np.abs(k[np.abs(k) <= span]).astype(np.int64)
    h = np.bincount(a, minlength=span + 2).astype(np.float64)
    lh = np.log(h + 1.0)
    second = lh[2:span] - 0.5 * (lh[1 : span - 1] + lh[3 : span + 1])
    noise = 1 / (h[2:span] + 1) + 0.25 * (1 / (h[1 : span - 1] + 1) + 1 / (h[3 : span + 1] + 1))
    ok = (h[1 : span - 1] >= min_count) & (h[3 : span + 1] >= min_count)
    if ok.sum() < 3:
        return None
    return float(np.sqrt(max(float(np.mean(second[ok] ** 2 - noise[ok])), 0.0)))


def double_jpeg(y: Gray, luma_table: list[int]) -> dict[str, Any] | None:
    """Double-quantisation periodicity of low-frequency DCT histograms on the file's grid (JPEG only)."""
    crop = _aligned_crop(y).astype(np.float32) - 128.0
    h, w = crop.shape
    if h < 64 or w < 64 or len(luma_table) != 64:
        return None
    blocks = crop.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    low = _DCT8[:4].astype(np.float32)  # every frequency in DCT_FREQS has u, v < 4
    coeffs = low @ blocks @ low.T
    q = np.asarray(luma_table, dtype=np.float64).reshape(8, 8)  # Pillow reports natural (row-major) order
    per_freq = {}
    for u, v in DCT_FREQS:
        if q[u, v] >= 2:  # a step of 1 leaves no quantisation pattern to see
            excess = _histogram_excess(np.rint(coeffs[:, :, u, v] / q[u, v]).ravel())
            if excess is not None:
                per_freq[f"{u},{v}"] = round(excess, 4)
    if not per_freq:
        return None
    raw = float(np.mean(list(per_freq.values())))
    return {"score": _ramp(raw, DJ_RANGE), "raw": round(raw, 4), "per_frequency": per_freq}


def _phase_strengths(y: Gray, axis: int) -> Floats:
    """Mean absolute neighbour difference per 8-px phase along ``axis``, relative to the median phase."""
    if axis == 1:
        diffs = cv2.absdiff(y[:, 1:], y[:, :-1])
        line = cv2.reduce(diffs, 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()  # mean per column border
    else:
        diffs = cv2.absdiff(y[1:], y[:-1])
        line = cv2.reduce(diffs, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()  # mean per row border
    n = line.size // 8 * 8
    # Trimmed mean over the borders of one phase: a few strong edges in the content must not look like a grid.
    folded = np.sort(line[:n].reshape(-1, 8), axis=0)
    cut = folded.shape[0] // 5
    prof = folded[cut : folded.shape[0] - cut].mean(axis=0).astype(np.float64)
    base = float(np.median(prof))
    out: Floats = (prof - base) / (base + 1e-3)
    return out


def _robust_z(value: float, others: Floats) -> float:
    med = float(np.median(others))
    return (value - med) / (1.4826 * float(np.median(np.abs(others - med))) + 0.01)


def grid_alignment(y: Gray) -> dict[str, Any]:
    """Blockiness per 8-px phase in x and y. Phase 7 is the border between pixels 7 and 8: the file's grid.

    A phase counts only if it stands out from the other phases by a robust z-score (``GRID_Z_*``): on
    small images the eight phase values are noisy and textured columns would otherwise look like a grid.
    """
    crop = np.ascontiguousarray(_aligned_crop(y))
    if min(crop.shape) < 64:  # too few borders per phase for a robust median
        none = {"phase": 7, "strength": 0.0, "own_grid": 0.0, "z": 0.0}
        return {"x": none, "y": dict(none), "misaligned": 0.0, "score": 0.0, "trace": 0.0}
    out: dict[str, Any] = {}
    shifted, trace = 0.0, 0.0
    for name, axis in (("x", 1), ("y", 0)):
        s = _phase_strengths(crop, axis)
        own, z_own = float(s[7]), _robust_z(float(s[7]), np.delete(s, 7))
        p = int(np.argmax(s[:7]))  # strongest phase other than the file's own
        z_p = _robust_z(float(s[p]), np.delete(s, [p, 7]))
        out[name] = {"phase": p if s[p] > own else 7, "strength": round(float(s.max()), 4), "own_grid": round(own, 4),
                     "z": round(max(z_p, z_own), 2)}  # fmt: skip
        if z_p >= GRID_Z_SHIFTED:
            shifted = max(shifted, float(s[p]) - max(own, 0.0))
        if z_p >= GRID_Z_TRACE:
            trace = max(trace, float(s[p]))
        if z_own >= GRID_Z_TRACE:
            trace = max(trace, own)
    out["misaligned"] = round(shifted, 4)
    out["score"] = _ramp(shifted, GRID_RANGE)
    out["trace"] = round(trace, 4)
    return out


def ela_heatmap(ela_map: Floats, size: tuple[int, int], max_side: int = 384) -> str:
    """The q90 ELA map, scaled to its 99th percentile and colour-mapped (JET), as a base64 PNG.

    ``size`` is the (w, h) of the analysed image; the PNG keeps that aspect at <= ``max_side`` px, which is
    plenty for a block-level signal and keeps the payload small.
    """
    scale = min(1.0, max_side / max(size))
    small = cv2.resize(ela_map, (max(1, round(size[0] * scale)), max(1, round(size[1] * scale))),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    top = max(float(np.percentile(small, 99)), 1e-3)
    colour = cv2.applyColorMap(cv2.convertScaleAbs(small, alpha=255.0 / top), cv2.COLORMAP_JET)
    ok, buf = cv2.imencode(".png", colour, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoder failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


class CompressionDetector(Detector):
    """Error-level and JPEG-history evidence. Not fused: the scalar goes to ``details["compression_anomalies"]``."""

    name: ClassVar[str] = "compression"
    version: ClassVar[str] = "1.0"
    weights_file: ClassVar[str | None] = None
    fused: ClassVar[bool] = False

    def analyze(self, ctx: ImageContext) -> DetectorResult:
        start = time.perf_counter()
        analysis = ctx.image.analysis_rgb
        ah, aw = analysis.shape[:2]
        y, orientation = native_luma(ctx)
        native = y.size <= NATIVE_MAX_PIXELS
        # Error levels need the stored pixels (a resize wipes JPEG traces); only huge images fall back.
        ela = error_levels(y if native else cv2.cvtColor(analysis, cv2.COLOR_RGB2GRAY))
        ela_score = ela["anomaly"] if native else 0.5 * ela["anomaly"]
        table = (ctx.image.meta.get("quantization") or {}).get(0)
        is_jpeg = ctx.image.info.format == "jpeg"
        dj = double_jpeg(y, list(table)) if is_jpeg and table else None
        grid = grid_alignment(y)
        dj_score = dj["score"] if dj else 0.0
        anomalies = max(ela_score, 0.3 * dj_score, 0.3 * grid["score"])
        details: dict[str, Any] = {
            "compression_anomalies": round(float(anomalies), 4),
            "ela": {**ela["stats"], "anomaly": round(ela_score, 4), "resolution": "native" if native else "analysis"},
            "double_jpeg": round(dj_score, 4) if dj else None,
            "double_jpeg_detail": dj,
            "grid": grid,
        }
        findings = self._findings(ctx, ela_score, dj, grid, is_jpeg)
        maps: tuple[FeatureMap, ...] = ()
        if ctx.config.detailed:
            ela_map = _orient(ela["ela_map"], orientation) if native else ela["ela_map"]
            maps = (FeatureMap(layer="ela", activation_map=ela_heatmap(ela_map, (aw, ah)), target="image",
                               box=(0, 0, aw, ah)),)  # fmt: skip
        details["milliseconds"] = round((time.perf_counter() - start) * 1000, 1)
        return self.result(score=None, logit=None, applicable=True, findings=tuple(findings), feature_maps=maps,
                           details=details)  # fmt: skip

    def _findings(
        self, ctx: ImageContext, ela: float, dj: dict[str, Any] | None, grid: dict[str, Any], is_jpeg: bool
    ) -> list[Finding]:
        out: list[Finding] = []
        if ela >= FINDING_THRESHOLD["ela"]:
            msg = (f"Error levels are uneven across the image (anomaly {ela:.2f}): some regions respond to "
                   "re-compression unlike the rest, as pasted or retouched regions do. Weak evidence: strongly "
                   "mixed content can do the same; see the ELA heatmap.")  # fmt: skip
            out.append(Finding(self.name, "ela_inconsistent", msg, "neutral", False, {"anomaly": round(ela, 4)}))
        if dj and dj["score"] >= FINDING_THRESHOLD["double_jpeg"]:
            msg = (f"The JPEG was compressed at least twice, first at another quality (score {dj['score']:.2f}). "
                   "Common for re-saved or re-shared photos; also when an edited image is saved again.")  # fmt: skip
            out.append(Finding(self.name, "double_jpeg", msg, "neutral", False, {"score": dj["score"]}))
        if grid["score"] >= FINDING_THRESHOLD["grid"]:
            shift = (7 - grid["x"]["phase"]) % 8, (7 - grid["y"]["phase"]) % 8  # = pixels cropped, mod 8
            msg = (f"An earlier JPEG compression left its 8x8 grid shifted by {shift} px: the image was cropped "
                   "or shifted after being compressed.")  # fmt: skip
            out.append(Finding(self.name, "jpeg_grid_misaligned", msg, "neutral", False, {**grid, "shift": shift}))
        elif not is_jpeg and grid["trace"] >= 0.1:
            msg = (f"This {ctx.image.info.format.upper()} shows 8x8 JPEG block traces: it was a JPEG before it was "
                   "saved in this format.")  # fmt: skip
            out.append(Finding(self.name, "jpeg_trace", msg, "neutral", False, {"strength": grid["trace"]}))
        return out
