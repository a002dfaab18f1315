from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("analysis", views.AnalysisCollectionView.as_view(), name="analysis-collection"),
    path("analysis/<str:jobId>", views.AnalysisDetailView.as_view(), name="analysis-detail"),
    path("analysis/<str:jobId>/results", views.AnalysisResultsView.as_view(), name="analysis-results"),
    path("analysis/<str:jobId>/cancel", views.AnalysisCancelView.as_view(), name="analysis-cancel"),
    path("files/upload", views.FileUploadView.as_view(), name="files-upload"),
    path("files/<str:fileId>", views.FileDetailView.as_view(), name="files-detail"),
    path("files/<str:fileId>/status", views.FileStatusView.as_view(), name="files-status"),
    path("files/<str:fileId>/download", views.FileDownloadView.as_view(), name="files-download"),
    path("models", views.ModelListView.as_view(), name="models-list"),
    path("models/<str:modelId>/status", views.ModelStatusView.as_view(), name="models-status"),
    path("models/<str:modelId>/metrics", views.ModelMetricsView.as_view(), name="models-metrics"),
]
