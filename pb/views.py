"""Pages for rounds and proposals: HTTP only, the work is in services and selectors."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from backend.accounts import rules as base_rules
from backend.accounts import selectors as account_selectors
from backend.accounts.models import Profile
from backend.errors import DomainError, NotAllowed
from backend.exports import csv_writer
from backend.forms import add_domain_error
from pb import rules, selectors
from pb.areas.models import Area
from pb.forms import RegisterImportForm, ResidentCheckForm
from pb.phases import Action, allows
from pb.proposals import selectors as proposal_selectors
from pb.proposals import services as proposal_services
from pb.proposals.forms import (
    HideForm,
    ProposalFilterForm,
    ProposalForm,
    ProposalTranslationForm,
    ReviewForm,
)
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds import services as round_services
from pb.rounds.forms import AdvancePhaseForm, RoundForm, RoundRulesForm, TimetableForm
from pb.rounds.models import Round, UnspentMoney
from pb.rounds.selectors import get_visible_round
from pb.services import register as register_services
from pb.services import residents as resident_services
from pb.split import formula as split
from pb.split import services as split_services
from pb.split.forms import SplitCriterionForm, SplitOverrideForm, SplitThemeForm, ThemeRankingForm
from pb.voting import rules as voting_rules
from pb.voting import selectors as voting_selectors
from pb.voting.models import RegisterEntry


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], form: Any = None
) -> HttpResponse:
    status = 400 if form is not None and form.is_bound and form.errors else 200
    return render(request, template, context, status=status)


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
    return _render(request, "pb/proposal_form.html", {"form": form, "round": round_}, form)


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
    return _render(
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
    return _render(
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
    return _render(request, "pb/round_form.html", {"form": form}, form)


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
    return _render(request, "pb/round_manage.html", context, bound)


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


@login_required
def priorities(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    positions = len(round_.priority_points or split_services.DEFAULT_PRIORITY_POINTS)
    form = ThemeRankingForm(request.POST or None, positions=positions)
    if request.method == "POST" and form.is_valid():
        try:
            split_services.themes_rank(
                actor=request.user, round=round_, themes=form.ordered_themes()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Thank you: your priorities are recorded."))
            return redirect("round_detail", slug=slug)
    refusal = (
        split_services.themes_rank_refusal(actor=request.user, round=round_)
        if request.user.is_authenticated
        else ""
    )
    return _render(
        request,
        "pb/priorities.html",
        {"round": round_, "form": form, "refusal": refusal},
        form,
    )


SPLIT_LABELS = {"population": "Population", "need": "Need index", "priority": "Residents' priority"}


@login_required
def round_split(request: HttpRequest, slug: str) -> HttpResponse:
    """Configure, compute, adjust and publish the Porto Alegre split of a city round."""
    round_ = get_visible_round(
        user=request.user, slug=slug, with_areas=True, may=rules.can_manage_round
    )
    stored = {c["key"]: c for c in (round_.split_config or {}).get("criteria", [])}
    preset = {c["key"]: c for c in split.criteria_to_config(split.PORTO_ALEGRE_PRESET)}
    # Before anything is stored, offer the whole-round preset (population and need): the
    # priority criterion needs a theme chosen first, so offering it made the defaults fail.
    source = stored or {
        c["key"]: c for c in split.criteria_to_config(split.PORTO_ALEGRE_ROUND_PRESET)
    }
    posting = request.method == "POST" and "configure" in request.POST
    criterion_forms = []
    for key in split_services.SPLIT_CRITERIA:
        spec = source.get(key) or preset[key]
        criterion_forms.append(
            (
                key,
                SPLIT_LABELS[key],
                SplitCriterionForm(
                    request.POST if posting else None,
                    prefix=key,
                    initial={
                        "use": key in source,
                        "weight": f"{float(Fraction(spec['weight'])):g}",
                    },
                    bands=spec["bands"],
                ),
            )
        )
    theme_form = SplitThemeForm(
        request.POST if posting else None,
        initial={"theme": (round_.split_config or {}).get("theme")},
    )
    override_form = SplitOverrideForm(
        request.POST if "override" in request.POST else None, round=round_
    )
    error_form: Any = None
    status = 0
    if request.method == "POST":
        try:
            if posting:
                valid = theme_form.is_valid() and all(f.is_valid() for _, _, f in criterion_forms)
                if valid:
                    criteria = [
                        {
                            "key": key,
                            "label": label,
                            "weight": str(Fraction(f.cleaned_data["weight"])),
                            "bands": f.cleaned_data["bands"],
                        }
                        for key, label, f in criterion_forms
                        if f.cleaned_data["use"]
                    ]
                    split_services.split_configure(
                        actor=request.user,
                        round=round_,
                        criteria=criteria,
                        theme=theme_form.cleaned_data["theme"],
                    )
                    split_services.split_compute(actor=request.user, round=round_)
                    messages.success(request, _("The split is computed. Check it, then publish."))
                    return redirect("round_split", slug=slug)
                error_form = next((f for _, _, f in criterion_forms if f.errors), theme_form)
            elif "override" in request.POST:
                if override_form.is_valid():
                    data = override_form.cleaned_data
                    split_services.split_override(
                        actor=request.user,
                        round=round_,
                        area=data["area"],
                        amount=data["amount"],
                        reason=data["reason"],
                    )
                    messages.success(request, _("The amount is changed and the reason recorded."))
                    return redirect("round_split", slug=slug)
                error_form = override_form
            elif "publish" in request.POST:
                split_services.split_publish(actor=request.user, round=round_)
                messages.success(request, _("The split is published on the round's page."))
                return redirect("round_split", slug=slug)
        except DomainError as exc:
            if isinstance(exc, NotAllowed) or "publish" in request.POST:
                # At the top of the page: a fixed split shows no forms, publishing has none.
                messages.error(request, exc.message)
                status = exc.status
            else:
                target = override_form if "override" in request.POST else theme_form
                add_domain_error(target, exc)
                error_form = target
    round_.refresh_from_db()
    context = {
        "round": round_,
        "criterion_forms": criterion_forms,
        "theme_form": theme_form,
        "override_form": override_form,
        "split": round_.split_result,
        "editable": allows(round_.phase, Action.SPLIT),
        "can_change": rules.can_change_round(request.user, round_),
    }
    if status:
        return render(request, "pb/round_split.html", context, status=status)
    return _render(request, "pb/round_split.html", context, error_form)


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
