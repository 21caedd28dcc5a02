"""Input for round pages: a new round, its rules, timetable and phase. Validation of domain rules
stays in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.fields import AreaTreeMultipleChoiceField
from pb.areas.models import Area
from pb.forms import MoneyField, needed
from pb.phases import SCHEDULED_PHASES, phases_after
from pb.rounds.models import (
    MAX_SUPPORT_THRESHOLD,
    SUPPORT_THRESHOLD_HELP,
    UNSPENT_MONEY_HELP,
    BallotType,
    CountingRule,
    Round,
    RoundStyle,
    UnspentMoney,
)


class AdvancePhaseForm(forms.Form):
    to_phase = forms.ChoiceField(label=_("Move the round to"), choices=[])
    reason = needed(
        forms.CharField(
            label=_("Why now? (goes in the public record)"), widget=forms.Textarea, required=False
        )
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand this cannot be undone, and that from voting on the budget, "
            "rules and shortlist are fixed."
        ),
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        later = phases_after(round.phase)
        self.fields["to_phase"].choices = [(p.value, p.label) for p in later]  # type: ignore[attr-defined]


def _unspent_money_field() -> forms.Field:
    # Not required: one choice is always ticked, and a post without it (an older form, a
    # script) keeps the round's setting or the default. ``needed`` drops the "(optional)"
    # marker; no aria-required, which a radio button may not carry.
    field = forms.ChoiceField(
        label=_("Money an area leaves unspent"),
        choices=UnspentMoney.choices,
        widget=forms.RadioSelect,
        initial=UnspentMoney.CARRY,
        help_text=UNSPENT_MONEY_HELP,
        required=False,
    )
    field.needed = True  # type: ignore[attr-defined]
    return field


class _RoundRules(forms.Form):
    """A round's rules as a manager sets them: the same fields on a new round's form and on the
    round's manage page (each form adds its own and puts them in its order)."""

    min_age = forms.IntegerField(label=_("Minimum age to vote"), min_value=0, max_value=120)
    require_residence = forms.BooleanField(label=_("Voters must live in the area"), required=False)
    voter_codes_enabled = forms.BooleanField(
        label=_("Allow voting with a code from a letter"), required=False
    )
    anonymous_codes = forms.BooleanField(
        label=_("Allow codes for nobody in particular, to hand out at an event's door"),
        help_text=_(
            "Without this, voter codes are made only for residents on the register, so each "
            "person votes once whatever the channel."
        ),
        required=False,
    )
    ballot_type = forms.ChoiceField(label=_("Ballot"), choices=BallotType.choices)
    rule = forms.ChoiceField(label=_("Counting rule"), choices=CountingRule.choices)
    min_share = forms.DecimalField(
        label=_("Minimum share of voters (threshold rule only)"),
        min_value=0,
        max_value=1,
        decimal_places=4,
        required=False,
    )
    unspent_money = _unspent_money_field()
    support_threshold = forms.IntegerField(
        label=_("Supports needed to go forward to review"),
        min_value=1,
        max_value=MAX_SUPPORT_THRESHOLD,
        required=False,
        help_text=SUPPORT_THRESHOLD_HELP,
        error_messages={
            "min_value": _("Give 1 or more, or leave it empty."),
            "max_value": _("Give at most %(limit_value)s, or leave it empty."),
        },
    )


class RoundForm(_RoundRules):
    name = forms.CharField(label=_("Name"), max_length=160)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    style = forms.ChoiceField(
        label=_("Kind of round"),
        choices=RoundStyle.choices,
        widget=forms.RadioSelect,
        initial=RoundStyle.CITY,
    )
    budget = MoneyField(label=_("Total budget in pounds"))
    # The council's areas as the tree they are: a ward's neighbourhoods grouped under it.
    areas = AreaTreeMultipleChoiceField(
        label=_("Areas taking part"),
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    field_order = ["name", "description", "style", "budget", "areas"]

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = areas  # type: ignore[attr-defined]
        # A new round starts from the usual rules.
        self.fields["min_age"].initial = 16
        self.fields["require_residence"].initial = True
        self.fields["min_share"].initial = 0
        self.fields["min_share"].label = _("Minimum share of voters (threshold rule only, 0 to 1)")


class RoundRulesForm(_RoundRules):
    budget = MoneyField(label=_("Total budget in pounds"))
    reason = needed(
        forms.CharField(
            label=_("Why the change? (goes in the record)"), widget=forms.Textarea, required=False
        )
    )
    field_order = ["budget"]


class TimetableForm(forms.Form):
    """Start and end of each phase a round uses; leave both blank for a phase it skips."""

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        windows = {w.phase: w for w in round.phase_windows.all()}
        initial = {}
        for phase in SCHEDULED_PHASES:
            if phase in windows:
                initial[f"{phase}_start"] = timezone.localtime(windows[phase].starts_at)
                initial[f"{phase}_end"] = timezone.localtime(windows[phase].ends_at)
        kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        for phase in SCHEDULED_PHASES:
            widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
            self.fields[f"{phase}_start"] = forms.DateTimeField(
                label=_("%(phase)s: starts") % {"phase": phase.label},
                required=False,
                widget=widget,
            )
            self.fields[f"{phase}_end"] = forms.DateTimeField(
                label=_("%(phase)s: ends") % {"phase": phase.label},
                required=False,
                widget=widget,
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for phase in SCHEDULED_PHASES:
            start, end = data.get(f"{phase}_start"), data.get(f"{phase}_end")
            if bool(start) != bool(end):
                self.add_error(
                    f"{phase}_end" if start else f"{phase}_start",
                    _("Give both the start and the end, or neither."),
                )
        return data

    def windows(self) -> list[tuple[str, Any, Any]]:
        data = self.cleaned_data
        return [
            (phase.value, data[f"{phase}_start"], data[f"{phase}_end"])
            for phase in SCHEDULED_PHASES
            if data.get(f"{phase}_start") and data.get(f"{phase}_end")
        ]
