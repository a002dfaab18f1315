"""Face detection (MediaPipe BlazeFace, weights shipped inside the ``mediapipe`` wheel) and aligned crops.

Two passes: the full-range model finds small faces in photos; when it finds none, the short-range model runs
on a padded copy, which catches tight face crops (a face filling the frame), the common case for uploads of
cropped faces.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any

import numpy as np

from .types import Face

logger = logging.getLogger(__name__)
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_lock = threading.RLock()
_detectors: dict[int, Any] = {}


def _detector(model_selection: int) -> Any:
    with _lock:
        if model_selection not in _detectors:
            import mediapipe as mp

            _detectors[model_selection] = mp.solutions.face_detection.FaceDetection(
                model_selection=model_selection, min_detection_confidence=0.5
            )
        return _detectors[model_selection]


def _run(rgb: np.ndarray, model_selection: int, pad: int) -> list[Face]:
    import cv2

    img = rgb
    if pad:
        img = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    hh, ww = img.shape[:2]
    with _lock:
        result = _detector(model_selection).process(np.ascontiguousarray(img))
    faces: list[Face] = []
    h, w = rgb.shape[:2]
    for det in result.detections or []:
        rb = det.location_data.relative_bounding_box
        x0 = rb.xmin * ww - pad
        y0 = rb.ymin * hh - pad
        x1 = x0 + rb.width * ww
        y1 = y0 + rb.height * hh
        box = (
            int(max(0, math.floor(x0))),
            int(max(0, math.floor(y0))),
            int(min(w, math.ceil(x1))),
            int(min(h, math.ceil(y1))),
        )
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        kps = tuple((k.x * ww - pad, k.y * hh - pad) for k in det.location_data.relative_keypoints)
        faces.append(Face(box=box, score=float(det.score[0]), landmarks=kps))
    return faces


def detect_faces(rgb: np.ndarray, *, min_size: int = 40, max_faces: int = 8) -> list[Face]:
    """Every face in an RGB uint8 image, largest first."""
    faces = _run(rgb, 1, 0)
    if not faces:
        faces = _run(rgb, 0, int(0.3 * max(rgb.shape[:2])))
    faces = [f for f in faces if min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= min_size]
    faces.sort(key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)
    return faces[:max_faces]


def alignment_matrix(face: Face, size: int, margin: float = 1.0) -> np.ndarray:
    """2x3 affine matrix mapping image pixels to an eye-levelled square crop of ``size`` px."""
    x0, y0, x1, y1 = face.box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    side = max(x1 - x0, y1 - y0) * margin
    angle = 0.0
    if len(face.landmarks) >= 2:
        (rx, ry), (lx, ly) = face.landmarks[0], face.landmarks[1]
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
        if abs(angle) > 60:  # implausible for a detected upright face: keep the box as is
            angle = 0.0
    s = size / side
    a = math.radians(angle)
    cos, sin = math.cos(a) * s, math.sin(a) * s
    # rotate by -angle around (cx, cy), scale, then move the centre to the crop centre
    m = np.array(
        [[cos, sin, size / 2 - cos * cx - sin * cy], [-sin, cos, size / 2 + sin * cx - cos * cy]],
        dtype=np.float64,
    )
    return m


def aligned_crop(rgb: np.ndarray, face: Face, size: int = 224, margin: float = 1.0) -> np.ndarray:
    import cv2

    m = alignment_matrix(face, size, margin)
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101)
