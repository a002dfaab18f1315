"""``python -m detection.training <detector>``: reproduce a committed weight file from the training data."""

from __future__ import annotations

import argparse
import importlib
import sys

TRAINERS = {
    "face_manipulation": "detection.training.face_manipulation",
    "ai_generated": "detection.training.ai_generated",
    "fusion": "detection.training.fusion",
    "speech_spoof": "detection.training.speech",
    "video": "detection.training.video",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detection.training", description=__doc__)
    parser.add_argument("target", choices=[*TRAINERS, "all"])
    args, rest = parser.parse_known_args(argv)
    targets = list(TRAINERS) if args.target == "all" else [args.target]
    for t in targets:
        rc = importlib.import_module(TRAINERS[t]).main(rest)
        if rc:
            return int(rc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
