"""Webhooks: registration, signed deliveries to a local receiver, retries after a 500, the delivery log, the
test ping, the SMS-gateway transport, and where we refuse to send."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest

from notifications import services, signing, tasks
from notifications.models import DeliveryStatus, Webhook, WebhookDelivery
from notifications.urlsafety import UnsafeURL, resolve
from tests.reports.fabricate import completed_job, processing_job

pytestmark = pytest.mark.django_db
API = "/api/v2"


@pytest.fixture
def captured() -> Any:
    """The enqueues (Celery is not eager in tests): the tests run the task functions themselves."""
    calls: dict[str, list[Any]] = {"dispatch": [], "deliver": []}
    with mock.patch("notifications.tasks.dispatch_job_notifications.apply_async",
                    side_effect=lambda args=None, **kw: calls["dispatch"].append(args[0])), \
         mock.patch("notifications.tasks.deliver_webhook.apply_async",
                    side_effect=lambda args=None, **kw: calls["deliver"].append(args[0])):
        yield calls


def _register(persona: Any, url: str, **extra: Any) -> dict[str, Any]:
    response = persona.client.post(f"{API}/webhooks", {"url": url, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def _settings(persona: Any, **values: Any) -> None:
    response = persona.client.patch(f"{API}/users/settings", values, format="json")
    assert response.status_code == 200, response.json()


def test_a_completed_job_reaches_the_webhook_signed_and_a_500_is_retried(
        alice: Any, receiver: Any, webhooks_allowed: None, captured: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    hook = _register(alice, receiver.url, description="newsroom CMS")
    _settings(alice, notify_webhook=True, notify_in_app=False)
    receiver.statuses = [500]

    with django_capture_on_commit_callbacks(execute=True):
        job = completed_job(alice.user, "image")
    assert captured["dispatch"] == [str(job.pk)]  # complete_job enqueued the notices after the commit
    with django_capture_on_commit_callbacks(execute=True):
        done = tasks.dispatch_job_notifications(str(job.pk))
    assert captured["deliver"] == done["deliveries"] and len(done["deliveries"]) == 1

    result = tasks.deliver_webhook.apply(args=[done["deliveries"][0]])  # eager: Celery runs the retry at once
    assert result.get() == "succeeded"

    assert [r["answered"] for r in receiver.requests] == [500, 200]
    for request in receiver.requests:
        h = request["headers"]
        assert signing.verify(hook["secret"], request["body"], h["x-deepfake-timestamp"], h["x-deepfake-signature"])
        assert not signing.verify("whsec_wrong", request["body"], h["x-deepfake-timestamp"],
                                  h["x-deepfake-signature"])
        assert h["x-deepfake-event"] == "job.completed" and h["x-deepfake-delivery"] == str(done["deliveries"][0])
    body = receiver.requests[-1]["json"]
    assert body["job"]["id"] == str(job.pk) and body["result"]["prediction"] == "deepfake"
    assert body["links"]["report_pdf"].endswith(f"/api/v2/analysis/{job.pk}/results?format=pdf")

    delivery = WebhookDelivery.objects.get(pk=done["deliveries"][0])
    assert (delivery.status, delivery.attempts, delivery.status_code) == (DeliveryStatus.SUCCEEDED, 2, 200)
    log = alice.client.get(f"{API}/webhooks/{hook['id']}/deliveries").json()["data"]
    assert log[0]["attempts"] == 2 and log[0]["status"] == "succeeded"


def test_a_failed_delivery_is_logged_with_its_error_and_scheduled_with_backoff(
        alice: Any, receiver: Any, webhooks_allowed: Any, settings: Any) -> None:
    settings.WEBHOOK_BACKOFF_BASE = 10.0
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    hook = Webhook.objects.create(user=alice.user, url=receiver.url)
    delivery = WebhookDelivery.objects.create(webhook=hook, user=alice.user, url=hook.url, event="job.completed",
                                              payload={"event": "job.completed"})
    receiver.statuses = [503, 502]
    assert services.deliver(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.status_code, delivery.last_error) == ("retrying", 503, "HTTP 503")
    assert 10 <= (delivery.next_attempt_at - delivery.updated_at).total_seconds() <= 11.1
    assert services.deliver(delivery.pk) == "skipped"  # too early: the retry is scheduled
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)  # ... and now it is due
    assert services.deliver(delivery.pk) == "failed"  # the last attempt
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert services.deliver(delivery.pk) == "skipped"  # never re-sent after the end
    assert 10 <= services.backoff(1) <= 11 and 20 <= services.backoff(2) <= 22 and 80 <= services.backoff(4) <= 88


def test_an_attempt_in_flight_holds_a_lease_and_the_reaper_resends_lost_deliveries(
        alice: Any, receiver: Any, webhooks_allowed: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    hook = Webhook.objects.create(user=alice.user, url=receiver.url)
    in_flight = WebhookDelivery.objects.create(webhook=hook, user=alice.user, url=hook.url, event="ping",
                                               next_attempt_at=timezone.now() + timedelta(seconds=30))
    assert services.deliver(in_flight.pk) == "skipped" and receiver.requests == []
    lost = WebhookDelivery.objects.create(webhook=hook, user=alice.user, url=hook.url, event="ping")
    WebhookDelivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sent: list[Any] = []
    with mock.patch("notifications.tasks.deliver_webhook.apply_async",
                    side_effect=lambda args=None, **kw: sent.append(args[0])):
        assert services.reap_deliveries() == 1
    assert sent == [lost.pk]


def test_a_4xx_is_not_retried(alice: Any, receiver: Any, webhooks_allowed: Any) -> None:
    hook = Webhook.objects.create(user=alice.user, url=receiver.url)
    delivery = WebhookDelivery.objects.create(webhook=hook, user=alice.user, url=hook.url, event="job.failed")
    receiver.statuses = [410]
    assert services.deliver(delivery.pk) == "failed"


def test_the_test_ping_is_signed_and_reported(alice: Any, receiver: Any, webhooks_allowed: Any) -> None:
    hook = _register(alice, receiver.url)
    response = alice.client.post(f"{API}/webhooks/{hook['id']}/test")
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded" and response.json()["status_code"] == 200
    request = receiver.requests[0]
    assert request["json"]["event"] == "ping" and request["path"] == "/hooks/deepfake"
    h = request["headers"]
    assert signing.verify(hook["secret"], request["body"], h["x-deepfake-timestamp"], h["x-deepfake-signature"])
    receiver.statuses = [500]
    failed = alice.client.post(f"{API}/webhooks/{hook['id']}/test").json()
    assert failed["status"] == "failed" and failed["last_error"] == "HTTP 500"


def test_failures_notify_too_and_only_subscribed_events_are_sent(
        alice: Any, receiver: Any, webhooks_allowed: Any, captured: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    from analysis import services as analysis_services

    _register(alice, receiver.url, events=["job.completed"])
    _settings(alice, notify_webhook=True)
    job = processing_job(alice.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_services.fail_job(str(job.pk), "decode_failed", "The file is damaged.")
    assert captured["dispatch"] == [str(job.pk)]
    assert tasks.dispatch_job_notifications(str(job.pk))["deliveries"] == []  # the hook wants completions only


def test_the_sms_gateway_gets_a_short_signed_text(alice: Any, receiver: Any, webhooks_allowed: Any,
                                                  captured: Any) -> None:
    _settings(alice, sms_webhook_url=receiver.url, notify_in_app=False)
    job = completed_job(alice.user, "audio")
    done = services.dispatch(str(job.pk))
    assert services.deliver(done["deliveries"][0]) == "succeeded"
    request = receiver.requests[0]
    assert request["json"]["text"].startswith("Analysis of sample.wav: deepfake (confidence 0.91)")
    secret = alice.client.get(f"{API}/webhooks/sms-secret").json()["secret"]
    h = request["headers"]
    assert signing.verify(secret, request["body"], h["x-deepfake-timestamp"], h["x-deepfake-signature"])
    bad = alice.client.patch(f"{API}/users/settings", {"sms_webhook_url": "ftp://gateway"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"


def test_signatures_expire_and_cover_the_timestamp() -> None:
    body = b'{"event":"ping"}'
    now = time.time()
    headers = signing.signed_headers("s3cret", body, event="ping", delivery_id=1, now=now)
    ts, sig = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]
    assert signing.verify("s3cret", body, ts, sig, now=now + 10)
    assert not signing.verify("s3cret", body, ts, sig, now=now + 301)  # replayed later
    assert not signing.verify("s3cret", body, str(int(ts) + 100), sig, now=now + 100)  # timestamp swapped
    assert not signing.verify("s3cret", body + b" ", ts, sig, now=now)
    assert not signing.verify("s3cret", body, None, sig)


def test_where_we_refuse_to_deliver(settings: Any) -> None:
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in ("ftp://example.com/x", "http://user:pw@example.com/", "javascript:alert(1)", "http:///nohost",
                "http://127.0.0.1:9/x", "http://10.0.0.5/x", "http://[::1]/x", "http://169.254.169.254/latest"):
        with pytest.raises(UnsafeURL):
            resolve(url)
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert resolve("http://127.0.0.1:9/x").address == "127.0.0.1"
    for url in ("http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]/"):
        with pytest.raises(UnsafeURL, match="link-local"):
            resolve(url)  # metadata stays refused even with private addresses allowed
    settings.WEBHOOK_ALLOW_METADATA = True
    assert resolve("http://169.254.169.254/").address == "169.254.169.254"


def test_a_delivery_to_the_metadata_service_fails_without_a_request(alice: Any, webhooks_allowed: Any) -> None:
    hook = Webhook.objects.create(user=alice.user, url="http://169.254.169.254/latest/meta-data/")
    delivery = WebhookDelivery.objects.create(webhook=hook, user=alice.user, url=hook.url, event="ping")
    assert services.deliver(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "link-local" in delivery.last_error and delivery.status_code is None


def test_webhook_permission_matrix(alice: Any, bob: Any, auditor: Any, robot: Any, anonymous: Any) -> None:
    hook = _register(alice, "https://hooks.example.org/deepfake")
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in alice.client.get(f"{API}/webhooks/{hook['id']}").json()  # shown once
    for method, url in (("get", "/webhooks"), ("post", "/webhooks"), ("get", f"/webhooks/{hook['id']}"),
                        ("patch", f"/webhooks/{hook['id']}"), ("delete", f"/webhooks/{hook['id']}"),
                        ("post", f"/webhooks/{hook['id']}/test"), ("get", f"/webhooks/{hook['id']}/deliveries")):
        assert getattr(anonymous, method)(f"{API}{url}", {}, format="json").status_code == 401, (method, url)
    for method, url in (("get", f"/webhooks/{hook['id']}"), ("patch", f"/webhooks/{hook['id']}"),
                        ("delete", f"/webhooks/{hook['id']}"), ("post", f"/webhooks/{hook['id']}/test"),
                        ("get", f"/webhooks/{hook['id']}/deliveries")):
        response = getattr(bob.client, method)(f"{API}{url}", {}, format="json")
        assert response.status_code == 404 and response.json()["code"] == "not_found", (method, url)
    assert auditor.client.get(f"{API}/webhooks").json() == {"data": []}  # read-only: sees only its own (none)
    refused = auditor.client.post(f"{API}/webhooks", {"url": "https://x.example.org/"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert robot.client.post(f"{API}/webhooks", {"url": "https://ci.example.org/"}, format="json").status_code == 201
    bad = alice.client.post(f"{API}/webhooks", {"url": "file:///etc/passwd"}, format="json")
    assert bad.status_code == 400 and bad.json()["details"][0].startswith("url:")

    patched = alice.client.patch(f"{API}/webhooks/{hook['id']}", {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert alice.client.delete(f"{API}/webhooks/{hook['id']}").status_code == 204
    assert alice.client.get(f"{API}/webhooks/{hook['id']}").status_code == 404
