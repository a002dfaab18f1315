from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/ws-ticket", views.WsTicketView.as_view(), name="auth-ws-ticket"),
    path("users/profile", views.ProfileView.as_view(), name="users-profile"),
    path("users/settings", views.SettingsView.as_view(), name="users-settings"),
    path("users/api-keys", views.ApiKeyListView.as_view(), name="users-api-keys"),
    path("users/api-keys/<int:pk>", views.ApiKeyRevokeView.as_view(), name="users-api-key"),
]
