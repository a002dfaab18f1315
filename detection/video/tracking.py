"""Face tracks across sampled frames, and the temporal evidence measured along each track.

Association is greedy on a combined cost (1 - IoU, plus the centre distance in face widths): sampled frames are
up to a few seconds apart, so a moving head may not overlap its previous box, but it stays within about a face
width of it. A face that matches nothing starts a new track; tracks are never closed, so a person who leaves
and comes back at the same place keeps one track (one track per person is what the analyst wants to read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..types import Face

#: A detection joins a track when IoU >= this or its centre is within ``MAX_CENTRE`` face widths.
MIN_IOU = 0.2
MAX_CENTRE = 0.75
#: Size ratio beyond which two boxes are not the same face (a zoom between samples rarely doubles a face).
MAX_SCALE = 1.8
#: Landmark jitter (mean |second difference| in face-box units) that maps to temporal_artifacts 0.5.
JITTER_REF = 0.04
#: Std of the per-frame calibrated P(fake) along a track that maps to temporal_artifacts 0.5.
SPREAD_REF = 0.15


@dataclass
class Detection:
    frame: int  # index into the sampled frames
    t: float
    face: Face
    logit: float = 0.0
    score: float = 0.0
    crop: np.ndarray | None = None  # the aligned face crop the model scores


@dataclass
class Track:
    id: int
    dets: list[Detection] = field(default_factory=list)

    @property
    def last(self) -> Detection:
        return self.dets[-1]


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _cost(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: float = 0.0) -> float | None:
    """Association cost, or ``None`` when the boxes cannot be the same face. ``gap`` is how many seconds ago
    the track was last seen: a face may move further between samples a second apart (long clips) or after
    being missed for a while, so the reach grows with it (up to 4x)."""
    wa, wb = max(1, a[2] - a[0]), max(1, b[2] - b[0])
    if max(wa, wb) / min(wa, wb) > MAX_SCALE:
        return None
    o = iou(a, b)
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    dist = math.hypot(ca[0] - cb[0], ca[1] - cb[1]) / ((wa + wb) / 2)
    if o < MIN_IOU and dist > MAX_CENTRE * min(4.0, 1.0 + 2.0 * gap):
        return None
    return (1.0 - o) + dist


def track_faces(per_frame: list[list[Face]], times: list[float]) -> list[Track]:
    """Group the faces of consecutive sampled frames into tracks (ids in order of first appearance)."""
    tracks: list[Track] = []
    for fi, faces in enumerate(per_frame):
        pairs: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(tracks):
            for di, face in enumerate(faces):
                c = _cost(tr.last.face.box, face.box, times[fi] - tr.last.t)
                if c is not None:
                    pairs.append((c, ti, di))
        pairs.sort()
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _c, ti, di in pairs:
            if ti in used_t or di in used_d or tracks[ti].last.frame == fi:
                continue
            tracks[ti].dets.append(Detection(fi, times[fi], faces[di]))
            used_t.add(ti)
            used_d.add(di)
        for di, face in enumerate(faces):
            if di not in used_d:
                tracks.append(Track(len(tracks), [Detection(fi, times[fi], face)]))
    return tracks


def major_tracks(tracks: list[Track]) -> list[Track]:
    """Tracks long enough to speak for a person: a face seen in one sampled frame out of many is often a
    false detection (a poster, a pattern), and one noisy crop must not decide a whole clip."""
    if not tracks:
        return []
    longest = max(len(t.dets) for t in tracks)
    need = min(3, longest, max(2, math.ceil(0.2 * longest)))
    return [t for t in tracks if len(t.dets) >= need]


def landmark_jitter(track: Track) -> float | None:
    """Mean |second difference| of the landmarks expressed in face-box coordinates.

    Why box coordinates: head motion and zoom move the box and the landmarks together and cancel out; what
    remains is the landmarks moving INSIDE the face from one sample to the next, which real faces do smoothly
    and frame-by-frame swaps often do not. ``None`` with fewer than three detections.
    """
    pts = []
    for d in track.dets:
        x0, y0, x1, y1 = d.face.box
        w, h = max(1, x1 - x0), max(1, y1 - y0)
        if not d.face.landmarks:
            return None
        pts.append([((x - x0) / w, (y - y0) / h) for x, y in d.face.landmarks])
    if len(pts) < 3:
        return None
    arr = np.asarray(pts, dtype=np.float64)
    second = arr[2:] - 2 * arr[1:-1] + arr[:-2]
    return float(np.abs(second).mean())


def temporal_artifacts(score_std: float, jitter: float | None) -> float:
    """A descriptive 0-1 measure of temporal inconsistency along a track (0.5 at the reference values).

    Not a probability and not fitted: it summarises how much the per-frame verdict flickers and how much the
    landmarks move inside the face, for the analyst; the clip score uses the fitted aggregation instead.
    """
    parts = [score_std / (score_std + SPREAD_REF)]
    if jitter is not None:
        parts.append(jitter / (jitter + JITTER_REF))
    return float(max(0.0, min(1.0, sum(parts) / len(parts))))
