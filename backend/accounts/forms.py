from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import AgeBand, Ethnicity, Gender, Profile
from pb.models import Area

_PREFER_NOT: list[tuple[str, Any]] = [("", _("Prefer not to say"))]


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    display_name = forms.CharField(
        label=_("Your name (shown next to what you write)"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        help_text=_("At least 8 characters; not only numbers; not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    home_area = forms.ModelChoiceField(
        label=_("Where you live"),
        queryset=Area.objects.all(),
        required=False,
        empty_label=_("Choose your area"),
        help_text=_("Used to check which projects you can vote on."),
    )
    birth_year = forms.IntegerField(
        label=_("Year you were born"),
        required=False,
        min_value=1900,
        help_text=_("Some votes have a minimum age."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )
    age_band = forms.ChoiceField(
        label=_("Age band"), choices=_PREFER_NOT + AgeBand.choices, required=False
    )
    gender = forms.ChoiceField(
        label=_("Gender"), choices=_PREFER_NOT + Gender.choices, required=False
    )
    ethnicity = forms.ChoiceField(
        label=_("Ethnic group"), choices=_PREFER_NOT + Ethnicity.choices, required=False
    )
    disability = forms.ChoiceField(
        label=_("Do you consider yourself disabled?"),
        choices=[*_PREFER_NOT, ("yes", _("Yes")), ("no", _("No"))],
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password1")
            and data.get("password2")
            and (data["password1"] != data["password2"])
        ):
            self.add_error("password2", _("The two passwords are not the same."))
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = [
            "home_area",
            "birth_year",
            "age_band",
            "gender",
            "ethnicity",
            "disability",
            "email_notifications",
        ]
        labels = {"home_area": _("Where you live"), "birth_year": _("Year you were born")}


class ResidentCheckForm(forms.Form):
    profile = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[("confirm", _("Confirm")), ("decline", _("Decline"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(required=False, max_length=500)
    # The details the page showed, so a confirmation checks those and no later change.
    home_area = forms.IntegerField(required=False, widget=forms.HiddenInput)
    birth_year = forms.IntegerField(required=False, widget=forms.HiddenInput)
