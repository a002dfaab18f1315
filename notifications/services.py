"""Job notices: who gets told what, by which channel, and the delivery of signed webhooks with retries.

``job_finished(job_id)`` is called by ``analysis.services`` when a job completes or fails; after the commit it
hands the job id to a Celery task, which calls ``dispatch(job_id)`` here: in-app (the user's Channels group),
email (completion only) and webhooks/SMS (one ``WebhookDelivery`` each, delivered by their own task).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis.models import AnalysisJob, JobStatus

from . import payloads, signing
from .models import DeliveryStatus, Transport, Webhook, WebhookDelivery
from .urlsafety import UnsafeURL, post

logger = logging.getLogger(__name__)

#: The Channels message type of in-app notices (consumers get ``notification_event(message)``).
MESSAGE_TYPE = "notification.event"


def user_group(user_id: Any) -> str:
    return f"notifications.user.{user_id}"


def preferences(user: Any) -> dict[str, Any]:
    """The user's channels, read exactly as GET /users/settings shows them."""
    from accounts.api.serializers import UserSettingsSerializer

    current = UserSettingsSerializer.current(user.settings or {})
    return {
        "in_app": bool(current["notify_in_app"]),
        "email": bool(current["notify_email"]),
        "webhook": bool(current["notify_webhook"]),
        "sms_webhook_url": str(current["sms_webhook_url"] or ""),
    }


def sms_secret(user: Any) -> str:
    """The key SMS-gateway posts of ``user`` are signed with (derived, so nothing extra is stored)."""
    return "smssec_" + hmac.new(settings.SECRET_KEY.encode(), f"sms:{user.pk}".encode(), hashlib.sha256).hexdigest()


def job_finished(job_id: Any) -> None:
    """Called inside the transaction that finished the job: notify once it commits (and only if it commits)."""

    def send() -> None:
        from .tasks import dispatch_job_notifications

        try:
            dispatch_job_notifications.apply_async(args=[str(job_id)])
        except Exception:  # noqa: BLE001 - a broker outage must not fail the job; notices are best effort
            logger.warning("job %s: could not enqueue notifications", job_id, exc_info=True)

    transaction.on_commit(send)


def dispatch(job_id: str) -> dict[str, Any]:
    """Send the job's notice on every channel its owner chose; returns what was done (for logs and tests)."""
    job = AnalysisJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
        return {"skipped": True}
    user = job.user
    prefs = preferences(user)
    notice = payloads.job_notice(job)
    done: dict[str, Any] = {"in_app": False, "email": False, "deliveries": []}
    if prefs["in_app"]:
        done["in_app"] = send_in_app(user.pk, notice)
    if prefs["email"] and job.status == JobStatus.COMPLETED and user.email:
        done["email"] = send_email(user, notice)
    deliveries = []
    if prefs["webhook"]:
        for hook in Webhook.objects.filter(user=user, is_active=True):
            if hook.wants(notice["event"]):
                deliveries.append(create_delivery(user, notice, webhook=hook))
    if prefs["sms_webhook_url"]:
        sms = {**notice, "text": payloads.short_text(notice)}
        deliveries.append(create_delivery(user, sms, url=prefs["sms_webhook_url"], transport=Transport.SMS))
    done["deliveries"] = [d.pk for d in deliveries]
    return done


def send_in_app(user_id: Any, notice: dict[str, Any]) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(user_group(user_id), {"type": MESSAGE_TYPE, "notice": notice})
    except Exception:  # noqa: BLE001 - the job row stays the truth; the dashboard re-reads it
        logger.warning("could not send an in-app notice to user %s", user_id, exc_info=True)
        return False
    return True


def send_email(user: Any, notice: dict[str, Any]) -> bool:
    subject = payloads.short_text(notice)
    lines = [f"Hello {user.get_username()},", "", subject, ""]
    result = notice.get("result") or {}
    if result:
        lines += [f"Verdict: {result['prediction']}", f"Confidence: {result['confidence']:.2f}",
                  f"Models: {', '.join(result.get('models_used') or []) or '-'}", ""]
    lines += [f"File SHA-256: {notice['job']['sha256']}", f"Results: {notice['links'].get('results', '')}",
              f"PDF report: {notice['links'].get('report_pdf', '')}", "",
              "A verdict is the output of statistical models, not proof; see the PDF report for what the scores "
              "mean and do not mean.", "", "You get this email because notify_email is on in your settings."]
    try:
        send_mail(subject[:150], "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [user.email])
    except Exception:  # noqa: BLE001 - logged; an unreachable mail server must not stop the other channels
        logger.warning("job %s: could not email user %s", notice["job"]["id"], user.pk, exc_info=True)
        return False
    return True


# --- webhook deliveries ---------------------------------------------------------------------------------------

def create_delivery(user: Any, notice: dict[str, Any], *, webhook: Webhook | None = None, url: str | None = None,
                    transport: str = Transport.WEBHOOK) -> WebhookDelivery:
    """Record the delivery and enqueue it after the commit."""
    job_id = (notice.get("job") or {}).get("id")
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, user=user, transport=transport, url=webhook.url if webhook else str(url),
        event=notice["event"], job_id=job_id, payload=notice)
    delivery_id = delivery.pk

    def send() -> None:
        from .tasks import deliver_webhook

        try:
            deliver_webhook.apply_async(args=[delivery_id])
        except Exception:  # noqa: BLE001
            logger.warning("delivery %s: could not enqueue", delivery_id, exc_info=True)

    transaction.on_commit(send)
    return delivery


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): base * 2^(attempt-1), capped at an hour, +10% jitter."""
    base = float(settings.WEBHOOK_BACKOFF_BASE) * (2 ** max(0, attempt - 1))
    return min(3600.0, base) * (1 + 0.1 * random.random())


def _secret(delivery: WebhookDelivery) -> str:
    if delivery.webhook is not None:
        return delivery.webhook.secret
    return sms_secret(delivery.user)


def deliver(delivery_id: int) -> str:
    """One attempt: ``succeeded``, ``retry`` (the caller schedules it after ``backoff``) or ``failed``.

    The attempt is claimed with a conditional UPDATE that also takes a lease (``next_attempt_at`` moves past the
    request's timeout): a redelivered or re-sent task never re-sends a delivered event, never runs beside an
    attempt in flight, and never jumps ahead of the scheduled retry.
    """
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = WebhookDelivery.objects.filter(
        due, pk=delivery_id, status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
    ).update(attempts=F("attempts") + 1, updated_at=now,
             next_attempt_at=now + timedelta(seconds=float(settings.WEBHOOK_TIMEOUT) + 30))
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("webhook", "user").get(pk=delivery_id)
    body = json.dumps({**delivery.payload, "delivery_id": delivery.pk}, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")
    headers = signing.signed_headers(_secret(delivery), body, event=delivery.event, delivery_id=delivery.pk)
    code: int | None = None
    permanent = False
    try:
        code, _answer = post(delivery.url, body, headers, timeout=float(settings.WEBHOOK_TIMEOUT))
        error = "" if 200 <= code < 300 else f"HTTP {code}"
        permanent = 400 <= code < 500 and code not in (408, 425, 429)
    except UnsafeURL as exc:
        error, permanent = str(exc), True
    except OSError as exc:  # refused, reset, timeout, TLS
        error = f"{type(exc).__name__}: {exc}"[:500]
    now = timezone.now()
    if not error:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.SUCCEEDED, status_code=code, last_error="", delivered_at=now, updated_at=now,
            next_attempt_at=None)
        return "succeeded"
    if permanent or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED, status_code=code, last_error=error, updated_at=now, next_attempt_at=None)
        logger.warning("delivery %s to %s failed for good after %s attempts: %s", delivery_id, delivery.url,
                       delivery.attempts, error)
        return "failed"
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.RETRYING, status_code=code, last_error=error, updated_at=now,
        next_attempt_at=now + timedelta(seconds=backoff(delivery.attempts)))
    return "retry"


def retry_countdown(delivery_id: int) -> float:
    """Seconds until the scheduled retry of ``delivery_id`` (what ``deliver`` wrote; the task waits that long)."""
    when = WebhookDelivery.objects.values_list("next_attempt_at", flat=True).get(pk=delivery_id)
    return max(0.0, (when - timezone.now()).total_seconds()) if when else 0.0


def reap_deliveries(now: Any = None) -> int:
    """Periodic (beat): re-send deliveries whose task message was lost (never attempted, or overdue retries)."""
    from .tasks import deliver_webhook

    now = now or timezone.now()
    lost = list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, attempts=0, created_at__lt=now - timedelta(minutes=1)
    ).values_list("pk", flat=True)) + list(WebhookDelivery.objects.filter(
        status=DeliveryStatus.RETRYING, next_attempt_at__lt=now - timedelta(minutes=5)
    ).values_list("pk", flat=True))
    for delivery_id in lost:  # a duplicate message is harmless: deliver() claims with a lease
        deliver_webhook.apply_async(args=[delivery_id])
    return len(lost)


def ping(webhook: Webhook) -> WebhookDelivery:
    """A signed test delivery, sent now (synchronously) so the caller sees the outcome."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, user=webhook.user, transport=Transport.WEBHOOK, url=webhook.url, event="ping",
        payload=payloads.ping_notice(webhook.pk))
    outcome = deliver(delivery.pk)
    if outcome == "retry":  # a ping is not retried: the caller is there to see the failure
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    delivery.refresh_from_db()
    return delivery
