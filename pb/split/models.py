"""Residents' rankings of themes, which feed the Porto Alegre split (``pb.split.formula``).

Imported by ``pb.models``, so it belongs to the ``pb`` app and keeps its table."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from pb.areas.models import Area, Theme
from pb.rounds.models import Round

__all__ = [
    "DEFAULT_PRIORITY_POINTS",
    "ThemeRanking",
]

#: The points a resident's ranking gives its first, second, third and fourth theme, unless the
#: round sets its own (``Round.priority_points``).
DEFAULT_PRIORITY_POINTS = (4, 3, 2, 1)


class ThemeRanking(models.Model):
    """A resident's ranking of themes for their area in the priorities phase."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="theme_rankings")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="theme_rankings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "user", "theme"], name="theme_ranked_once"),
            models.UniqueConstraint(
                fields=["round", "user", "position"], name="one_theme_per_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.theme} #{self.position}"
