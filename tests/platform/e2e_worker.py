"""A Celery worker for the end-to-end tests: ``python -m tests.platform.e2e_worker worker ...``.

It is the product's worker (``config.celery.app``, the real task, the real engine) with two test-only knobs,
set through the environment and applied before the pool forks:

- ``E2E_PAUSE=stage:seconds`` sleeps right after the engine reports the start of ``stage``, so a test can
  kill the worker while a job is in hand (the heartbeat thread keeps beating meanwhile, as in a slow analysis);
- ``E2E_ENGINE=scripted`` replaces ``detection.analyze`` with a deterministic stand-in that reports the real
  stages and returns a fixed verdict: the delivery guarantees can then be proven while the engine's models
  are missing. It is never the only end-to-end test: the same tests run the real engine and skip, with the
  engine's own error, only where it cannot run;
- ``E2E_POISON=marker`` makes the scripted engine kill its own process (``os._exit``) on media whose bytes
  contain ``marker``: a decoder that crashes the worker (bench/faults.py proves it fails alone).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _install_pause(spec: str) -> None:
    from analysis import progress

    stage, _, seconds = spec.partition(":")
    original = progress.JobProgress.__call__

    def paused(self: Any, name: str, done: int, total: int) -> None:
        original(self, name, done, total)
        if name == stage and done == 0:
            print(f"E2E paused job {self.job_id} at {stage}", flush=True)
            time.sleep(float(seconds))

    progress.JobProgress.__call__ = paused  # type: ignore[method-assign]


class _Scripted:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def _scripted_analyze(source: Any, config: Any = None, progress: Any = None) -> _Scripted:
    report = progress or (lambda *a: None)
    poison = os.environ.get("E2E_POISON", "").encode()
    if poison:
        data = source if isinstance(source, bytes) else open(source, "rb").read()  # noqa: SIM115 - tiny test files
        if poison in data:
            print("E2E poison: the decoder crashes the worker process", flush=True)
            os._exit(139)
    for stage in ("decode", "faces", "detector:ai_generated", "fusion"):
        report(stage, 0, 1)
        report(stage, 1, 1)
    return _Scripted({
        "prediction": "authentic", "confidence": 0.8, "is_authentic": True, "fake_probability": 0.2,
        "reason": None, "scores": {"ai_generated": 0.2}, "models_used": ["ai_generated"], "processing_time": 0.01,
        "evidence": {"facial_inconsistencies": None, "temporal_artifacts": None, "compression_anomalies": None,
                     "feature_maps": [], "findings": []},
        "media": {}, "faces": [], "detectors": [],
        "provenance": {"engine": "scripted-e2e", "engine_version": "0", "detectors": [], "timings": {"total": 0.01}},
    })


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from config.celery import app

    if os.environ.get("E2E_PAUSE"):
        _install_pause(os.environ["E2E_PAUSE"])
    if os.environ.get("E2E_ENGINE") == "scripted":
        import detection

        detection.analyze = _scripted_analyze  # type: ignore[assignment]
    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    main()
