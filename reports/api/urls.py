from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("results/<str:resultId>/export", views.ResultExportView.as_view(), name="results-export"),
    path("reports", views.ReportCollectionView.as_view(), name="reports-collection"),
    path("reports/<str:reportId>", views.ReportDetailView.as_view(), name="reports-detail"),
    path("reports/<str:reportId>/download", views.ReportDownloadView.as_view(), name="reports-download"),
    path("analytics", views.AnalyticsView.as_view(), name="analytics"),
]
