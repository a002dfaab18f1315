"""Video analysis speed: a 10 s 1080p30 clip and a 60 s 720p30 clip, wall time, peak RSS, and the split.

    .venv/bin/python bench/video_speed.py [--keep DIR]

Both clips are generated here with PyAV (x264 veryfast, CRF 23, AAC speech track from the repository's
speech fixture): the astronaut photo's head and shoulders (a real face, scikit-image; the face 20% of the frame height)
drifting across a textured background. Each
clip is analysed in a FRESH process, so the peak RSS is that of one analysis (models included). The floor is
the time to merely decode the frames the sampler keeps (``detection.decode.video.decode_video`` alone: every
frame must be decoded for its references, only the sampled ones are converted). Targets (issue 5): 10 s
1080p30 <= 10 s wall, 60 s 720p <= 40 s, RSS <= 2 GB. Run on an otherwise idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DETECTION_TORCH_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting above

CLIPS = {"10s_1080p30": (10.0, 1920, 1080, 30), "60s_720p30": (60.0, 1280, 720, 30)}
TARGETS = {"10s_1080p30": 10.0, "60s_720p30": 40.0}


def make_clip(path: Path, seconds: float, w: int, h: int, fps: int) -> None:
    import av
    import cv2
    import soundfile as sf
    from skimage import data

    # head and shoulders around the astronaut's face (box 173,67-278,172 in the 512 px photo), scaled so the
    # face is 20% of the frame height: a typical talking-head framing (DFDC faces are 150-250 px at 1080p)
    head = np.asarray(data.astronaut())[0:260, 95:355]
    side = int(h * 0.2 * 260 / 105)
    face = cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    bg = cv2.resize(
        rng.integers(60, 200, (h // 16, w // 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_LINEAR
    )
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    a = c.add_stream("aac", rate=48000)
    n = int(seconds * fps)
    for i in range(n):
        frame = bg.copy()
        x = int(w * 0.35 + w * 0.1 * math.sin(i / 40))
        y = int(h * 0.2 + h * 0.05 * math.cos(i / 55))
        frame[y : y + side, x : x + side] = face
        for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    speech, sr = sf.read(REPO / "tests" / "fixtures" / "speech_en.flac", dtype="float32")
    from scipy.signal import resample_poly

    speech = resample_poly(speech, 48000, sr).astype(np.float32)
    speech = np.tile(speech, int(seconds * 48000 // len(speech)) + 1)[: int(seconds * 48000)]
    for start in range(0, speech.size, 1024):
        fr = av.AudioFrame.from_ndarray(speech[None, start : start + 1024], format="flt", layout="mono")
        fr.sample_rate, fr.pts, fr.time_base = 48000, start, Fraction(1, 48000)
        for p in a.encode(fr):
            c.mux(p)
    for p in a.encode():
        c.mux(p)
    c.close()


def child(path: str) -> None:
    """Run in a fresh process: the floor first (decode only), then the full analysis; print JSON."""
    import resource

    from detection import analyze
    from detection.config import AnalysisConfig
    from detection.decode.video import decode_video
    from detection.engine import warm_up

    warm_up(["face_manipulation"])  # a worker loads weights once at start: not part of a job's time
    data = Path(path).read_bytes()
    t = time.perf_counter()
    v = decode_video(data, "mp4", "video/mp4", "", AnalysisConfig())
    floor = time.perf_counter() - t
    sampled, decoded = len(v.frames), v.frames_decoded
    del v  # the peak RSS should be one analysis, not the floor's frames plus the analysis
    t = time.perf_counter()
    a = analyze(data)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "floor": floor,
                "rss_mb": rss,
                "timings": a.provenance["timings"],
                "sampled": sampled,
                "decoded": decoded,
                "prediction": a.prediction,
                "reason": a.reason,
                "tracks": len([t for t in a.evidence["tracks"] if t["major"]]),
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--keep", help="write the generated clips here (and reuse them)")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return 0
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="video_speed_"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(
        f"{'clip':<13} {'wall s':>7} {'target':>7} {'floor s':>8} {'decode':>7} {'faces':>6} {'models':>7} "
        f"{'audio':>6} {'RSS MB':>7} {'sampled/decoded':>16}  verdict"
    )
    for name, (sec, w, h, fps) in CLIPS.items():
        path = tmp / f"{name}.mp4"
        if not path.exists():
            t = time.perf_counter()
            make_clip(path, sec, w, h, fps)
            print(f"  (generated {path.name}: {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t:.0f} s)")
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        tm = r["timings"]
        print(
            f"{name:<13} {r['wall']:>7.2f} {TARGETS[name]:>7.1f} {r['floor']:>8.2f} {tm['decode']:>7.2f} "
            f"{tm['faces']:>6.2f} {tm['models']:>7.2f} {tm['audio']:>6.2f} {r['rss_mb']:>7.0f} "
            f"{r['sampled']:>7}/{r['decoded']:<8}  {r['prediction']} ({r['reason']}), {r['tracks']} track(s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
