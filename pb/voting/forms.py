"""Voting forms: input only. The ballot's rules are checked by ``pb.voting.services.checking``.

The ballot form is built from the round's :class:`~pb.voting.selectors.BallotSpec`, one field
per bid (or one group of checkboxes for approval), so it works with no JavaScript: the choose
page posts it to the review page, which carries the same fields hidden to the cast.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import BallotType, Round
from pb.voting.selectors import BallotSpec


def more_codes_reason() -> forms.CharField:
    """The reason an administrator gives for making codes while voting is open (voter codes and
    register letters alike)."""
    return forms.CharField(
        label=_("Why more codes are needed now"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Needed only while voting is open, when only an administrator can make codes. "
            "It goes in the record."
        ),
    )


class BallotForm(forms.Form):
    """The voter's choices, plus a voter code when the voter is not voting with an account."""

    def __init__(
        self,
        *args: Any,
        spec: BallotSpec,
        proposals: list[Proposal],
        with_code: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.proposals = proposals
        kind = spec.ballot_type
        if with_code:
            self.fields["voter_code"] = forms.CharField(
                label=_("Your voter code"),
                help_text=_(
                    "Ten letters and numbers, from your letter or card (like ACD2E-FG3HJ)."
                ),
                max_length=40,
                widget=forms.TextInput(
                    attrs={
                        "autocomplete": "off",
                        "autocapitalize": "characters",
                        "spellcheck": "false",
                    }
                ),
            )
        if kind in (BallotType.APPROVAL_BUDGET, BallotType.APPROVAL_COUNT):
            self.fields["choice"] = forms.TypedMultipleChoiceField(
                label=_("Projects"),
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                choices=[(p.pk, p.title) for p in proposals],
            )
            return
        if kind == BallotType.SCORE and not spec.groups_score_own_bid:
            self.fields["own_bid"] = forms.TypedChoiceField(
                label=_("Is one of these bids your group's?"),
                help_text=_(
                    "Groups do not score their own bid. Choose it here and leave it blank."
                ),
                coerce=int,
                empty_value=None,
                required=False,
                choices=[("", _("No, none of them"))] + [(p.pk, p.title) for p in proposals],
            )
        for p in proposals:
            if kind == BallotType.SCORE:
                field: forms.Field = forms.TypedChoiceField(
                    label=_("Score for %(title)s") % {"title": p.title},
                    coerce=int,
                    empty_value=None,
                    required=False,
                    choices=[("", "–")] + [(n, str(n)) for n in range(1, spec.score_max + 1)],
                )
            elif kind == BallotType.CUMULATIVE:
                field = forms.IntegerField(
                    label=_("Points for %(title)s") % {"title": p.title},
                    min_value=0,
                    max_value=spec.points_total,
                    required=False,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "points"}),
                )
            else:
                field = forms.TypedChoiceField(
                    label=_("Your place for %(title)s") % {"title": p.title},
                    coerce=int,
                    empty_value=None,
                    required=False,
                    choices=[("", _("Not ranked"))]
                    + [(n, str(n)) for n in range(1, min(spec.rank_k, len(proposals)) + 1)],
                )
            self.fields[f"p{p.pk}"] = field

    def selections(self) -> Any:
        """The raw choices for the service: a list of ids, or a mapping of id to a number."""
        data = self.cleaned_data
        if "choice" in self.fields:
            return list(data.get("choice") or [])
        return {
            str(p.pk): data[f"p{p.pk}"]
            for p in self.proposals
            if data.get(f"p{p.pk}") not in (None, 0)
        }

    def own_bid_value(self) -> int | None:
        value = self.cleaned_data.get("own_bid")
        return int(value) if value else None

    def voter_code_value(self) -> str:
        return str(self.cleaned_data.get("voter_code") or "")

    def hidden_items(self) -> list[tuple[str, str]]:
        """The valid choices as (name, value) pairs, for hidden fields on the review page."""
        items: list[tuple[str, str]] = []
        for name, value in self.cleaned_data.items():
            if value in (None, "", []):
                continue
            if isinstance(value, list):
                items.extend((name, str(v)) for v in value)
            else:
                items.append((name, str(value)))
        return items

    def rows(self) -> list[tuple[Proposal, forms.BoundField | None]]:
        """Each bid with its field (``None`` for approval, whose checkboxes are one field)."""
        return [
            (p, self[f"p{p.pk}"] if f"p{p.pk}" in self.fields else None) for p in self.proposals
        ]

    def chosen_ids(self) -> set[str]:
        if "choice" not in self.fields:
            return set()
        return {str(v) for v in (self["choice"].value() or [])}


class AreaChoiceForm(forms.Form):
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none(), empty_label=None)

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = round.areas.order_by("name")  # type: ignore[attr-defined]


class KioskUnlockForm(AreaChoiceForm):
    label = forms.CharField(
        label=_("Name of this kiosk"),
        max_length=60,
        required=False,
        help_text=_("Like “Hall, table 2”."),
    )
    language = forms.ChoiceField(
        label=_("Language each new voter sees first"),
        choices=settings.LANGUAGES,
        initial=settings.LANGUAGE_CODE,
        required=False,  # the site's language when left out
        help_text=_("Voters can choose another language on the first screen."),
    )


class PrintLanguageField(forms.ChoiceField):
    """The language printed cards and papers are written in, each named in itself."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label=_("Print in"),
            choices=settings.LANGUAGES,
            required=False,  # the page's own language when left out
            **kwargs,
        )


class VoterCodesForm(forms.Form):
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=5000, initial=50)
    area = forms.ModelChoiceField(
        label=_("For the area"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=_("Any area of the round (the voter chooses)"),
    )

    language = PrintLanguageField(
        help_text=_("The cards are printed in this language; the voter can change it online.")
    )
    reason = more_codes_reason()

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        area.queryset = round.areas.order_by("name")  # type: ignore[attr-defined]
        if round.round_areas.count() > 1:
            # A code without an area would vote in any of them: the service refuses it.
            area.empty_label = _("Choose an area")  # type: ignore[attr-defined]


class PaperPrintForm(forms.Form):
    """Blank ballot papers for one area, each with a random number for the two people who key
    it later (``pb.voting.selectors.paper_numbers``)."""

    area = forms.ModelChoiceField(label=_("For the area"), queryset=Area.objects.none())
    language = PrintLanguageField()
    copies = forms.IntegerField(label=_("How many papers"), min_value=1, max_value=500, initial=20)

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]


class SurveySlipsForm(forms.Form):
    """Survey slips to hand out with paper ballots: one code per slip, for one area."""

    area = forms.ModelChoiceField(label=_("For the area"), queryset=Area.objects.none())
    count = forms.IntegerField(
        label=_("How many slips"),
        min_value=1,
        max_value=1_000,
        initial=20,
        help_text=_("One for each ballot paper you hand out."),
    )

    def __init__(self, *args: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]


class PaperHeaderForm(forms.Form):
    serial = forms.CharField(
        label=_("Number printed on the ballot paper"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    spoilt = forms.BooleanField(
        label=_("This ballot is spoilt (unreadable, or breaks the rules)"), required=False
    )


class ReconcileForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            ("first", _("The first keying is right")),
            ("second", _("The second keying is right")),
            ("spoilt", _("The ballot is spoilt")),
        ],
    )
    reason = forms.CharField(
        label=_("Reason (goes in the record)"), widget=forms.Textarea(attrs={"rows": 3})
    )


class DeskSearchForm(forms.Form):
    """Find a resident on the register at a desk: a name and a postcode or a birth year."""

    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        min_length=2,
        help_text=_("Whole words of the name, such as the full name or the surname."),
    )
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    birth_year = forms.IntegerField(
        label=_("Year of birth"), min_value=1900, max_value=2100, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("postcode") or "").strip() and not data.get("birth_year"):
            self.add_error(
                "postcode", _("Give the postcode or the year of birth as well as the name.")
            )
        return data


class DeskTickForm(forms.Form):
    #: Signed by the search for this user and round (``pb.voting.desk_token``), never an id.
    token = forms.CharField(max_length=200, required=False)
    channel = forms.ChoiceField(
        label=_("Ballot"),
        choices=[("paper", _("Paper ballot")), ("kiosk", _("Kiosk"))],
    )


class RegisterLettersForm(forms.Form):
    area = forms.ModelChoiceField(
        label=_("Letters for the residents of"), queryset=Area.objects.none(), empty_label=None
    )
    reason = more_codes_reason()

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.filter(  # type: ignore[attr-defined]
            pk__in=[a.pk for a in areas]
        ).order_by("name")
