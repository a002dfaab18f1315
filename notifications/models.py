"""Registered webhooks and the log of every delivery attempt made to them (and to SMS gateways)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEvent(models.TextChoices):
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    PING = "ping"


class Webhook(models.Model):
    """A URL an API client asked us to POST job events to, signed with its own secret."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=200, blank=True)
    #: Events this hook receives; empty means all job events.
    events = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhooks"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({self.user_id})"

    def wants(self, event: str) -> bool:
        return event == WebhookEvent.PING or not self.events or event in self.events


class Transport(models.TextChoices):
    WEBHOOK = "webhook"
    SMS = "sms"  # the same signed POST, to the user's SMS gateway URL, with a short text body


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event for one destination: every attempt updates it (status code, attempts, last error)."""

    id = models.BigAutoField(primary_key=True)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    transport = models.CharField(max_length=16, choices=Transport.choices, default=Transport.WEBHOOK)
    url = models.URLField(max_length=1000)
    event = models.CharField(max_length=32)
    job_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="idx_deliveries_webhook"),
            models.Index(fields=["status"], name="idx_deliveries_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.url} [{self.status}]"
