"""analysis.services: storage, submission, claim, progress, completion, failure, cancel, reaper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.roles import Role
from analysis import services
from analysis.exceptions import Conflict, RejectedUpload
from analysis.models import AnalysisJob, AnalysisResult, JobStatus, MediaAsset, SystemLog

from .conftest import image_bytes, make_user, upload

pytestmark = pytest.mark.django_db


def _submit(user: Any, data: bytes | None = None, name: str = "photo.png", **options: Any) -> AnalysisJob:
    return services.submit_analysis(user, upload=upload(data or image_bytes(), name), options=options)


def test_the_same_bytes_from_the_same_user_are_stored_once(alice: Any, enqueued: list[Any]) -> None:
    data = image_bytes(seed=1)
    first = _submit(alice.user, data, "a.png")
    second = _submit(alice.user, data, "b.png")
    assert first.asset_id == second.asset_id
    assert MediaAsset.objects.count() == 1
    assert first.file_path == services.storage_key(first.file_sha256, "png")
    assert default_storage.exists(first.file_path)
    assert SystemLog.objects.filter(event="upload").count() == 1


def test_the_same_bytes_from_another_user_share_the_stored_object(alice: Any, bob: Any, enqueued: list[Any]) -> None:
    data = image_bytes(seed=2)
    a, b = _submit(alice.user, data), _submit(bob.user, data)
    assert a.asset_id != b.asset_id
    assert a.file_path == b.file_path


def test_the_type_comes_from_the_content_not_the_name(alice: Any) -> None:
    with pytest.raises(RejectedUpload) as err:
        _submit(alice.user, b"#!/bin/sh\necho pwned\n", "holiday.jpg")
    assert err.value.code == "unsupported_media"
    assert not AnalysisJob.objects.exists() and not MediaAsset.objects.exists()


def test_a_png_named_jpg_is_stored_as_png(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user, image_bytes("PNG"), "looks-like.jpg")
    assert (job.file_type, job.file_format) == ("image", "png")


def test_an_empty_file_is_rejected(alice: Any) -> None:
    with pytest.raises(RejectedUpload) as err:
        services.submit_analysis(alice.user, upload=upload(b"", "empty.png"))
    assert err.value.code == "empty_file"


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\evil.png", "evil.png"),
    ("a\x00b\r\n<script>.png", "ab_script_.png"),
    ("...", "upload"),
    ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),
])
def test_file_names_are_sanitised(raw: str, clean: str) -> None:
    assert services.sanitize_filename(raw) == clean


def test_submit_enqueues_after_commit_with_the_broker_priority(alice: Any, enqueued: list[Any],
                                                               django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = _submit(alice.user, priority="urgent")
    assert enqueued == [] and len(callbacks) == 1  # nothing is sent before the commit
    assert AnalysisJob.objects.get(pk=job.pk).status == JobStatus.PENDING
    callbacks[0]()
    assert enqueued == [{"args": [str(job.pk)], "priority": 0, "queue": "analysis"}]  # redis: 0 pops first
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.queued_at is not None


def test_priorities_map_urgent_before_low_on_both_brokers() -> None:
    from config.celery import broker_priority

    redis = [broker_priority(p, "redis://x") for p in ("urgent", "high", "normal", "low")]
    amqp = [broker_priority(p, "amqp://x") for p in ("urgent", "high", "normal", "low")]
    assert redis == sorted(redis) and amqp == sorted(amqp, reverse=True)


def test_a_job_is_claimed_exactly_once(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    first = services.claim_job(str(job.pk), worker="w1")
    assert first is not None and first.status == JobStatus.PROCESSING and first.attempts == 1
    assert services.claim_job(str(job.pk), worker="w2") is None
    assert services.claim_job("not-a-uuid") is None


def test_progress_moves_forward_and_a_cancel_stops_the_running_job(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    claimed = services.claim_job(str(job.pk))
    assert claimed is not None
    assert services.update_progress(str(job.pk), "decode", 1, 1, started_at=claimed.started_at) == 10
    assert services.update_progress(str(job.pk), "detector:ai_generated", 1, 2) == 58
    services.cancel_job(claimed)
    with pytest.raises(services.JobCancelled):
        services.update_progress(str(job.pk), "fusion", 0, 1)
    assert services.complete_job(str(job.pk), _analysis()) is None  # nothing written for a cancelled job
    assert not AnalysisResult.objects.exists()


def test_a_finished_job_cannot_be_cancelled(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    services.claim_job(str(job.pk))
    services.complete_job(str(job.pk), _analysis())
    with pytest.raises(Conflict):
        services.cancel_job(job)


def _analysis(prediction: str = "deepfake", confidence: float = 0.91) -> dict[str, Any]:
    return {
        "prediction": prediction, "confidence": confidence, "is_authentic": prediction == "authentic",
        "fake_probability": 0.91, "reason": None, "scores": {"ai_generated": 0.93},
        "models_used": ["ai_generated"], "processing_time": 0.4321,
        "evidence": {"facial_inconsistencies": None, "temporal_artifacts": None, "compression_anomalies": 0.2,
                     "feature_maps": [], "findings": []},
        "media": {"media_type": "image", "format": "png", "sha256": "ab" * 32},
        "faces": [],
        "detectors": [{"name": "ai_generated", "version": "1", "weights_sha256": "cd" * 32, "score": 0.93,
                       "feature_maps": [{"layer": "x", "activation_map": "AAAA"}], "findings": []}],
        "provenance": {"engine": "detection", "engine_version": "0.1.0", "input_sha256": "ab" * 32,
                       "detectors": [{"name": "ai_generated", "weights_sha256": "cd" * 32}],
                       "fusion": {"version": "1"}, "timings": {"total": 0.4321}},
    }


def test_completion_stores_the_verdict_with_full_provenance(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    services.claim_job(str(job.pk))
    result = services.complete_job(str(job.pk), _analysis())
    assert result is not None
    job.refresh_from_db()
    assert (job.status, job.progress, job.completed_at is not None) == (JobStatus.COMPLETED, 100, True)
    assert result.prediction == "deepfake" and float(result.confidence) == 0.91
    assert result.provenance["input_sha256"] == "ab" * 32 and result.engine_version == "0.1.0"
    assert "feature_maps" not in result.features_detected["detectors"][0]  # stored once, in evidence
    assert services.complete_job(str(job.pk), _analysis()) is None  # a second completion is a no-op


def test_a_verdict_below_the_requested_confidence_becomes_unknown(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user, confidence_threshold=0.95)
    services.claim_job(str(job.pk))
    result = services.complete_job(str(job.pk), _analysis(confidence=0.91))
    assert result is not None
    assert (result.prediction, result.reason, result.is_authentic) == ("unknown", "below_confidence_threshold", False)
    assert result.features_detected["engine_prediction"] == "deepfake"


def test_failure_keeps_the_stable_code_and_message(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    assert not services.fail_job(str(job.pk), "decode_failed", "x")  # not processing yet: nothing happens
    services.claim_job(str(job.pk))
    assert services.fail_job(str(job.pk), "decode_failed", "The image data is truncated.")
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "decode_failed")
    assert job.error_message == "The image data is truncated."


def test_the_reaper_requeues_a_job_whose_worker_died(alice: Any, enqueued: list[Any], settings: Any) -> None:
    job = _submit(alice.user)
    services.claim_job(str(job.pk))
    AnalysisJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    enqueued.clear()
    assert services.reap_stale_jobs()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and [c["args"] for c in enqueued] == [[str(job.pk)]]
    assert services.claim_job(str(job.pk)) is not None  # the redelivery runs it, once


def test_the_reaper_leaves_a_live_job_alone_and_fails_one_that_keeps_dying(alice: Any, enqueued: list[Any],
                                                                            settings: Any) -> None:
    live, dying = _submit(alice.user, image_bytes(seed=3)), _submit(alice.user, image_bytes(seed=4))
    services.claim_job(str(live.pk))
    services.claim_job(str(dying.pk))
    AnalysisJob.objects.filter(pk=dying.pk).update(attempts=settings.ANALYSIS_MAX_ATTEMPTS,
                                                   heartbeat_at=timezone.now() - timedelta(minutes=10))
    counts = services.reap_stale_jobs()
    assert counts["failed"] == 1 and counts["requeued"] == 0
    assert AnalysisJob.objects.get(pk=live.pk).status == JobStatus.PROCESSING
    dying.refresh_from_db()
    assert (dying.status, dying.error_code) == ("failed", "worker_lost")


def test_the_reaper_resends_a_job_the_broker_never_got(alice: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)  # on_commit never ran: still pending
    AnalysisJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.reap_stale_jobs()["resent"] == 1
    assert AnalysisJob.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_a_broker_outage_leaves_the_job_pending_for_the_reaper(alice: Any, monkeypatch: Any) -> None:
    from analysis import tasks

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.run_analysis, "apply_async", down)
    job = _submit(alice.user)
    assert services.enqueue(str(job.pk), "normal") is False
    assert AnalysisJob.objects.get(pk=job.pk).status == JobStatus.PENDING


def test_visibility_is_one_rule(alice: Any, bob: Any, auditor: Any, staff: Any, enqueued: list[Any]) -> None:
    job = _submit(alice.user)
    visible = AnalysisJob.objects.visible_to
    assert list(visible(alice.user)) == [job]
    assert list(visible(bob.user)) == []
    assert list(visible(auditor.user)) == [job] and list(visible(staff.user)) == [job]
    from django.contrib.auth.models import AnonymousUser

    assert list(visible(AnonymousUser())) == []
    alice.user.is_active = False
    assert list(visible(alice.user)) == []


def test_an_auditor_cannot_submit(auditor: Any) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _submit(auditor.user)


def test_deleting_the_last_asset_removes_the_stored_bytes(alice: Any, enqueued: list[Any],
                                                          django_capture_on_commit_callbacks: Any) -> None:
    job = _submit(alice.user)
    key = job.file_path
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
        job.asset.delete()
    assert not default_storage.exists(key)
    assert SystemLog.objects.filter(event="deletion").count() == 2


def test_role_changes_are_audited(db: Any) -> None:
    user = make_user("carol")
    user.role = Role.AUDITOR
    user.save()
    log = SystemLog.objects.get(event="role_change")
    assert log.metadata["before"] == "analyst" and log.metadata["after"] == "auditor"
