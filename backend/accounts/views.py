from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from backend.accounts import services
from backend.accounts.forms import ProfileForm, SignUpForm
from backend.accounts.lockout import lockout_clear
from backend.accounts.models import Profile
from backend.errors import DomainError
from backend.forms import add_domain_error


def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_sign_up_request(
                email=data["email"],
                password=data["password1"],
                display_name=data["display_name"],
                home_area_id=data["home_area"].pk if data["home_area"] else None,
                birth_year=data["birth_year"],
                postcode=data["postcode"],
                age_band=data["age_band"],
                gender=data["gender"],
                ethnicity=data["ethnicity"],
                disability=data["disability"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            # The same page whether or not the address already had an account (issue 13):
            # only the e-mail differs, and only the address's owner reads it.
            return redirect("sign_up_sent")
    return render(
        request, "accounts/sign_up.html", {"form": form}, status=400 if form.errors else 200
    )


def sign_up_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/sign_up_sent.html")


def confirm_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link in the sign-up e-mail: activates the account and logs its owner in."""
    user = services.user_email_confirm(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "accounts/confirm_failed.html", status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request, _("Welcome! Your e-mail address is confirmed and your account is ready.")
    )
    return redirect("dashboard")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    instance = services.profile_for(request.user)  # type: ignore[arg-type]
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            # The form has already copied its data onto ``instance``; compare with the stored row.
            stored = Profile.objects.get(pk=instance.pk)
            recheck = services.profile_update(profile=stored, changes=form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your details are saved."))
            if recheck:
                messages.info(
                    request,
                    _(
                        "You changed where you live or your birth year, so the council will "
                        "check your details again before you vote with your account."
                    ),
                )
            return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(  # type: ignore[union-attr]
            read_at=timezone.now()
        )
    return redirect("dashboard")


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The language switcher on every page posts here (a plain form: no JavaScript needed).

    Django's own view checks ``next`` and sets the language cookie, which keeps the choice for
    a visitor; a signed-in person also has it stored on their account, so e-mails and other
    devices follow it.
    """
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(
            _("That language is not offered here. Go back and choose one from the list."),
            content_type="text/plain; charset=utf-8",
        )
    response = django_set_language(request)
    if request.user.is_authenticated:
        services.user_language_set(user=request.user, language=language)
    return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's own, and a new password set by the e-mailed link ends a log-in lock-out for
    that account (the person has shown they hold the address)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        lockout_clear(email=form.user.email)
        return response
