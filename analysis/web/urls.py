from __future__ import annotations

from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.job_list, name="jobs"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("upload/", views.upload, name="upload"),
    path("jobs/<str:job_id>/", views.job_detail, name="job"),
    path("jobs/<str:job_id>/media", views.job_media, name="job-media"),
    path("jobs/<str:job_id>/cancel", views.job_cancel, name="job-cancel"),
    path("analytics/", views.analytics, name="analytics"),
    path("models/", views.models, name="models"),
    path("health/", views.health, name="health"),
]
