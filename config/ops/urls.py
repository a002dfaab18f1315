from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("metrics", views.metrics_view, name="metrics"),
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ready, name="health-ready"),
]
