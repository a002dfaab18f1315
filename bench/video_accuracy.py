"""Video-level AUC of the shipped engine: the DFDC sample videos and clips assembled from held-out face crops.

    .venv/bin/python bench/video_accuracy.py [--per-class 40] [--seconds 3]

1. ``../shared/data/video`` (rows of ``MANIFEST-images.csv`` under ``video/``): each file through ``analyze()``.
   Only four clips (3 fake, 1 real): a sanity check, not a measurement.
2. Clips assembled from ``faces/dfdc-faces224`` **test fold** crops (``detection.training.data.split``): the face
   model never trained on that fold, but the video aggregation's cross-validation did see it as still clips
   (see ``weights/video_fusion.md``). Each crop on a reflected border, drifting, turning and slightly zooming
   over ``--seconds`` at 10 fps, encoded with x264 (CRF 23) into an MP4, then ``analyze()``.
Reports AUC of the clip's face score and of the final ``fake_probability``, and the verdict counts.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DETECTION_TORCH_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting above


def still_clip(rgb: np.ndarray, seconds: float, fps: int = 10, side: int = 320) -> bytes:
    import av
    import cv2

    pad = (side - rgb.shape[0]) // 2
    base = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    h, w = base.shape[:2]
    buf = io.BytesIO()
    c = av.open(buf, "w", format="mp4")
    s = c.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    for i in range(int(seconds * fps)):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5 * math.sin(i / 7), 1.0 + 0.02 * math.sin(i / 11))
        m[:, 2] += (3 * math.sin(i / 5), 2 * math.cos(i / 6))
        f = cv2.warpAffine(base, m, (w, h), borderMode=cv2.BORDER_REFLECT_101)
        for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return buf.getvalue()


def run(items: list[tuple[str, int, bytes]], label: str) -> None:
    from detection import DetectionError, analyze
    from detection.metrics import roc_auc

    ys, face, fused, verdicts = [], [], [], Counter()
    t0 = time.perf_counter()
    for name, y, data in items:
        try:
            a = analyze(data)
        except DetectionError as exc:
            print(f"  {name}: ERROR {exc.code}")
            continue
        fs = a.scores.get("face_manipulation")
        ys.append(y)
        face.append(0.5 if fs is None else fs)
        fused.append(a.fake_probability)
        verdicts[(("real", "fake")[y], a.prediction)] += 1
    n = len(ys)
    secs = time.perf_counter() - t0
    print(f"{label}: {n} clips ({sum(ys)} fake), {secs:.0f} s")
    print(f"  AUC face score {roc_auc(ys, face)}  AUC fake_probability {roc_auc(ys, fused)}")
    print(f"  verdicts {dict(sorted(verdicts.items()))}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    from detection.training.data import data_root, image_items, split

    root = data_root()
    vids = []
    with (root / "MANIFEST-images.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["relpath"].startswith("video/"):
                vids.append((row["relpath"], int(row["label"] == "fake"), (root / row["relpath"]).read_bytes()))
    run(vids, "shared/data/video")

    import cv2

    test = [it for it in split(image_items(root))["test"] if it.source == "dfdc-faces224"]
    picked = [it for it in test if it.label == 1][: args.per_class] + [it for it in test if it.label == 0][
        : args.per_class
    ]
    clips = []
    for it in picked:
        rgb = cv2.cvtColor(cv2.imread(str(it.path)), cv2.COLOR_BGR2RGB)
        clips.append((it.relpath, it.label, still_clip(rgb, args.seconds)))
    run(clips, f"DFDC test-fold still clips ({args.seconds:.0f} s, 10 fps, x264)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
