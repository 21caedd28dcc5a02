"""Input for proposal pages and their comments. Validation of domain rules stays in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from backend.fields import AreaTreeChoiceField
from pb.areas.models import Area, Theme
from pb.forms import MoneyField, needed
from pb.proposals.models import CommentStance, Proposal, ProposalStatus
from pb.rounds.models import (
    Round,
    RoundStyle,
)


def _coordinate(label: Any, limit: int) -> forms.DecimalField:
    """An optional latitude (``limit`` 90) or longitude (180), in degrees to five decimal places
    (about a metre), as ``Proposal`` stores them."""
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=8,
        decimal_places=5,
        min_value=-limit,
        max_value=limit,
    )


class ProposalForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=140,
        error_messages={"required": _("Give your proposal a title.")},
    )
    description = forms.CharField(
        label=_("What would the project do, and for whom?"),
        widget=forms.Textarea,
        error_messages={"required": _("Describe what the project would do.")},
    )
    # The round's areas as the tree they are: a ward's neighbourhoods grouped under it.
    area = AreaTreeChoiceField(
        label=_("Area"),
        queryset=Area.objects.none(),
        empty_label=_("Choose the area"),
        error_messages={"required": _("Choose the area.")},
    )
    theme = forms.ModelChoiceField(
        label=_("Theme"),
        queryset=Theme.objects.all(),
        required=False,
        empty_label=_("Choose a theme"),
    )
    estimated_cost = MoneyField(
        label=_("Estimated cost in pounds"),
        required=False,
        help_text=_("Your best guess; the council will check it."),
    )
    latitude = _coordinate(_("Latitude"), 90)
    longitude = _coordinate(_("Longitude"), 180)
    image = forms.ImageField(
        label=_("A picture"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    image_alt = forms.CharField(
        label=_("Describe the picture for people who cannot see it"), max_length=200, required=False
    )
    group_name = forms.CharField(
        label=_("Group name (for a group's bid)"), max_length=140, required=False
    )
    group_contact = forms.CharField(label=_("Group contact"), max_length=200, required=False)
    language = forms.ChoiceField(
        label=_("Language you are writing in"),
        choices=settings.LANGUAGES,
        required=False,
        help_text=_(
            "So that screen readers read it out properly, and the council can translate it."
        ),
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = translation.get_language()
        areas = round.areas.all()
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]
        if len(areas) == 1:
            self.fields["area"].initial = areas[0]
        if round.style != RoundStyle.DECISION_DAY:
            del self.fields["group_name"]
            del self.fields["group_contact"]

    def clean_image(self) -> Any:
        # ImageField has already checked with Pillow that the file really is a picture.
        image = self.cleaned_data.get("image")
        if image and getattr(image, "image", None) is not None:
            if image.image.format not in {"PNG", "JPEG", "WEBP"}:
                raise forms.ValidationError(_("Use a PNG, JPEG or WebP picture."))
            if image.size > 5 * 1024 * 1024:
                raise forms.ValidationError(_("The picture must be smaller than 5 MB."))
        return image

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["estimated_cost"] = data.get("estimated_cost") or 0
        keys = ("latitude", "longitude", "image", "group_name", "group_contact", "image_alt")
        for key in (*keys, "language"):
            if data.get(key) in (None, "", False):
                data.pop(key, None)
        return data


class ProposalTranslationForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of the translation"), choices=())
    title = forms.CharField(label=_("Title in that language"), max_length=140, required=False)
    summary = forms.CharField(
        label=_("Summary in that language"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("A few plain sentences. Leave both empty to remove a translation."),
    )

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [  # type: ignore[attr-defined]
            (code, name) for code, name in settings.LANGUAGES if code != proposal.language
        ]


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (ProposalStatus.FEASIBLE, _("Feasible: put it on the ballot")),
            (ProposalStatus.NOT_FEASIBLE, _("Not feasible")),
            (ProposalStatus.MERGED, _("Merge into another proposal")),
        ],
    )
    council_cost = MoneyField(label=_("Council's cost estimate in pounds"), required=False)
    reason = needed(
        forms.CharField(
            label=_("Reason, written for residents"), widget=forms.Textarea, required=False
        )
    )
    merged_into = forms.ModelChoiceField(
        label=_("Merge into"), queryset=Proposal.objects.none(), required=False
    )

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["merged_into"].queryset = (  # type: ignore[attr-defined]
            Proposal.objects.filter(round=proposal.round)
            .exclude(pk=proposal.pk)
            .exclude(status__in=[ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN])
        )


class HideForm(forms.Form):
    reason = needed(
        forms.CharField(label=_("Reason shown in its place"), widget=forms.Textarea, required=False)
    )
    image_only = forms.BooleanField(label=_("Hide only the picture"), required=False)


class ProposalFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    area = forms.ModelChoiceField(
        label=_("Area"), queryset=Area.objects.none(), required=False, empty_label=_("All areas")
    )
    theme = forms.ModelChoiceField(
        label=_("Theme"), queryset=Theme.objects.all(), required=False, empty_label=_("All themes")
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = round.areas.all()  # type: ignore[attr-defined]


class CommentForm(forms.Form):
    """A comment or a reply; the service checks length, stance and the thread (one level)."""

    text = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 4}))
    stance = forms.ChoiceField(
        label=_("Where do you stand?"),
        widget=forms.RadioSelect,
        choices=CommentStance.choices,
        error_messages={"invalid_choice": _("Choose for, against or neutral.")},
    )
    parent = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_parent(self) -> int | None:
        value = (self.cleaned_data.get("parent") or "").strip()
        if not value:
            return None
        if not value.isdigit():
            raise forms.ValidationError(_("That is not a comment you can reply to."))
        return int(value)


class CommentHideForm(forms.Form):
    reason = needed(
        forms.CharField(
            label=_("Reason shown in place of the comment"),
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
        )
    )
