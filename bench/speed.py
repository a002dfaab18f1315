"""Speed on one core: model load time, per-image latency of the default detector set, heatmap overhead, RSS.

    .venv/bin/python bench/speed.py [--repeat 10]

Prints the numbers the issue's targets refer to; run on an otherwise idle machine.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DETECTION_TORCH_THREADS", "1")

import numpy as np
from PIL import Image


def one_megapixel_with_face() -> bytes:
    from skimage import data

    face = Image.fromarray(data.astronaut())  # 512x512 real photo with a face
    canvas = Image.new("RGB", (1152, 864), (120, 130, 140))  # ~1.0 MP
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (864, 1152, 3), dtype=np.uint8))
    canvas = Image.blend(canvas, noise, 0.15)
    canvas.paste(face, (320, 176))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from detection import AnalysisConfig, analyze
    from detection.engine import warm_up

    t = time.perf_counter()
    loads = warm_up()
    load_total = time.perf_counter() - t
    data = one_megapixel_with_face()
    analyze(data)  # first call initialises the face detector
    plain, detailed = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        a = analyze(data)
        plain.append(time.perf_counter() - t)
    for _ in range(args.repeat):
        t = time.perf_counter()
        analyze(data, AnalysisConfig(detailed=True))
        detailed.append(time.perf_counter() - t)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"image: 1152x864 JPEG ({len(data)} bytes), faces found: {len(a.faces)}, threads: {torch.get_num_threads()}")
    print(
        f"model load (all detectors, once per process): {load_total:.2f} s  "
        + ", ".join(f"{k} {v:.2f} s" for k, v in loads.items())
    )
    print(
        f"analyze, default detectors: median {1000 * statistics.median(plain):.0f} ms, "
        f"p90 {1000 * sorted(plain)[int(0.9 * (len(plain) - 1))]:.0f} ms"
    )
    print(
        f"analyze, detailed (heatmaps): median {1000 * statistics.median(detailed):.0f} ms "
        f"(+{1000 * (statistics.median(detailed) - statistics.median(plain)):.0f} ms)"
    )
    print(
        "stage timings of the last plain run: "
        + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in a.provenance["timings"].items())
    )
    print(f"peak RSS: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
