"""Reads for the Porto Alegre split: residents' theme priorities by area."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F

from pb.rounds.models import Round
from pb.split.models import DEFAULT_PRIORITY_POINTS, ThemeRanking


def theme_priorities(*, round: Round) -> dict[int, dict[int, int]]:
    """Per area, per theme: the ranking's points summed over the area's residents.

    Points per position come from the round (default 1st = 4, 2nd = 3, 3rd = 2, 4th = 1). Only
    rankings by residents still checked as living in the area count.
    """
    points = list(round.priority_points or DEFAULT_PRIORITY_POINTS)
    totals: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        # Only checked residents' rankings count (a declined or changed home area drops them).
        ThemeRanking.objects.filter(
            round=round, user__profile__verified=True, user__profile__home_area=F("area")
        )
        .values("area_id", "theme_id", "position")
        .annotate(n=Count("id"))
    )
    for row in rows:
        position = row["position"]
        if 1 <= position <= len(points):
            totals[row["area_id"]][row["theme_id"]] += points[position - 1] * row["n"]
    return {a: dict(t) for a, t in totals.items()}
