"""Pages of the deliberation app (rooms, venue screen)."""

from django.urls import URLPattern, path

from deliberation import views

urlpatterns: list[URLPattern] = [
    path("rounds/<slug:slug>/rooms/", views.room_list, name="room_list"),
    path("rooms/<int:pk>/", views.room_detail, name="room_detail"),
    path("rooms/<int:pk>/act/", views.room_act, name="room_act"),
    path("rooms/<int:pk>/screen/", views.room_screen, name="room_screen"),
]
