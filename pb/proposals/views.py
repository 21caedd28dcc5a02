"""Pages for proposals: proposing, editing, supporting, reviewing, hiding and translating them.
HTTP only, the work is in services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from backend.errors import DomainError
from backend.forms import add_domain_error, render_form
from pb import rules
from pb.phases import Action, allows
from pb.proposals import selectors as proposal_selectors
from pb.proposals import services as proposal_services
from pb.proposals.forms import (
    HideForm,
    ProposalForm,
    ProposalTranslationForm,
    ReviewForm,
)
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import Round
from pb.rounds.selectors import get_visible_round


def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(
        Proposal.objects.select_related("round", "area", "theme", "author", "merged_into"), pk=pk
    )
    if not rules.can_see_proposal(request.user, proposal):
        raise Http404
    proposal_services.details_read_record(actor=request.user, round=proposal.round)
    context = {
        "proposal": proposal,
        "round": proposal.round,
        "events": proposal.events.all(),
        "is_author": rules.is_author(request.user, proposal),
        "can_review": rules.can_review(request.user, proposal),
        "can_edit": rules.is_author(request.user, proposal)
        and allows(proposal.round.phase, Action.EDIT_OWN)
        and proposal.status in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED),
        "can_withdraw": rules.is_author(request.user, proposal)
        and allows(proposal.round.phase, Action.WITHDRAW)
        and proposal.status not in (ProposalStatus.WITHDRAWN, ProposalStatus.MERGED),
        "can_support": allows(proposal.round.phase, Action.SUPPORT)
        and proposal.status == ProposalStatus.SUBMITTED,
        "supports": proposal_selectors.has_supported(user=request.user, proposal=proposal),
        "hide_form": HideForm(),
        "translations": proposal.translations.all(),
        "translation_form": ProposalTranslationForm(proposal=proposal),
        "outcome": proposal_selectors.proposal_outcomes(round=proposal.round).get(proposal.pk),
    }
    return render(request, "pb/proposal_detail.html", context)


@login_required
@require_POST
def proposal_translate(request: HttpRequest, pk: int) -> HttpResponse:
    """An area manager adds the proposal's title and summary in another language."""
    proposal = get_object_or_404(Proposal.objects.select_related("round", "area"), pk=pk)
    if not rules.can_review(request.user, proposal):
        raise PermissionDenied
    form = ProposalTranslationForm(request.POST, proposal=proposal)
    if form.is_valid():
        try:
            proposal_services.proposal_translation_set(
                actor=request.user, proposal=proposal, **form.cleaned_data
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The translation is saved."))
            return redirect("proposal_detail", pk=pk)
    return render(
        request,
        "pb/proposal_translate.html",
        {"proposal": proposal, "round": proposal.round, "form": form},
        status=400,
    )


@login_required
def proposal_new(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    form = ProposalForm(
        request.POST or None,
        request.FILES or None,
        round=round_,
        initial=_home_area(request.user, round_),
    )
    if request.method == "POST" and form.is_valid():
        try:
            proposal = proposal_services.proposal_create(
                author=request.user,
                round=round_,
                submit="save_draft" not in request.POST,
                **form.service_kwargs(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Your proposal is saved.")
                if proposal.status == ProposalStatus.DRAFT
                else _("Thank you: your proposal is submitted."),
            )
            return redirect("proposal_detail", pk=proposal.pk)
    return render_form(request, "pb/proposal_form.html", {"form": form, "round": round_}, form)


def _home_area(user: Any, round_: Round) -> dict[str, Any]:
    profile = getattr(user, "profile", None)
    if profile and profile.home_area and round_.areas.filter(pk=profile.home_area_id).exists():
        return {"area": profile.home_area}
    return {}


@login_required
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("round"), pk=pk)
    if not rules.is_author(request.user, proposal):
        raise PermissionDenied
    initial = {
        f: getattr(proposal, f)
        for f in (
            "title",
            "description",
            "area",
            "theme",
            "estimated_cost",
            "latitude",
            "longitude",
            "image_alt",
            "group_name",
            "group_contact",
        )
    }
    form = ProposalForm(
        request.POST or None, request.FILES or None, round=proposal.round, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            proposal_services.proposal_update(
                actor=request.user,
                proposal=proposal,
                submit="submit" in request.POST,
                **form.service_kwargs(),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("proposal_detail", pk=proposal.pk)
    return render_form(
        request,
        "pb/proposal_form.html",
        {"form": form, "round": proposal.round, "proposal": proposal},
        form,
    )


@login_required
@require_POST
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=pk)
    try:
        proposal_services.proposal_withdraw(
            actor=request.user, proposal=proposal, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your proposal is withdrawn."))
    return redirect("proposal_detail", pk=pk)


@login_required
@require_POST
def proposal_support(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=pk)
    withdraw = "withdraw" in request.POST
    try:
        if withdraw:
            proposal_services.proposal_support_withdraw(actor=request.user, proposal=proposal)
        else:
            proposal_services.proposal_support(actor=request.user, proposal=proposal)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Your support is withdrawn.") if withdraw else _("Thank you for your support."),
        )
    return redirect("proposal_detail", pk=pk)


@login_required
def proposal_review(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("round", "area"), pk=pk)
    if not rules.can_review(request.user, proposal):
        raise PermissionDenied
    form = ReviewForm(
        request.POST or None, proposal=proposal, initial={"council_cost": proposal.estimated_cost}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal_services.proposal_review(
                actor=request.user,
                proposal=proposal,
                decision=data["decision"],
                reason=data["reason"],
                council_cost=data["council_cost"],
                merged_into=data["merged_into"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request, _("Decision recorded for “%(title)s”.") % {"title": proposal.title}
            )
            return redirect("review_queue", slug=proposal.round.slug, area=proposal.area.slug)
    return render_form(
        request,
        "pb/review_form.html",
        {
            "form": form,
            "proposal": proposal,
            "area_money": proposal_services.area_money(proposal),
        },
        form,
    )


@login_required
@require_POST
def proposal_hide(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("round", "area"), pk=pk)
    form = HideForm(request.POST)
    form.is_valid()
    try:
        proposal_services.proposal_hide(
            actor=request.user,
            proposal=proposal,
            reason=form.cleaned_data.get("reason", ""),
            image_only=form.cleaned_data.get("image_only", False),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Hidden, with your reason shown in its place."))
    return redirect("proposal_detail", pk=pk)


@login_required
def review_queue(request: HttpRequest, slug: str, area: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    area_obj = get_object_or_404(round_.areas, slug=area)
    if not rules.can_manage_area(request.user, area_obj):
        raise PermissionDenied
    shortlist, below = proposal_selectors.review_shortlist(round=round_, area=area_obj)
    return render(
        request,
        "pb/review_queue.html",
        {
            "round": round_,
            "area": area_obj,
            "queue": shortlist,
            "below": below,
            "in_review": allows(round_.phase, Action.REVIEW),
        },
    )
