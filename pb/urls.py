from django.urls import path

from pb import views

urlpatterns = [
    path("rounds/<slug:slug>/", views.round_detail, name="round_detail"),
]
