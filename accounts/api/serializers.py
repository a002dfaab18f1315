from __future__ import annotations

from typing import Any

from rest_framework import serializers

from analysis.models import Priority

from ..models import ApiKey, User
from ..roles import Role


class ProfileSerializer(serializers.ModelSerializer[User]):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "is_staff", "created_at",
                  "updated_at", "last_login"]
        read_only_fields = ["id", "username", "role", "is_staff", "created_at", "updated_at", "last_login"]
        extra_kwargs = {"email": {"required": True}}

    def validate_email(self, value: str) -> str:
        taken = User.objects.filter(email__iexact=value).exclude(pk=getattr(self.instance, "pk", None)).exists()
        if taken:
            raise serializers.ValidationError("This email address is already in use.")
        return value


class NotificationSettingsSerializer(serializers.Serializer[dict[str, Any]]):
    email = serializers.BooleanField(required=False)
    websocket = serializers.BooleanField(required=False)


class UserSettingsSerializer(serializers.Serializer[dict[str, Any]]):
    """Preferences; every field optional on PATCH, defaults filled in on GET."""

    DEFAULTS: dict[str, Any] = {
        "default_priority": Priority.NORMAL.value,
        "detailed_analysis": False,
        "confidence_threshold": 0.5,
        "notifications": {"email": False, "websocket": True},
        "timezone": "UTC",
        "theme": "system",
        # Channels for job completion/failure notices (notifications/): in-app over /ws/notifications, email
        # on completion, a signed POST to the user's registered webhooks, and an SMS gateway's webhook URL.
        "notify_in_app": True,
        "notify_email": False,
        "notify_webhook": False,
        "sms_webhook_url": "",
    }

    default_priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    detailed_analysis = serializers.BooleanField(required=False)
    confidence_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    notifications = NotificationSettingsSerializer(required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    theme = serializers.ChoiceField(choices=["light", "dark", "system"], required=False)
    notify_in_app = serializers.BooleanField(required=False, help_text="Job finished notices over /ws/notifications")
    notify_email = serializers.BooleanField(required=False, help_text="An email when a job completes")
    notify_webhook = serializers.BooleanField(required=False, help_text="POST job events to your /webhooks")
    sms_webhook_url = serializers.CharField(
        max_length=1000, required=False, allow_blank=True,
        help_text="An SMS gateway's http(s) URL: receives the same signed POST with a short `text` field",
    )

    def validate_sms_webhook_url(self, value: str) -> str:
        from notifications.urlsafety import UnsafeURL, check_url_syntax

        if value:
            try:
                check_url_syntax(value)
            except UnsafeURL as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_timezone(self, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"Unknown time zone {value!r}.") from exc
        return value

    #: ``notifications.email`` / ``.websocket`` are the older spelling of ``notify_email`` / ``notify_in_app``.
    ALIASES = {"email": "notify_email", "websocket": "notify_in_app"}

    @classmethod
    def current(cls, stored: dict[str, Any]) -> dict[str, Any]:
        merged = {**cls.DEFAULTS, **{k: v for k, v in stored.items() if k in cls.DEFAULTS}}
        legacy = {**cls.DEFAULTS["notifications"], **(stored.get("notifications") or {})}
        for old, new in cls.ALIASES.items():
            if new not in stored:
                merged[new] = legacy[old]
        merged["notifications"] = {old: merged[new] for old, new in cls.ALIASES.items()}
        return merged

    @classmethod
    def merge(cls, stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """The settings after a PATCH of ``changes``; both spellings of a switch stay in step."""
        merged = cls.current(stored)
        for key, value in changes.items():
            if key == "notifications":
                for old, flag in value.items():
                    if cls.ALIASES.get(old) not in changes:
                        merged[cls.ALIASES[old]] = flag
            else:
                merged[key] = value
        merged["notifications"] = {old: merged[new] for old, new in cls.ALIASES.items()}
        return merged


class LogoutSerializer(serializers.Serializer[dict[str, Any]]):
    refresh = serializers.CharField(help_text="The refresh token to revoke (blacklist).")


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "is_active"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The API key. Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class TokenPairSerializer(serializers.Serializer[dict[str, Any]]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class WsTicketRequestSerializer(serializers.Serializer[dict[str, Any]]):
    job_id = serializers.UUIDField(required=False, allow_null=True,
                                   help_text="Bind the ticket to this job (recommended); omit for any job you may see")


class WsTicketSerializer(serializers.Serializer[dict[str, Any]]):
    ticket = serializers.CharField(help_text="Single use; pass it as ?ticket= when connecting")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid if unused")
    job_id = serializers.UUIDField(allow_null=True)
    websocket = serializers.CharField(allow_null=True, help_text="Path to connect to when job_id was given")
