"""Pages for rounds: a round's page, a new round, managing it and its audit log. HTTP only, the
work is in services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.errors import DomainError, NotAllowed
from backend.exports import csv_writer
from backend.forms import add_domain_error, render_form
from pb import rules, selectors
from pb.areas.models import Area
from pb.phases import Action, allows
from pb.proposals import selectors as proposal_selectors
from pb.proposals.forms import (
    ProposalFilterForm,
)
from pb.rounds import services as round_services
from pb.rounds.forms import AdvancePhaseForm, RoundForm, RoundRulesForm, TimetableForm
from pb.rounds.models import Round, UnspentMoney
from pb.rounds.selectors import get_visible_round
from pb.split import services as split_services
from pb.voting import rules as voting_rules
from pb.voting import selectors as voting_selectors


def _vote_refusal(user: Any, round_: Round) -> str:
    """Why a signed-in person cannot vote with their account in this open round, or ""."""
    from pb.voting.services.casting import account_eligibility

    if not user.is_authenticated or not allows(round_.phase, Action.VOTE):
        return ""
    try:
        account_eligibility(round_, user, None, timezone.localdate())
    except DomainError as exc:
        return exc.message
    return ""


def round_detail(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    filters = ProposalFilterForm(request.GET or None, round=round_)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    proposals = proposal_selectors.proposal_list_for_round(
        round=round_,
        area=criteria.get("area"),
        theme=criteria.get("theme"),
        q=criteria.get("q", ""),
    )
    context = {
        "round": round_,
        "windows": round_.phase_windows.all(),
        "filters": filters,
        "proposals": proposals,
        "can_submit": allows(round_.phase, Action.SUBMIT),
        "can_rank": allows(round_.phase, Action.RANK_THEMES),
        # Said beside the buttons, so nobody fills in a form that will refuse them.
        "rank_refusal": (
            split_services.themes_rank_refusal(actor=request.user, round=round_)
            if request.user.is_authenticated and allows(round_.phase, Action.RANK_THEMES)
            else ""
        ),
        "voted": voting_selectors.has_voted(round=round_, user=request.user),
        "vote_refusal": _vote_refusal(request.user, round_),
        "can_manage": rules.can_manage_round(request.user, round_),
        "can_run_event": voting_rules.can_open_event_desk(request.user, round_),
        "room_count": round_.rooms.count(),
        "outcomes": proposal_selectors.proposal_outcomes(round=round_),
        "round_areas": round_.round_areas.select_related("area"),
        "map_points": [
            {
                "lat": float(p.latitude),
                "lng": float(p.longitude),
                "title": p.title,
                "url": reverse("proposal_detail", args=[p.pk]),
            }
            for p in proposals
            if p.latitude is not None and p.longitude is not None and not p.hidden
        ],
    }
    return render(request, "pb/round_detail.html", context)


@login_required
def round_new(request: HttpRequest) -> HttpResponse:
    if not base_rules.manages_any_area(request.user):
        raise PermissionDenied
    areas = (
        Area.objects.all()
        if base_rules.is_admin(request.user)
        else request.user.managed_areas.all()
    )
    form = RoundForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["min_share"] = data.get("min_share") or 0
        data["unspent_money"] = data.get("unspent_money") or UnspentMoney.CARRY
        try:
            round_ = round_services.round_create(actor=request.user, **data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The round is created. Set its timetable and rules next."))
            return redirect("round_manage", slug=round_.slug)
    return render_form(request, "pb/round_form.html", {"form": form}, form)


@login_required
def round_manage(request: HttpRequest, slug: str) -> HttpResponse:
    """The manager's desk for a round: timetable, moving phases on, rules, review queues."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_manage_round
    )
    refused = False
    posted = request.POST if request.method == "POST" else {}
    rules_form = RoundRulesForm(
        request.POST if "save_rules" in posted else None,
        initial={f: getattr(round_, f) for f in RoundRulesForm.base_fields if f != "reason"},
    )
    phase_form = AdvancePhaseForm(request.POST if "advance" in posted else None, round=round_)
    timetable_form = TimetableForm(
        request.POST if "save_timetable" in posted else None, round=round_
    )
    bound: Any = next((f for f in (rules_form, phase_form, timetable_form) if f.is_bound), None)
    if bound is not None and bound.is_valid():
        try:
            if bound is rules_form:
                data = dict(rules_form.cleaned_data)
                reason = data.pop("reason")
                data["min_share"] = data.get("min_share") or 0
                data["unspent_money"] = data.get("unspent_money") or round_.unspent_money
                changed = {k: v for k, v in data.items() if getattr(round_, k) != v}
                round_services.round_update_rules(
                    actor=request.user, round=round_, reason=reason, **changed
                )
                messages.success(request, _("The rules are saved."))
            elif bound is phase_form:
                round_services.round_advance_phase(
                    actor=request.user,
                    round=round_,
                    to_phase=phase_form.cleaned_data["to_phase"],
                    reason=phase_form.cleaned_data["reason"],
                )
                messages.success(request, _("The round has moved on."))
            else:
                round_services.round_set_phase_windows(
                    actor=request.user, round=round_, windows=timetable_form.windows()
                )
                messages.success(request, _("The timetable is saved."))
            return redirect("round_manage", slug=slug)
        except NotAllowed as exc:
            # Said at the top of the page: a frozen round shows no forms to put it on.
            messages.error(request, exc.message)
            refused = True
        except DomainError as exc:
            add_domain_error(bound, exc)
    counts = proposal_selectors.review_counts(round=round_)
    # Only the queues this person may open are links: a link that answers 403 is a dead end.
    areas = [
        (
            ra,
            counts.get(ra.area_id, {"waiting": 0, "decided": 0}),
            rules.can_manage_area(request.user, ra.area),
        )
        for ra in round_.round_areas.select_related("area")
    ]
    context = {
        "round": round_,
        "rules_form": rules_form,
        "phase_form": phase_form,
        "timetable_form": timetable_form,
        "areas": areas,
        "frozen": not allows(round_.phase, Action.EDIT_RULES),
        "can_change": rules.can_change_round(request.user, round_),
    }
    if refused:
        return render(request, "pb/round_manage.html", context, status=403)
    return render_form(request, "pb/round_manage.html", context, bound)


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_read_audit
    )
    entries = selectors.audit_for_round(round=round_)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{round_.slug}.csv"'
        writer = csv_writer(response)
        writer.writerow(["when", "who", "action", "proposal", "area", "reason", "details"])
        for e in entries:
            writer.writerow(
                [
                    e.at.isoformat(),
                    e.actor.email if e.actor else "system",
                    e.action,
                    e.proposal.title if e.proposal else "",
                    e.area.name if e.area else "",
                    e.reason,
                    e.details,
                ]
            )
        return response
    return render(request, "pb/audit_log.html", {"round": round_, "entries": entries[:500]})
