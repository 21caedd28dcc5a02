"""Input for outcome feedback pages: fields and their labels only; services validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import DeliveryStatus, NI4Answer
from pb.money import parse_money

SATISFACTION = [
    ("5", _("5 – very satisfied")),
    ("4", _("4 – fairly satisfied")),
    ("3", _("3 – neither satisfied nor dissatisfied")),
    ("2", _("2 – fairly dissatisfied")),
    ("1", _("1 – very dissatisfied")),
]


class SurveyForm(forms.Form):
    influence = forms.ChoiceField(
        label=_(
            "Do you agree or disagree that you can influence decisions affecting your local area?"
        ),
        choices=NI4Answer.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with how this round was run?"),
        choices=SATISFACTION,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    comment = forms.CharField(
        label=_("Anything else you want to tell us?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )


class SurveyCodeForm(SurveyForm):
    """The survey for a voter without an account: the code from their receipt or slip first."""

    code = forms.CharField(
        label=_("Survey code"),
        max_length=40,
        help_text=_(
            "Printed on your receipt (voter code or kiosk) or on the slip you were given with "
            "your paper ballot, for example ABCD-EFGH. It answers the survey once."
        ),
    )
    field_order = ["code", "influence", "satisfaction", "comment"]


class MilestoneForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=DeliveryStatus.choices)
    date = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        # A date picker shows the date in the reader's own format; an example in one format
        # ("14/3/2027") contradicted it.
        help_text=_("The day this step happened or is planned for."),
    )
    spend = forms.CharField(
        label=_("Spent so far, in pounds"), required=False, help_text=_("For example 12,500.50.")
    )
    note = forms.CharField(
        label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    delay_reason = forms.CharField(
        label=_("Why it is delayed"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Needed when the status is Delayed."),
    )
    photo = forms.ImageField(label=_("Photo"), required=False)
    photo_alt = forms.CharField(label=_("Describe the photo"), max_length=200, required=False)

    def clean_spend(self) -> int:
        text = self.cleaned_data.get("spend") or "0"
        negative = text.strip().startswith("-")
        try:
            value = parse_money(text.strip().lstrip("-"))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return -value if negative else value

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class CommentaryForm(forms.Form):
    commentary = forms.CharField(
        label=_("Manager's commentary"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_("Shown in the councillors' report after the figures."),
    )
