"""Pages of the feedback app (results, reports, surveys, delivery, open data)."""

from django.urls import path

from feedback import views

urlpatterns = [
    path("rounds/<slug:slug>/results/", views.round_results, name="round_results"),
    path("rounds/<slug:slug>/report/", views.report, name="outcome_report"),
    path("rounds/<slug:slug>/report.<str:fmt>", views.report, name="outcome_report_file"),
    path("rounds/<slug:slug>/outcome/", views.outcome_manage, name="outcome_manage"),
    path("rounds/<slug:slug>/survey/", views.survey, name="outcome_survey"),
    path("rounds/<slug:slug>/survey/code/", views.survey_by_code, name="outcome_survey_code"),
    path("rounds/<slug:slug>/data/", views.open_data, name="open_data"),
    path("rounds/<slug:slug>/data/<str:name>", views.open_data_file, name="open_data_file"),
    path("projects/<int:pk>/delivery/", views.project_delivery, name="project_delivery"),
    path("projects/<int:pk>/follow/", views.project_follow, name="project_follow"),
]
