"""Auth (JWT login/refresh/logout), profile, settings and the caller's own API keys."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from analysis import audit
from analysis.api.errors import BadRequestSerializer, ErrorSerializer, TooManyRequestsSerializer
from config.throttling import AuthIPThrottle

from .. import tickets
from ..models import ApiKey, User
from .serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    LogoutSerializer,
    ProfileSerializer,
    TokenPairSerializer,
    UserSettingsSerializer,
    WsTicketRequestSerializer,
    WsTicketSerializer,
)

E400 = OpenApiResponse(BadRequestSerializer, "Invalid request")
E401 = OpenApiResponse(ErrorSerializer, "Authentication required")
E404 = OpenApiResponse(ErrorSerializer, "Resource not found")
E429 = OpenApiResponse(TooManyRequestsSerializer, "Rate limit exceeded")


class LoginView(TokenObtainPairView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthIPThrottle]

    @extend_schema(tags=["Authentication"], summary="Log in: username + password -> access and refresh JWTs",
                   responses={200: TokenPairSerializer, 400: E400, 401: E401, 429: E429})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            user = User.objects.filter(username=request.data.get("username")).first()
            audit.record("login", f"{getattr(user, 'username', '?')} logged in (JWT)", request=request, user=user,
                         method="jwt")
        return response


class RefreshView(TokenRefreshView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthIPThrottle]

    @extend_schema(tags=["Authentication"], summary="Exchange a refresh token for a new pair (the old one is revoked)",
                   responses={200: TokenPairSerializer, 400: E400, 401: E401, 429: E429})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["Authentication"], summary="Log out: revoke (blacklist) a refresh token",
                   request=LogoutSerializer, responses={204: None, 400: E400, 401: E401})
    def post(self, request: Request) -> Response:
        body = LogoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            token = RefreshToken(body.validated_data["refresh"])
        except TokenError as exc:
            raise ValidationError({"refresh": [str(exc)]}) from exc
        if str(token.get("user_id")) != str(request.user.pk):
            raise ValidationError({"refresh": ["This refresh token belongs to another user."]})
        token.blacklist()
        audit.record("logout", f"{request.user.username} logged out", request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["Users"], responses={200: ProfileSerializer, 400: E400, 401: E401})
class ProfileView(generics.RetrieveUpdateAPIView[User]):
    serializer_class = ProfileSerializer
    http_method_names = ["get", "put", "head", "options"]

    def get_object(self) -> User:
        return self.request.user  # type: ignore[return-value]


class SettingsView(APIView):
    serializer_class = UserSettingsSerializer

    @extend_schema(tags=["Users"], responses={200: UserSettingsSerializer, 401: E401})
    def get(self, request: Request) -> Response:
        return Response(UserSettingsSerializer.current(request.user.settings))

    @extend_schema(tags=["Users"], request=UserSettingsSerializer,
                   responses={200: UserSettingsSerializer, 400: E400, 401: E401})
    def patch(self, request: Request) -> Response:
        body = UserSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        user = request.user
        merged = UserSettingsSerializer.merge(user.settings, body.validated_data)
        user.settings = merged
        user.save(update_fields=["settings", "updated_at"])
        return Response(merged)


@extend_schema(tags=["Users"])
class ApiKeyListView(generics.ListCreateAPIView[ApiKey]):
    serializer_class = ApiKeySerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return ApiKey.objects.filter(user=self.request.user)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer, 400: E400, 401: E401})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ApiKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key, raw = ApiKey.issue(request.user, body.validated_data["name"],  # type: ignore[arg-type]
                                expires_at=body.validated_data.get("expires_at"))
        audit.record("api_key_created", f"API key {key.name!r} ({key.prefix}) created", request=request,
                     key_id=key.pk, prefix=key.prefix)
        data = ApiKeyCreatedSerializer(key).data
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["Users"], responses={204: None, 401: E401, 404: E404})
class ApiKeyRevokeView(generics.DestroyAPIView[ApiKey]):
    serializer_class = ApiKeySerializer

    def get_queryset(self) -> Any:
        return ApiKey.objects.filter(user=self.request.user)

    def perform_destroy(self, instance: ApiKey) -> None:
        instance.revoke()  # keep the row: last_used_at and the audit trail stay readable
        audit.record("api_key_revoked", f"API key {instance.name!r} ({instance.prefix}) revoked",
                     request=self.request, key_id=instance.pk, prefix=instance.prefix)


class WsTicketView(APIView):
    """Trade a JWT or API key for a short-lived, single-use ticket to open a live-progress WebSocket."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["Authentication"], summary="A single-use ticket for /ws/analysis/{jobId} (and SSE)",
                   description="Browsers cannot send headers on a WebSocket, and a long-lived token must never sit "
                               "in a URL: connect to `/ws/analysis/{jobId}?ticket=...` within `expires_in` "
                               "seconds. The ticket works once. Another user's job id is a 404.",
                   request=WsTicketRequestSerializer, responses={201: WsTicketSerializer, 400: E400, 401: E401,
                                                                 404: E404})
    def post(self, request: Request) -> Response:
        from analysis.models import AnalysisJob

        body = WsTicketRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job_id = body.validated_data.get("job_id")
        if job_id is not None and not AnalysisJob.objects.visible_to(request.user).filter(pk=job_id).exists():
            raise NotFound()
        raw = tickets.issue(request.user, job_id)
        return Response({"ticket": raw, "expires_in": tickets.ttl(), "job_id": job_id,
                         "websocket": f"/ws/analysis/{job_id}?ticket={raw}" if job_id else None},
                        status=status.HTTP_201_CREATED)
