"""Command line: ``python -m detection analyze|evaluate|models``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class Bar:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        filled = int(frac * 24)
        sys.stderr.write(f"\r{self.label[:30]:<30} [{'#' * filled}{'.' * (24 - filled)}] {stage[:28]:<28}")
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def _readable(name: str, a: dict[str, Any]) -> str:
    verdict = a["prediction"].upper()
    lines = [f"{name}: {verdict}  (confidence {a['confidence']:.2f}, P(fake) {a['fake_probability']:.2f})"]
    if a["reason"]:
        lines.append(f"  reason: {a['reason']}")
    m = a["media"]
    size = f" {m['width']}x{m['height']}" if m.get("width") else ""
    dur = f", {m['duration']:.2f} s" if m.get("duration") is not None else ""
    lines.append(
        f"  media: {m.get('media_type', 'image')} {m['format']}{size}{dur}, {m['size_bytes']} bytes, "
        f"sha256 {m['sha256'][:16]}..."
    )
    if m.get("media_type") != "audio":
        lines.append(f"  faces: {len(a['faces'])}")
    lines.extend(_time_based(a))
    for det in a["provenance"]["detectors"]:
        score = "n/a" if det["score"] is None else f"{det['score']:.3f}"
        lines.append(f"  {det['name']:<18} {score:>6}  v{det['version']}")
    ev = a["evidence"]
    for key in ("facial_inconsistencies", "compression_anomalies"):
        if ev.get(key) is not None:
            lines.append(f"  {key}: {ev[key]:.3f}")
    for f in ev["findings"]:
        lines.append(f"  - [{f['direction']}] {f['message']}")
    if ev["feature_maps"]:
        lines.append(f"  heatmaps: {len(ev['feature_maps'])} (use --json to get them)")
    lines.append(f"  processing time: {a['processing_time']:.3f} s")
    return "\n".join(lines)


def _time_based(a: dict[str, Any]) -> list[str]:
    """Video: per-part verdicts, face tracks and a compact timeline; audio: the speech windows."""
    ev = a["evidence"]
    lines: list[str] = []
    for name, part in (ev.get("parts") or {}).items():
        p = part["fake_probability"]
        why = f" ({part['reason']})" if part["reason"] else ""
        lines.append(f"  {name} part: {part['prediction']}{why}, P(fake) {'n/a' if p is None else f'{p:.2f}'}")
    for tr in ev.get("tracks") or []:
        if tr["major"]:
            lines.append(
                f"  track {tr['track']}: {tr['first_t']:.1f}-{tr['last_t']:.1f} s, {tr['frames']} frames, "
                f"P(fake) {tr['score']:.2f}, temporal {tr['temporal_artifacts']:.2f}"
            )
    if ev.get("temporal_artifacts") is not None:
        lines.append(f"  temporal_artifacts: {ev['temporal_artifacts']:.3f}")
    tl = ev.get("timeline") or []
    if tl and "t" in tl[0]:
        scored = [x for x in tl if x["score"] is not None]
        lines.append(f"  timeline: {len(tl)} sampled frames, faces on {len(scored)}")
        for x in sorted(scored, key=lambda x: -x["score"])[:3]:
            lines.append(f"    t={x['t']:.2f} s  P(fake) {x['score']:.2f}  faces {len(x['faces'])}")
    audio = ev.get("audio")
    if audio:
        score = audio.get("score")
        lines.append(
            f"  audio: {'n/a' if score is None else f'P(fake) {score:.2f}'}"
            + (f" ({audio['reason']})" if audio.get("reason") else "")
            + (f", speech found >= {audio['speech_seconds']:.1f} s" if audio.get("speech_seconds") else "")
        )
        windows = audio.get("timeline") or (tl if tl and "start" in tl[0] else [])
        if windows:
            w = max(windows, key=lambda x: x["score"])
            span = f"{w['start']:.1f}-{w['end']:.1f} s"
            lines.append(f"    {len(windows)} windows, worst {span} P(fake) {w['score']:.2f}")
    return lines


def cmd_analyze(args: argparse.Namespace) -> int:
    from . import AnalysisConfig, DetectionError, analyze

    cfg = AnalysisConfig(detailed=args.detailed, detectors=tuple(args.detectors.split(",")) if args.detectors else None)
    failures = 0
    outputs: list[dict[str, Any]] = []
    for file in args.files:
        bar = Bar(Path(file).name)
        try:
            result = analyze(file, cfg, progress=bar).to_dict()
            bar.clear()
            entry: dict[str, Any] = {"file": file, "ok": True, "result": result}
            if not args.json:
                print(_readable(file, result))
        except DetectionError as exc:
            bar.clear()
            failures += 1
            entry = {"file": file, "ok": False, "error": exc.as_dict()}
            if not args.json:
                print(f"{file}: ERROR {exc.code}: {exc.message}")
        except Exception as exc:
            bar.clear()
            failures += 1
            logging.getLogger("detection").exception("internal error on %s", file)
            entry = {"file": file, "ok": False, "error": {"code": "internal_error", "message": str(exc)}}
            if not args.json:
                print(f"{file}: ERROR internal_error: {exc}")
        outputs.append(entry)
    if args.json:
        json.dump(outputs if len(outputs) > 1 else outputs[0], sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return 2 if failures else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .config import AnalysisConfig
    from .evaluate import evaluate, format_report

    def bar(i: int, n: int, name: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r{i}/{n} {name[-60:]:<60}")
            sys.stderr.flush()

    report = evaluate(
        Path(args.manifest),
        Path(args.root),
        config=AnalysisConfig(detectors=tuple(args.detectors.split(",")) if args.detectors else None),
        transform=args.transform,
        limit=args.limit,
        progress=bar,
    )
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 80 + "\r")
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import registry
    from .fusion import load_params

    info: dict[str, Any] = {"detectors": registry.describe_all(), "fusion": load_params().as_dict()}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for d in info["detectors"]:
            sha = str(d["weights_sha256"])[:16]
            print(f"{d['name']:<18} v{d['version']:<6} weights {d['weights_file'] or '-'} sha256 {sha}")
        f = info["fusion"]
        print(f"fusion v{f['version']} coef {f['coef']} temperature {f['temperature']} abstain {f['abstain']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m detection", description="Deepfake detection engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="analyse media files and print a verdict for each")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--detailed", action="store_true", help="also compute heatmaps (feature_maps)")
    p.add_argument("--detectors", help="comma-separated detector names (default: all)")
    p.set_defaults(func=cmd_analyze)
    e = sub.add_parser("evaluate", help="score a labelled CSV (relpath,label[,source])")
    e.add_argument("manifest")
    e.add_argument("--root", required=True, help="directory the relpaths are relative to")
    e.add_argument("--json", metavar="OUT", help="also write the full report as JSON")
    e.add_argument(
        "--transform",
        choices=["robustness", "normalise"],
        help="robustness: JPEG q70 + 0.5x; normalise: fixed size, JPEG q90, no metadata",
    )
    e.add_argument("--limit", type=int)
    e.add_argument("--detectors")
    e.set_defaults(func=cmd_evaluate)
    m = sub.add_parser("models", help="list detectors, versions and weight hashes")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
