"""Input for the Porto Alegre split's page and residents' theme rankings. Validation of domain
rules stays in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pb.areas.models import Area, Theme
from pb.forms import MoneyField, needed
from pb.rounds.models import (
    Round,
)


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
    reason = needed(
        forms.CharField(label=_("Public reason"), widget=forms.Textarea, required=False)
    )

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = round.areas.all()  # type: ignore[attr-defined]
