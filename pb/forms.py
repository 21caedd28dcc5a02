"""Form fields every sub-domain of pb shares (money in pounds, a reason the service requires),
and the input for checking residents and importing the register. Each sub-domain keeps its own
forms: pb/rounds/forms.py, pb/proposals/forms.py, pb/split/forms.py. Validation of domain rules
stays in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pb.money import parse_money


def needed(field: forms.Field) -> forms.Field:
    """A field the service requires (a reason for the record) though the form lets it through
    blank, so the service's own message is shown: no "(optional)" marker, and aria-required."""
    field.needed = True  # type: ignore[attr-defined]
    field.widget.attrs["aria-required"] = "true"
    return field


class MoneyField(forms.CharField):
    """Pounds and pence typed by a person ('12,500' or '12500.50'), cleaned to pence."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int):
            return f"{value / 100:.2f}".removesuffix(".00")
        return value

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if text in (None, ""):
            return None
        try:
            return parse_money(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ResidentCheckForm(forms.Form):
    profile = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[("confirm", _("Confirm")), ("decline", _("Decline"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(required=False, max_length=500)
    # The details the page showed, so a confirmation checks those and no later change.
    home_area = forms.IntegerField(required=False, widget=forms.HiddenInput)
    birth_year = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The resident on the register the manager chose for this account, if any.
    register_entry = forms.IntegerField(required=False, min_value=1)


class RegisterImportForm(forms.Form):
    file = forms.FileField(
        label=_("Register file (CSV)"),
        help_text=_(
            "A CSV file whose first line names the columns name, postcode, birth_year and area "
            "(the area's name or short name). Save a spreadsheet as CSV first."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
