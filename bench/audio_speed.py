"""Speech detector speed on one core: a 60 s clip, decode vs analysis, real-time factor, peak RSS.

    .venv/bin/python bench/audio_speed.py [--seconds 60] [--repeat 5]

The clip is the repository's espeak-ng fixture repeated to the length asked, stored as a 16 kHz FLAC (and
as a 44.1 kHz stereo MP3, the common upload). Target: analysis after decoding <= 0.6 s for 60 s (>= 100x
real time) and peak RSS <= 1 GB. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DETECTION_TORCH_THREADS", "1")

import numpy as np  # noqa: E402 - after the thread setting above
import soundfile as sf  # noqa: E402


def clip(seconds: float) -> tuple[bytes, bytes]:
    x, sr = sf.read(REPO / "tests" / "fixtures" / "speech_en.flac", dtype="float32")
    x = np.tile(x, int(seconds * sr // len(x)) + 1)[: int(seconds * sr)]
    flac = io.BytesIO()
    sf.write(flac, x, sr, format="FLAC")
    from scipy.signal import resample_poly

    stereo = np.stack([resample_poly(x, 441, 160)] * 2, axis=1).astype(np.float32)
    mp3 = io.BytesIO()
    sf.write(mp3, stereo, 44100, format="MP3")
    return flac.getvalue(), mp3.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from detection import analyze
    from detection.config import AnalysisConfig
    from detection.decode.audio import decode_audio
    from detection.engine import warm_up

    t = time.perf_counter()
    warm_up(["speech_spoof"])
    load = time.perf_counter() - t
    cfg = AnalysisConfig()
    for name, data in zip(("FLAC 16 kHz mono", "MP3 44.1 kHz stereo"), clip(args.seconds), strict=True):
        fmt = "flac" if name.startswith("FLAC") else "mp3"
        analyze(data)  # warm (VAD model, first-call allocations)
        dec, tot = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            decode_audio(data, fmt, "audio/*", "", cfg)
            dec.append(time.perf_counter() - t)
            t = time.perf_counter()
            a = analyze(data)
            tot.append(time.perf_counter() - t)
        d, w = statistics.median(dec), statistics.median(tot)
        print(f"{name}, {args.seconds:.0f} s, {len(data) / 1e6:.1f} MB: decode {d * 1000:.0f} ms, "
              f"analysis after decoding {(w - d) * 1000:.0f} ms, total {w * 1000:.0f} ms "
              f"-> {args.seconds / max(w - d, 1e-9):.0f}x real time after decoding "
              f"({args.seconds / w:.0f}x including decoding); windows {len(a.evidence['timeline'])}, "
              f"verdict {a.prediction}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model load {load:.2f} s; peak RSS {rss:.0f} MB; torch threads {os.environ['DETECTION_TORCH_THREADS']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
