"""Webhook registration (CRUD), the delivery log and a test ping. Your own webhooks only: someone else's is 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require
from accounts.roles import Capability
from analysis.api.errors import E400, E401, E403, E404

from .. import services
from ..models import Webhook
from .serializers import DeliverySerializer, SmsSecretSerializer, WebhookCreatedSerializer, WebhookSerializer

WEBHOOK_ID = OpenApiParameter("webhookId", OpenApiTypes.INT, OpenApiParameter.PATH, description="Webhook id")
WRITE = ("POST", "PUT", "PATCH", "DELETE")
PERMISSIONS = [IsAuthenticated, require(Capability.MANAGE_WEBHOOKS, methods=WRITE)]


def own_webhook(request: Request, webhook_id: str) -> Webhook:
    hook = Webhook.objects.filter(user=request.user, pk=int(webhook_id) if webhook_id.isdigit() else -1).first()
    if hook is None:
        raise NotFound()
    return hook


class WebhookCollectionView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_list", summary="Your webhooks",
                   responses={200: inline_serializer("WebhookList", {"data": WebhookSerializer(many=True)}),
                              401: E401})
    def get(self, request: Request) -> Response:
        hooks = Webhook.objects.filter(user=request.user)
        return Response({"data": WebhookSerializer(hooks, many=True).data})

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_create", summary="Register a webhook",
                   description="Job events are POSTed as JSON, signed: HMAC-SHA256 over \"{timestamp}.{body}\" with "
                               "the secret returned here (once). Headers X-Deepfake-Timestamp, X-Deepfake-Signature "
                               "(v1=hex), X-Deepfake-Event, X-Deepfake-Delivery. Refuse timestamps older than 5 "
                               "minutes. Non-2xx answers are retried with exponential backoff. Turn on "
                               "notify_webhook in /users/settings to receive job events.",
                   request=WebhookSerializer, responses={201: WebhookCreatedSerializer, 400: E400, 401: E401,
                                                         403: E403})
    def post(self, request: Request) -> Response:
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hook = body.save(user=request.user)
        return Response(WebhookCreatedSerializer(hook).data, status=status.HTTP_201_CREATED,
                        headers={"Location": request.build_absolute_uri(f"/api/v2/webhooks/{hook.pk}")})


class WebhookDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_retrieve", parameters=[WEBHOOK_ID],
                   responses={200: WebhookSerializer, 401: E401, 404: E404})
    def get(self, request: Request, webhookId: str) -> Response:
        return Response(WebhookSerializer(own_webhook(request, webhookId)).data)

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_update", parameters=[WEBHOOK_ID],
                   request=WebhookSerializer,
                   responses={200: WebhookSerializer, 400: E400, 401: E401, 403: E403, 404: E404})
    def patch(self, request: Request, webhookId: str) -> Response:
        body = WebhookSerializer(own_webhook(request, webhookId), data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        return Response(WebhookSerializer(body.save()).data)

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_delete", parameters=[WEBHOOK_ID],
                   responses={204: None, 401: E401, 403: E403, 404: E404})
    def delete(self, request: Request, webhookId: str) -> Response:
        own_webhook(request, webhookId).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookTestView(APIView):
    permission_classes = [IsAuthenticated, require(Capability.MANAGE_WEBHOOKS)]

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_test", summary="Send a signed test ping now",
                   description="Delivers a `ping` event synchronously (no retries) and returns the logged delivery.",
                   request=None, parameters=[WEBHOOK_ID],
                   responses={200: DeliverySerializer, 401: E401, 403: E403, 404: E404})
    def post(self, request: Request, webhookId: str) -> Response:
        return Response(DeliverySerializer(services.ping(own_webhook(request, webhookId))).data)


class WebhookDeliveriesView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(tags=["Webhooks"], operation_id="webhooks_deliveries", summary="The webhook's delivery log",
                   parameters=[WEBHOOK_ID],
                   responses={200: inline_serializer("DeliveryList", {"data": DeliverySerializer(many=True)}),
                              401: E401, 404: E404})
    def get(self, request: Request, webhookId: str) -> Response:
        rows: Any = own_webhook(request, webhookId).deliveries.all()[:100]
        return Response({"data": DeliverySerializer(rows, many=True).data})


class SmsSecretView(APIView):
    @extend_schema(tags=["Webhooks"], operation_id="webhooks_sms_secret",
                   summary="The key your SMS gateway posts are signed with",
                   description="Posts to sms_webhook_url (/users/settings) carry the same signature headers as "
                               "webhooks, with this key, and a short `text` field for the message.",
                   responses={200: SmsSecretSerializer, 401: E401})
    def get(self, request: Request) -> Response:
        return Response({"secret": services.sms_secret(request.user)})
