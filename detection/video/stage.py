"""Faces on each sampled frame as it is decoded, their crops, and the face model over the tracks in batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..config import AnalysisConfig
from ..decode.video import MAX_SAMPLES, VideoFrame
from ..faces import aligned_crop, detect_faces
from ..types import Face
from .tracking import Track, iou, track_faces

if TYPE_CHECKING:
    from ..detectors.face_manipulation import FaceManipulationDetector

Progress = Callable[[str, int, int], None]
DETECTOR = "face_manipulation"
BATCH = 16
#: Windows around faces seen on this many previous sampled frames are searched when the whole frame misses.
ROI_LOOKBACK = 3
#: While no face is being tracked, every TILE_EVERY-th sampled frame is also searched in 2x2 overlapping tiles.
TILE_EVERY = 4


def _scaled(face: Face, s: float) -> Face:
    if s == 1.0:
        return face
    return Face(
        box=(round(face.box[0] * s), round(face.box[1] * s), round(face.box[2] * s), round(face.box[3] * s)),
        score=face.score,
        landmarks=tuple((x * s, y * s) for x, y in face.landmarks),
    )


def _roi_faces(rgb: np.ndarray, box: tuple[int, int, int, int], cfg: AnalysisConfig) -> list[Face]:
    """Faces inside a window of 3 face widths around ``box``, in frame coordinates.

    Why: BlazeFace sees the whole frame at 192 px, so a face under ~50 px in a 1024 px frame is found on some
    frames and missed on others; around a face we already know, the same face fills a third of the window.
    """
    h, w = rgb.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = 1.5 * max(box[2] - box[0], box[3] - box[1])
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    found = detect_faces(np.ascontiguousarray(rgb[y0:y1, x0:x1]), min_size=cfg.min_face_size, max_faces=1)
    return [
        Face(
            box=(f.box[0] + x0, f.box[1] + y0, f.box[2] + x0, f.box[3] + y0),
            score=f.score,
            landmarks=tuple((x + x0, y + y0) for x, y in f.landmarks),
        )
        for f in found
    ]


def _tile_faces(rgb: np.ndarray, cfg: AnalysisConfig) -> list[Face]:
    """Faces in four overlapping tiles (60% of each side): a face of 40-60 px in a 1024 px frame is near
    BlazeFace's limit on the whole frame but plain in a tile; once found, the windows around it follow it."""
    h, w = rgb.shape[:2]
    th, tw = int(h * 0.6), int(w * 0.6)
    out: list[Face] = []
    for y0 in (0, h - th):
        for x0 in (0, w - tw):
            tile = np.ascontiguousarray(rgb[y0 : y0 + th, x0 : x0 + tw])
            for f in detect_faces(tile, min_size=cfg.min_face_size, max_faces=cfg.max_faces):
                g = Face(
                    box=(f.box[0] + x0, f.box[1] + y0, f.box[2] + x0, f.box[3] + y0),
                    score=f.score,
                    landmarks=tuple((x + x0, y + y0) for x, y in f.landmarks),
                )
                if all(iou(g.box, o.box) < 0.3 for o in out):
                    out.append(g)
    return out[: cfg.max_faces]


class FaceStage:
    """Called by the decoder on every sampled frame: finds faces (whole frame, then windows around recent faces
    the whole-frame pass missed), cuts aligned crops from the high-resolution copy, and drops that copy."""

    def __init__(self, cfg: AnalysisConfig, crop_size: int, report: Progress) -> None:
        self.cfg = cfg
        self.crop_size = crop_size
        self.report = report
        self.faces: dict[int, list[Face]] = {}
        self.crops: dict[int, list[np.ndarray]] = {}
        self._recent: list[list[Face]] = []
        self._calls = 0
        self.seconds = 0.0

    def __call__(self, frame: VideoFrame) -> VideoFrame:
        t = time.perf_counter()
        cfg = self.cfg
        faces = detect_faces(frame.rgb, min_size=cfg.min_face_size, max_faces=cfg.max_faces)
        tried: list[tuple[int, int, int, int]] = []
        for box in [g.box for prev in self._recent[::-1] for g in prev]:
            if len(faces) >= cfg.max_faces:
                break
            if any(iou(box, g.box) > 0.1 for g in faces) or any(iou(box, b) > 0.3 for b in tried):
                continue
            tried.append(box)
            faces.extend(g for g in _roi_faces(frame.rgb, box, cfg) if all(iou(g.box, h.box) < 0.3 for h in faces))
        if not faces and not any(self._recent) and self._calls % TILE_EVERY == 0 and max(frame.rgb.shape[:2]) >= 640:
            faces = _tile_faces(frame.rgb, cfg)
        self._calls += 1
        self._recent = [*self._recent, faces][-ROI_LOOKBACK:]
        src, s = frame.crop_source
        self.faces[frame.index] = faces
        self.crops[frame.index] = [aligned_crop(src, _scaled(f, s), self.crop_size, 1.0) for f in faces]
        self.seconds += time.perf_counter() - t
        self.report("faces", min(len(self.faces), MAX_SAMPLES), MAX_SAMPLES)
        return replace(frame, hires=None)

    def tracks(self, frames: tuple[VideoFrame, ...]) -> list[Track]:
        """Tracks over the frames the decoder kept, each detection carrying its crop."""
        per_frame = [self.faces.get(f.index, []) for f in frames]
        tracks = track_faces(per_frame, [f.t for f in frames])
        for tr in tracks:
            for d in tr.dets:
                fi = frames[d.frame].index
                d.crop = self.crops[fi][self.faces[fi].index(d.face)]
        return tracks


def score_tracks(tracks: list[Track], det: FaceManipulationDetector, report: Progress) -> None:
    """Fill every detection's logit and calibrated score; crops go through the network in batches."""
    todo = [d for tr in tracks for d in tr.dets]
    total = len(todo)
    report(f"detector:{DETECTOR}", 0, max(1, total))
    for s in range(0, total, BATCH):
        chunk = todo[s : s + BATCH]
        logits, scores = det.score_crops([d.crop for d in chunk if d.crop is not None])
        for d, z, p in zip(chunk, logits, scores, strict=True):
            d.logit, d.score = float(z), float(p)
        report(f"detector:{DETECTOR}", min(total, s + BATCH), total)
