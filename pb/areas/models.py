"""Areas (wards and the neighbourhoods inside them), themes, and each area's need for a theme.

Imported by ``pb.models``, so they belong to the ``pb`` app and keep their tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "CENSUS_QUESTIONS",
    "Area",
    "AreaKind",
    "AreaNeed",
    "Theme",
    "validate_census",
]


class AreaKind(models.TextChoices):
    WARD = "ward", _("Ward")
    NEIGHBOURHOOD = "neighbourhood", _("Neighbourhood")


CENSUS_QUESTIONS = ("age_band", "gender", "ethnicity", "disability")


def validate_census(value: Any) -> None:
    """``{"gender": {"woman": 10400, "man": 9800, ...}, "age_band": {...}}``: people per group."""
    if not isinstance(value, dict):
        raise ValidationError(_("Give the census as groups of people per question."))
    for question, groups in value.items():
        if question not in CENSUS_QUESTIONS:
            raise ValidationError(
                _("Unknown census question “%(q)s”: use %(known)s."),
                params={"q": question, "known": ", ".join(CENSUS_QUESTIONS)},
            )
        if not isinstance(groups, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in groups.values()
        ):
            raise ValidationError(
                _("Census figures for “%(q)s” must be whole numbers of people, 0 or more."),
                params={"q": question},
            )


class Area(models.Model):
    """A ward or a neighbourhood inside a ward, with the people who answer for it."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=20, choices=AreaKind.choices, default=AreaKind.WARD)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    population = models.PositiveIntegerField(default=0)
    census = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_census],
        help_text=_(
            "People per group, for the inclusion report: "
            '{"gender": {"woman": 10400, "man": 9800}, "age_band": {"16_24": 2100, ...}}. '
            "Leave empty when not known."
        ),
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_areas"
    )
    councillors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="represented_areas"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def self_and_ancestors(self) -> Iterator[Area]:
        """This area, then the ward around it, and so on up, one at a time (so a caller that
        finds what it wants stops reading); a loop in the data ends the walk."""
        node: Area | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            yield node
            seen.add(node.pk)
            node = node.parent

    def lies_within(self, area_id: int) -> bool:
        """A neighbourhood lies within itself and the ward around it."""
        return any(a.pk == area_id for a in self.self_and_ancestors())


class Theme(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AreaNeed(models.Model):
    """How much an area lacks a service (0 = nothing lacking, 100 = lacks it entirely)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="needs")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="needs")
    need_index = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["area", "theme"], name="unique_need_per_area_theme")
        ]

    def __str__(self) -> str:
        return f"{self.area} needs {self.theme}: {self.need_index}"
