"""Input for round and proposal pages. Validation of domain rules stays in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.fields import AreaTreeChoiceField, AreaTreeMultipleChoiceField
from pb.areas.models import Area, Theme
from pb.money import parse_money
from pb.phases import SCHEDULED_PHASES, phases_after
from pb.proposals.models import CommentStance, Proposal, ProposalStatus
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


def _needed(field: forms.Field) -> forms.Field:
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
    reason = _needed(
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
    reason = _needed(
        forms.CharField(label=_("Reason shown in its place"), widget=forms.Textarea, required=False)
    )
    image_only = forms.BooleanField(label=_("Hide only the picture"), required=False)


class AdvancePhaseForm(forms.Form):
    to_phase = forms.ChoiceField(label=_("Move the round to"), choices=[])
    reason = _needed(
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
    reason = _needed(
        forms.CharField(
            label=_("Why the change? (goes in the record)"), widget=forms.Textarea, required=False
        )
    )
    field_order = ["budget"]


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


class ThemeRankingForm(forms.Form):
    def __init__(self, *args: Any, positions: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, positions + 1):
            self.fields[f"position_{i}"] = forms.ModelChoiceField(
                label=_("Priority %(n)s") % {"n": i},
                queryset=Theme.objects.all(),
                required=i == 1,
                empty_label=_("Choose a theme"),
            )

    def ordered_themes(self) -> list[Theme]:
        return [t for k, t in sorted(self.cleaned_data.items()) if t is not None]


class WholeNumberField(forms.IntegerField):
    """A whole number typed by a person: '25,000' and '25 000' read as 25000."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric"}))
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": _("Write a whole number, like 25000."),
                "min_value": _("This cannot be less than 0."),
            },
        )
        super().__init__(min_value=0, required=False, **kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = value.replace(",", "").replace(" ", "").replace("\u00a0", "")
        return super().to_python(value)


#: Rows of the bands table on the split page: the presets use at most six.
BAND_ROWS = 8


class SplitCriterionForm(forms.Form):
    """One criterion of the split: its weight and its bands, one band per row of a small table.

    A row is an upper limit ("up to") and the grade an area gets at or below it; the last row
    used may leave "up to" empty for "and above". Empty rows are skipped. The band fields are
    drawn as the page's table (``in_table``), not one below the other. ``cleaned_data["bands"]``
    is the list the split service takes: ``[{"upper": int | None, "grade": int}, ...]``.
    """

    use = forms.BooleanField(label=_("Use this criterion"), required=False)
    weight = forms.DecimalField(label=_("Weight"), min_value=0, max_digits=6, decimal_places=2)

    def __init__(self, *args: Any, rows: int = BAND_ROWS, **kwargs: Any) -> None:
        bands = kwargs.pop("bands", None) or []
        initial = dict(kwargs.pop("initial", None) or {})
        for n, band in enumerate(bands[:rows], start=1):
            initial[f"upper_{n}"] = band["upper"]
            initial[f"grade_{n}"] = band["grade"]
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.rows = rows
        for n in range(1, rows + 1):
            upper = WholeNumberField(label=_("Band %(n)s: up to") % {"n": n})
            grade = WholeNumberField(label=_("Band %(n)s: grade") % {"n": n})
            upper.in_table = grade.in_table = True  # type: ignore[attr-defined]
            self.fields[f"upper_{n}"] = upper
            self.fields[f"grade_{n}"] = grade

    def band_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"upper_{n}"], self[f"grade_{n}"]) for n in range(1, self.rows + 1)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        filled: list[tuple[int, int | None, int]] = []
        for n in range(1, self.rows + 1):
            if f"upper_{n}" in self.errors or f"grade_{n}" in self.errors:
                continue
            upper, grade = data.get(f"upper_{n}"), data.get(f"grade_{n}")
            if upper is None and grade is None:
                continue
            if grade is None:
                self.add_error(f"grade_{n}", _("Give this band a grade (0 or more)."))
                continue
            filled.append((n, upper, grade))
        previous: tuple[int, int] | None = None
        for index, (n, upper, _grade) in enumerate(filled):
            if upper is None:
                if index != len(filled) - 1:
                    self.add_error(
                        f"upper_{n}",
                        _(
                            "Only the last band can be left open (“and above”): give this "
                            "band an upper limit, or move it to the end."
                        ),
                    )
                continue
            if previous is not None and upper <= previous[1]:
                self.add_error(
                    f"upper_{n}",
                    _(
                        "This band overlaps band %(before)s, which already goes up to "
                        "%(limit)s: each band must go higher than the one before."
                    )
                    % {"before": previous[0], "limit": previous[1]},
                )
                continue
            previous = (n, upper)
        if data.get("use") and not filled and not self.errors:
            self.add_error(
                "upper_1", _("Give at least one band: an upper limit (or none) and a grade.")
            )
        data["bands"] = [{"upper": upper, "grade": grade} for _n, upper, grade in filled]
        return data


class SplitThemeForm(forms.Form):
    theme = forms.ModelChoiceField(
        label=_("Split the money for one theme"),
        queryset=Theme.objects.all(),
        required=False,
        empty_label=_("No: split the round as a whole"),
    )


class SplitOverrideForm(forms.Form):
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none())
    amount = MoneyField(label=_("New amount in pounds"))
    reason = _needed(
        forms.CharField(label=_("Public reason"), widget=forms.Textarea, required=False)
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = round.areas.all()  # type: ignore[attr-defined]


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
    reason = _needed(
        forms.CharField(
            label=_("Reason shown in place of the comment"),
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
        )
    )
