"""The Celery task, run as a worker would run it (the function itself; Celery is not eager in tests)."""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError

import detection
from analysis import services
from analysis.models import AnalysisJob, AnalysisResult, JobStatus
from analysis.tasks import reap_stale_jobs, run_analysis

from .conftest import image_bytes, upload
from .test_services import _analysis

pytestmark = pytest.mark.django_db


class FakeAnalysis:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def _job(user: Any, data: bytes | None = None, **options: Any) -> str:
    return str(services.submit_analysis(user, upload=upload(data or image_bytes()), options=options).pk)


def _engine(*stages: tuple[str, int, int], result: dict[str, Any] | None = None,
            error: BaseException | None = None) -> Any:
    def fake(source: Any, config: Any, progress: Any) -> FakeAnalysis:
        for stage in stages:
            progress(*stage)
        if error is not None:
            raise error
        return FakeAnalysis(result or _analysis())

    return mock.patch("detection.analyze", side_effect=fake)


def test_the_task_claims_analyses_and_completes(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user, detailed_analysis=True, models=["cnn_v2"])
    with _engine(("decode", 1, 1), ("faces", 1, 1)) as engine:
        assert run_analysis(job_id) == "completed"
    source, config, _ = engine.call_args.args
    assert str(source).endswith(".png")  # a local path from FileSystemStorage
    assert config == {"detailed": True, "detectors": ["face_manipulation", "ai_generated"]}
    job = AnalysisJob.objects.get(pk=job_id)
    assert (job.status, job.progress, job.attempts) == (JobStatus.COMPLETED, 100, 1)
    assert AnalysisResult.objects.get(job_id=job_id).provenance["engine_version"] == "0.1.0"


def test_a_redelivered_message_does_not_run_the_job_twice(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user)
    with _engine() as engine:
        assert run_analysis(job_id) == "completed"
        assert run_analysis(job_id) == "skipped"
    assert engine.call_count == 1 and AnalysisResult.objects.count() == 1


def test_a_media_error_fails_the_job_with_its_code_and_no_retry(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user)
    with _engine(("decode", 0, 1), error=detection.DecodeFailed("The image data is truncated.")):
        assert run_analysis(job_id) == "failed"
    job = AnalysisJob.objects.get(pk=job_id)
    assert (job.status, job.error_code, job.error_message) == ("failed", "decode_failed",
                                                               "The image data is truncated.")


def test_a_bug_fails_the_job_as_internal_error_and_logs_it_once(alice: Any, enqueued: list[Any],
                                                                caplog: Any) -> None:
    job_id = _job(alice.user)
    with _engine(error=ZeroDivisionError("oops")):
        assert run_analysis(job_id) == "failed"
    job = AnalysisJob.objects.get(pk=job_id)
    assert job.error_code == "internal_error" and "oops" not in job.error_message
    assert [r.levelname for r in caplog.records if "internal error" in r.getMessage()] == ["ERROR"]


def test_a_transient_database_error_gives_the_job_back_for_a_retry(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user)
    with _engine(error=OperationalError("server closed the connection")), pytest.raises(OperationalError):
        run_analysis(job_id)  # called directly, Celery re-raises instead of scheduling the retry
    assert AnalysisJob.objects.get(pk=job_id).status == JobStatus.QUEUED
    with _engine():
        assert run_analysis(job_id) == "completed"
    assert AnalysisJob.objects.get(pk=job_id).attempts == 2


def test_a_job_cancelled_while_running_stops_at_the_next_stage(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user)

    def cancel_then_continue(source: Any, config: Any, progress: Any) -> FakeAnalysis:
        progress("decode", 1, 1)
        services.cancel_job(AnalysisJob.objects.get(pk=job_id))
        progress("faces", 0, 1)  # raises JobCancelled
        raise AssertionError("the engine should have been stopped")

    with mock.patch("detection.analyze", side_effect=cancel_then_continue):
        assert run_analysis(job_id) == "cancelled"
    assert AnalysisJob.objects.get(pk=job_id).status == JobStatus.CANCELLED
    assert not AnalysisResult.objects.exists()


def test_a_cancelled_job_is_never_started(alice: Any, enqueued: list[Any]) -> None:
    job_id = _job(alice.user)
    services.cancel_job(AnalysisJob.objects.get(pk=job_id))
    with _engine() as engine:
        assert run_analysis(job_id) == "skipped"
    assert engine.call_count == 0


def test_the_reaper_task_runs_the_service(db: Any) -> None:
    assert reap_stale_jobs() == {"requeued": 0, "failed": 0, "resent": 0}


def test_the_celery_app_is_configured_for_safe_delivery() -> None:
    from config.celery import app

    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > 0
    assert "reap-stale-analysis-jobs" in conf.beat_schedule
    assert {q.name for q in conf.task_queues} == {"analysis", "maintenance"}
    assert not conf.task_always_eager


def test_the_real_engine_analyses_a_photograph(alice: Any, enqueued: list[Any]) -> None:
    from PIL import Image
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="PNG")
    job_id = _job(alice.user, buf.getvalue())
    outcome = run_analysis(job_id)
    job = AnalysisJob.objects.get(pk=job_id)
    assert outcome == "completed", (job.error_code, job.error_message)
    result = AnalysisResult.objects.get(job_id=job_id)
    assert result.prediction in ("authentic", "deepfake", "unknown")
    assert result.provenance["input_sha256"] == job.file_sha256
    assert {d["name"] for d in result.provenance["detectors"]} and result.provenance["timings"]["total"] > 0


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_long_stage_alive_and_stops_for_a_finished_job(db: Any) -> None:
    import time
    from datetime import timedelta

    from django.utils import timezone

    from analysis.progress import Heartbeat

    from .conftest import make_user

    user = make_user("hb")
    with mock.patch("analysis.tasks.run_analysis.apply_async"):
        job_id = _job(user)
    services.claim_job(job_id)
    old = timezone.now() - timedelta(minutes=5)
    AnalysisJob.objects.filter(pk=job_id).update(heartbeat_at=old)
    with Heartbeat(job_id, interval=0.05):
        time.sleep(0.5)
    beat = AnalysisJob.objects.get(pk=job_id).heartbeat_at
    assert beat is not None and beat > old
    assert services.reap_stale_jobs()["requeued"] == 0


def test_the_real_engine_analyses_a_voice_note(alice: Any, enqueued: list[Any]) -> None:
    from pathlib import Path

    import soundfile as sf

    x, sr = sf.read(Path(__file__).resolve().parents[1] / "fixtures" / "speech_en.flac", dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="OGG", subtype="VORBIS")
    job_id = _job(alice.user, buf.getvalue())
    job = AnalysisJob.objects.get(pk=job_id)
    assert job.file_type == "audio"
    outcome = run_analysis(job_id)
    job.refresh_from_db()
    assert outcome == "completed", (job.error_code, job.error_message)
    result = AnalysisResult.objects.get(job_id=job_id)
    assert result.models_used == ["speech_spoof"]
    assert result.media_info["media_type"] == "audio" and abs(result.media_info["duration"] - 8.0) < 0.3
    assert len(result.evidence_data["timeline"]) >= 2
    assert [d["name"] for d in result.provenance["detectors"]] == ["speech_spoof"]


def test_the_real_engine_analyses_a_video(alice: Any, enqueued: list[Any]) -> None:
    from tests.detection.test_video import encode, face_frames

    job_id = _job(alice.user, encode(face_frames(12), fps=6, audio_seconds=2.0))
    assert AnalysisJob.objects.get(pk=job_id).file_type == "video"
    outcome = run_analysis(job_id)
    job = AnalysisJob.objects.get(pk=job_id)
    assert outcome == "completed", (job.error_code, job.error_message)
    assert job.progress == 100
    result = AnalysisResult.objects.get(job_id=job_id)
    assert result.media_info["media_type"] == "video" and result.media_info["width"] == 480
    assert "face_manipulation" in result.models_used
    assert result.evidence_data["timeline"] and result.evidence_data["tracks"]
    assert result.evidence_data["audio"]["present"] is True
    assert result.evidence_data["temporal_artifacts"] is not None
