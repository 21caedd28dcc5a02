from django.contrib.auth import views as auth_views
from django.urls import path

from backend.accounts import views

urlpatterns = [
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/sent/", views.sign_up_sent, name="sign_up_sent"),
    path("confirm/<uidb64>/<token>/", views.confirm_email, name="confirm_email"),
    path("log-in/", auth_views.LoginView.as_view(), name="login"),
    path("profile/", views.profile, name="profile"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
