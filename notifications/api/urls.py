from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("webhooks", views.WebhookCollectionView.as_view(), name="webhooks-collection"),
    path("webhooks/sms-secret", views.SmsSecretView.as_view(), name="webhooks-sms-secret"),
    path("webhooks/<str:webhookId>", views.WebhookDetailView.as_view(), name="webhooks-detail"),
    path("webhooks/<str:webhookId>/test", views.WebhookTestView.as_view(), name="webhooks-test"),
    path("webhooks/<str:webhookId>/deliveries", views.WebhookDeliveriesView.as_view(), name="webhooks-deliveries"),
]
