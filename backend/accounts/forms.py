from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import AgeBand, Ethnicity, Gender, Profile
from backend.fields import AreaTreeChoiceField

_PREFER_NOT: list[tuple[str, Any]] = [("", _("Prefer not to say"))]


def _areas() -> QuerySet[Any]:
    """The areas a resident can live in, reached through the profile's own relation: accounts
    imports nothing from pb, which is built on it (docs/architecture.md)."""
    area = cast("type[models.Model]", Profile._meta.get_field("home_area").related_model)
    return area._default_manager.all()


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
    home_area = AreaTreeChoiceField(
        label=_("Where you live"),
        queryset=_areas().order_by("name"),
        required=False,
        empty_label=_("Choose your area"),
        help_text=_(
            "Choose your neighbourhood if it is listed, otherwise your ward. It decides which "
            "rounds you can vote in."
        ),
    )
    birth_year = forms.IntegerField(
        label=_("Year you were born"),
        required=False,
        min_value=1900,
        help_text=_("Some votes have a minimum age."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        max_length=10,
        required=False,
        help_text=_(
            "Optional. With your name and year of birth it lets us check you against the "
            "council's register, so you can vote with your account sooner."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
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
            "postcode",
            "age_band",
            "gender",
            "ethnicity",
            "disability",
            "email_notifications",
        ]
        labels = {
            "home_area": _("Where you live"),
            "birth_year": _("Year you were born"),
            "age_band": _("Age band"),
            "gender": _("Gender"),
            "ethnicity": _("Ethnic group"),
            "disability": _("Do you consider yourself disabled?"),
            "email_notifications": _("Email notifications"),
        }
        field_classes = {"home_area": AreaTreeChoiceField}
