"""Pages for the Porto Alegre split: residents rank themes, managers configure, compute, override
and publish the split. HTTP only, the work is in services and selectors."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from backend.errors import DomainError, NotAllowed
from backend.forms import add_domain_error, render_form
from pb import rules
from pb.phases import Action, allows
from pb.rounds.selectors import get_visible_round
from pb.split import formula as split
from pb.split import services as split_services
from pb.split.forms import SplitCriterionForm, SplitOverrideForm, SplitThemeForm, ThemeRankingForm
from pb.split.models import DEFAULT_PRIORITY_POINTS


@login_required
def priorities(request: HttpRequest, slug: str) -> HttpResponse:
    round_ = get_visible_round(user=request.user, slug=slug, with_areas=True)
    positions = len(round_.priority_points or DEFAULT_PRIORITY_POINTS)
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
    return render_form(
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
    return render_form(request, "pb/round_split.html", context, error_form)
