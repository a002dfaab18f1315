from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import DeliveryStatus, Webhook, WebhookDelivery, WebhookEvent
from ..urlsafety import UnsafeURL, check_url_syntax

JOB_EVENTS = [WebhookEvent.JOB_COMPLETED.value, WebhookEvent.JOB_FAILED.value]


class WebhookSerializer(serializers.ModelSerializer[Webhook]):
    url = serializers.CharField(max_length=1000, help_text="http(s) URL that receives signed POSTs")
    events = serializers.ListField(child=serializers.ChoiceField(choices=JOB_EVENTS), required=False,
                                   help_text="Events to receive; empty or omitted: all job events")

    class Meta:
        model = Webhook
        fields = ["id", "url", "description", "events", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            check_url_syntax(value)
        except UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value.strip()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True,
                                   help_text="Signing secret: verify X-Deepfake-Signature with it. Shown once.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "transport", "url", "event", "job_id", "status", "attempts", "status_code", "last_error",
                  "created_at", "updated_at", "delivered_at", "next_attempt_at"]
        read_only_fields = fields


class SmsSecretSerializer(serializers.Serializer[dict[str, Any]]):
    secret = serializers.CharField(help_text="Key the posts to your sms_webhook_url are signed with")
