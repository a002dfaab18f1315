"""Self-Blended Images (Shiohara & Yamasaki, CVPR 2022): pseudo-fakes made from a real face and itself.

Why: a detector trained only on one dataset's swaps learns that dataset's quirks (for DFDC: "blurry = fake").
Blending a face with a slightly colour-, frequency- and geometry-jittered copy of itself, inside a soft mask
shaped like a face-swap region, produces the generic traces every swap pipeline leaves (a blending boundary,
a colour/sharpness mismatch between inner face and surroundings, a small misalignment) while identity, pose,
background, codec and camera stay exactly those of the real image. So the only thing that separates a pseudo-
fake from its real is the blending itself, which is what should generalise to unseen manipulation methods.

The mask is the convex hull of MediaPipe FaceMesh landmarks (468 points, weights inside the ``mediapipe``
wheel), or of a random subset of them (inner face, lower face) to vary where the boundary runs; when FaceMesh
finds no face, an ellipse from the crop geometry stands in.
"""

from __future__ import annotations

import os
import random
import threading
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

_lock = threading.Lock()
_mesh: Any = None

#: Landmark indices (MediaPipe FaceMesh topology) bounding the inner face: brows, eyes, nose, mouth, chin.
_INNER = (
    70,
    63,
    105,
    66,
    107,
    336,
    296,
    334,
    293,
    300,  # brows
    234,
    93,
    132,
    58,
    172,
    136,
    150,
    149,
    176,
    148,
    152,
    377,
    400,
    378,
    379,
    365,
    397,
    288,
    361,
    323,
    454,  # jaw
)
#: Landmarks below the eyes: a "lower face" region like mouth reenactment edits.
_LOWER = (
    234,
    93,
    132,
    58,
    172,
    136,
    150,
    149,
    176,
    148,
    152,
    377,
    400,
    378,
    379,
    365,
    397,
    288,
    361,
    323,
    454,
    116,
    345,
    50,
    280,
    4,
)


def face_landmarks(rgb: np.ndarray) -> np.ndarray | None:
    """468 FaceMesh landmarks (x, y) in pixels of ``rgb``, or ``None`` when no face is found.

    Tight crops usually work as they are; if not, the crop is retried with a black border, which lets the
    mesh's own face detector see the whole head.
    """
    global _mesh
    h, w = rgb.shape[:2]
    with _lock:
        if _mesh is None:
            import mediapipe as mp

            _mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.3
            )
        for pad in (0, int(0.25 * max(h, w))):
            img = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)) if pad else rgb
            res = _mesh.process(np.ascontiguousarray(img))
            if res.multi_face_landmarks:
                hh, ww = img.shape[:2]
                lm = res.multi_face_landmarks[0].landmark
                pts = np.array([(p.x * ww - pad, p.y * hh - pad) for p in lm], dtype=np.float32)
                return pts
    return None


def ellipse_mask(shape: tuple[int, int], rng: random.Random) -> np.ndarray:
    """Fallback mask: an ellipse where a face sits in a face crop (centre, ~60% x 75% of the crop)."""
    h, w = shape
    mask = np.zeros((h, w), np.float32)
    centre = (int(w * rng.uniform(0.47, 0.53)), int(h * rng.uniform(0.5, 0.58)))
    axes = (int(w * rng.uniform(0.27, 0.34)), int(h * rng.uniform(0.33, 0.40)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return mask


def hull_mask(shape: tuple[int, int], pts: np.ndarray, rng: random.Random) -> np.ndarray:
    """Convex hull of all landmarks, or of the inner-face / lower-face subset (random), as a 0/1 float mask."""
    r = rng.random()
    sel = pts if r < 0.6 or len(pts) < 468 else pts[list(_INNER if r < 0.85 else _LOWER)]
    hull = cv2.convexHull(np.round(sel).astype(np.int32))
    mask = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask


def _soften(mask: np.ndarray, rng: random.Random) -> np.ndarray:
    """Random erosion or dilation, a small elastic-ish warp, then a Gaussian blur: a soft blending boundary."""
    h, w = mask.shape
    k = rng.randint(1, max(2, int(0.06 * min(h, w))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    if mask.max() <= 0:  # eroded away on a tiny hull: keep the un-eroded region's centre
        mask = np.zeros_like(mask)
        cv2.ellipse(mask, (w // 2, h // 2), (w // 4, h // 3), 0, 0, 360, 1.0, -1)
    # low-frequency random displacement so the boundary is not a perfect hull
    grid = 4
    dx = cv2.resize(np.float32([[rng.uniform(-1, 1) for _ in range(grid)] for _ in range(grid)]), (w, h))
    dy = cv2.resize(np.float32([[rng.uniform(-1, 1) for _ in range(grid)] for _ in range(grid)]), (w, h))
    amp = 0.03 * min(h, w)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mask = cv2.remap(mask, xs + dx * amp, ys + dy * amp, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    sigma = rng.uniform(0.01, 0.05) * min(h, w)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma)
    peak = float(mask.max())
    return mask / peak if peak > 0 else mask


def _colour_jitter(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """Per-channel shift, hue/saturation/value shift and brightness/contrast change (the "colour" STA)."""
    img = rgb.astype(np.float32)
    img += np.float32([rng.uniform(-20, 20) for _ in range(3)])
    img = np.clip(img, 0, 255)
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-2.0, 2.0)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + rng.uniform(-15, 15), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + rng.uniform(-10, 10), 0, 255)
    img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    alpha, beta = rng.uniform(0.9, 1.1), rng.uniform(-0.1, 0.1) * 255
    img = (img - 128.0) * alpha + 128.0 + beta
    return np.clip(img, 0, 255).astype(np.uint8)


def _frequency_jitter(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """Down-and-up resampling (loses detail, like a generator's lower resolution) or sharpening."""
    h, w = rgb.shape[:2]
    if rng.random() < 0.5:
        f = rng.uniform(0.3, 0.8)
        small = cv2.resize(rgb, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    amount = rng.uniform(0.3, 1.0)
    blurred = cv2.GaussianBlur(rgb, (0, 0), 1.0).astype(np.float32)
    return np.clip(rgb.astype(np.float32) * (1 + amount) - blurred * amount, 0, 255).astype(np.uint8)


def _geometry_jitter(rgb: np.ndarray, rng: random.Random) -> np.ndarray:
    """Scale by 0.95-1.05 and translate by up to 3% (the misalignment of a pasted face)."""
    h, w = rgb.shape[:2]
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.03, 0.03) * h
    m = np.float32([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]])
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def self_blend(rgb: np.ndarray, landmarks: np.ndarray | None, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """One Self-Blended Image: (blended RGB uint8, blend mask float32 in [0, 1]).

    One of the two copies (chosen at random, as in the paper) gets the colour and frequency jitter; the inner
    copy is also geometrically jittered; the inner copy is pasted over the outer inside the soft mask with a
    random blend ratio from {0.25, 0.5, 0.75, 1, 1, 1}.
    """
    h, w = rgb.shape[:2]
    source, target = rgb.copy(), rgb.copy()
    jittered = _frequency_jitter(_colour_jitter(rgb, rng), rng) if rng.random() < 0.8 else _colour_jitter(rgb, rng)
    if rng.random() < 0.5:
        source = jittered
    else:
        target = jittered
    source = _geometry_jitter(source, rng)
    mask = hull_mask((h, w), landmarks, rng) if landmarks is not None else ellipse_mask((h, w), rng)
    mask = _soften(mask, rng) * rng.choice((0.25, 0.5, 0.75, 1.0, 1.0, 1.0))
    m3 = mask[..., None]
    out = source.astype(np.float32) * m3 + target.astype(np.float32) * (1.0 - m3)
    out_u8 = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if np.array_equal(out_u8, rgb):  # a jitter that changed nothing (rare): force a visible colour offset
        shifted = np.clip(source.astype(np.float32) + 12.0, 0, 255)
        out_u8 = np.clip(np.round(shifted * m3 + target.astype(np.float32) * (1.0 - m3)), 0, 255).astype(np.uint8)
    return out_u8, mask.astype(np.float32)
