"""Pages for checking residents and for the council's register of residents: HTTP only, the work is
in services and selectors. Rounds, proposals and the split keep their pages in their own
packages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backend.accounts import rules as base_rules
from backend.accounts import selectors as account_selectors
from backend.accounts.models import Profile
from backend.errors import DomainError
from backend.forms import add_domain_error
from pb import rules, selectors
from pb.forms import RegisterImportForm, ResidentCheckForm
from pb.services import register as register_services
from pb.services import residents as resident_services
from pb.voting.models import RegisterEntry


@login_required
def residents_check(request: HttpRequest) -> HttpResponse:
    """Managers confirm residents' home area and age so they can vote with their account."""
    if not base_rules.manages_any_area(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = ResidentCheckForm(request.POST)
        if form.is_valid():
            profile = Profile.objects.filter(pk=form.cleaned_data["profile"]).first()
            if profile is None:
                messages.error(request, _("That resident is no longer waiting to be checked."))
                return redirect("residents_check")
            entry = None
            if form.cleaned_data["register_entry"]:
                entry = (
                    RegisterEntry.objects.select_related("area")
                    .filter(pk=form.cleaned_data["register_entry"])
                    .first()
                )
                if entry is None:
                    messages.error(request, _("That resident is no longer on the register."))
                    return redirect("residents_check")
            try:
                resident_services.profile_verify(
                    actor=request.user,
                    profile=profile,
                    confirmed=form.cleaned_data["decision"] == "confirm",
                    reason=form.cleaned_data["reason"],
                    seen=(form.cleaned_data["home_area"], form.cleaned_data["birth_year"])
                    if "home_area" in request.POST
                    else None,
                    register_entry=entry,
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                name = {"name": profile.user.display_name}
                if entry is not None:
                    text = _("%(name)s is checked and linked to the register.") % name
                elif form.cleaned_data["decision"] == "confirm":
                    text = _("%(name)s is checked.") % name
                else:
                    text = _("%(name)s has been told why not.") % name
                messages.success(request, text)
            return redirect("residents_check")
        if "register_entry" in form.errors:
            messages.error(request, _("Choose a resident on the register from the list."))
        else:
            messages.error(request, _("Choose confirm or decline."))
    waiting = list(
        account_selectors.profiles_to_check(user=request.user).select_related("user", "home_area")[
            :200
        ]
    )
    candidates = selectors.register_candidates(actor=request.user, profiles=waiting)
    return render(
        request,
        "pb/residents_check.html",
        {"waiting": waiting, "rows": [(p, candidates.get(p.pk, [])) for p in waiting]},
    )


@login_required
def register_import(request: HttpRequest) -> HttpResponse:
    """Managers import the register of the areas they manage from a CSV file and see which
    rows were refused and why."""
    if not rules.keeps_any_register(request.user):
        raise PermissionDenied
    report = None
    status = 200
    form = RegisterImportForm()
    if request.method == "POST":
        form = RegisterImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                register_services.check_size(upload.size)
                report = register_services.register_import(
                    actor=request.user, source=upload.read(register_services.MAX_BYTES + 1)
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = 400
        else:
            status = 400
    return render(
        request,
        "pb/register_import.html",
        {"form": form, "report": report, "refused": report.refused[:500] if report else []},
        status=status,
    )


@login_required
@require_POST
def register_match(request: HttpRequest) -> HttpResponse:
    """Check the waiting accounts against the register at once; the rest stay on the page."""
    if not rules.keeps_any_register(request.user):
        raise PermissionDenied
    report = register_services.register_match(actor=request.user)
    messages.success(
        request,
        " ".join(
            (
                ngettext(
                    "%(n)s account matched the register and is checked.",
                    "%(n)s accounts matched the register and are checked.",
                    report.matched,
                )
                % {"n": report.matched},
                ngettext(
                    "%(n)s is left to check by hand.",
                    "%(n)s are left to check by hand.",
                    report.unmatched,
                )
                % {"n": report.unmatched},
            )
        ),
    )
    return redirect("residents_check")
