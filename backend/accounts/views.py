from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import services
from backend.accounts.forms import ProfileForm, SignUpForm
from backend.errors import DomainError
from backend.forms import add_domain_error


def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_sign_up(
                email=data["email"],
                password=data["password1"],
                display_name=data["display_name"],
                home_area=data["home_area"],
                birth_year=data["birth_year"],
                age_band=data["age_band"],
                gender=data["gender"],
                ethnicity=data["ethnicity"],
                disability=data["disability"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("dashboard")
    return render(
        request, "accounts/sign_up.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    instance = services.profile_for(request.user)  # type: ignore[arg-type]
    form = ProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            services.validate_birth_year(form.cleaned_data.get("birth_year"))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            form.save()
            messages.success(request, _("Your details are saved."))
            return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(  # type: ignore[union-attr]
            read_at=timezone.now()
        )
    return redirect("dashboard")
