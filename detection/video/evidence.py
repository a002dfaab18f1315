"""Video evidence: the timeline, per-track summaries and the suspicious-frame thumbnails (JPEG, base64)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from ..decode.video import VideoFrame
from ..faces import alignment_matrix
from .tracking import Track

THUMB_SIDE = 320
SUSPICIOUS_FRAMES = 3


def timeline(frames: tuple[VideoFrame, ...], tracks: list[Track]) -> list[dict[str, Any]]:
    """One entry per sampled frame: its time, the worst face score on it (``None`` without faces), the faces."""
    per_frame: list[list[dict[str, Any]]] = [[] for _ in frames]
    for tr in tracks:
        for d in tr.dets:
            per_frame[d.frame].append({"track": tr.id, "box": list(d.face.box), "score": round(d.score, 4)})
    out = []
    for f, faces in zip(frames, per_frame, strict=True):
        out.append(
            {
                "t": round(f.t, 3),
                "score": max(x["score"] for x in faces) if faces else None,
                "faces": faces,
                **({"scene_change": True} if f.scene_change else {}),
            }
        )
    return out


def thumbnail(
    rgb: np.ndarray,
    box: tuple[int, int, int, int],
    *,
    cam: np.ndarray | None = None,
    face_matrix: np.ndarray | None = None,
    crop_size: int = 224,
    quality: int = 80,
) -> str:
    """The frame at most ``THUMB_SIDE`` px with the face box drawn and, when given, the Grad-CAM map (computed
    on the aligned crop) warped back onto the face; base64 JPEG."""
    import cv2

    img = rgb.astype(np.float32)
    if cam is not None and face_matrix is not None:
        h, w = rgb.shape[:2]
        heat = cv2.resize(np.clip(cam, 0, 1).astype(np.float32), (crop_size, crop_size), interpolation=cv2.INTER_CUBIC)
        inv = cv2.invertAffineTransform(face_matrix)
        heat_img = np.asarray(cv2.warpAffine(heat, inv, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0.0,)))
        mask = np.asarray(cv2.warpAffine(np.ones_like(heat), inv, (w, h), flags=cv2.INTER_NEAREST, borderValue=(0.0,)))
        colour = cv2.cvtColor(
            cv2.applyColorMap(np.clip(heat_img * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB
        ).astype(np.float32)
        a = (0.45 * (0.35 + 0.65 * heat_img) * mask)[..., None]
        img = (img * (1 - a) + colour * a).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    cv2.rectangle(out, (box[0], box[1]), (box[2], box[3]), (255, 40, 40), max(2, rgb.shape[1] // 300))
    s = min(1.0, THUMB_SIDE / max(out.shape[:2]))
    if s < 1.0:
        out = np.asarray(
            cv2.resize(out, (round(out.shape[1] * s), round(out.shape[0] * s)), interpolation=cv2.INTER_AREA)
        )
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return base64.b64encode(buf.tobytes()).decode("ascii") if ok else ""


def pick_suspicious(tracks: list[Track], n: int = SUSPICIOUS_FRAMES) -> list[tuple[Track, int]]:
    """(track, detection index) of the ``n`` highest-logit detections, at most one per sampled frame."""
    cands = sorted(((d.logit, tr.id, i) for tr in tracks for i, d in enumerate(tr.dets)), reverse=True)
    by_id = {tr.id: tr for tr in tracks}
    seen: set[int] = set()
    out: list[tuple[Track, int]] = []
    for _l, tid, i in cands:
        fr = by_id[tid].dets[i].frame
        if fr in seen:
            continue
        seen.add(fr)
        out.append((by_id[tid], i))
        if len(out) == n:
            break
    return out


def suspicious_frames(
    frames: tuple[VideoFrame, ...],
    picks: list[tuple[Track, int]],
    cams: list[np.ndarray] | None,
    crop_size: int,
) -> list[dict[str, Any]]:
    out = []
    for j, (tr, i) in enumerate(picks):
        d = tr.dets[i]
        cam = cams[j] if cams is not None else None
        m = alignment_matrix(d.face, crop_size, 1.0) if cam is not None else None
        out.append(
            {
                "t": round(d.t, 3),
                "track": tr.id,
                "box": list(d.face.box),
                "score": round(d.score, 4),
                "heatmap": cam is not None,
                "image": thumbnail(frames[d.frame].rgb, d.face.box, cam=cam, face_matrix=m, crop_size=crop_size),
                "mime": "image/jpeg",
            }
        )
    return out
