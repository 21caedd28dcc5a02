from django.urls import path

from feedback import api

urlpatterns = [
    path("rounds/<slug:slug>/results/", api.ResultsView.as_view(), name="api-round-results"),
    path("rounds/<slug:slug>/open-data/", api.OpenDataView.as_view(), name="api-open-data"),
    path("rounds/<slug:slug>/report/", api.ReportView.as_view(), name="api-outcome-report"),
]
