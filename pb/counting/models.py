"""Stored counts: a round's (or an area's) tally, keyed by a hash of its inputs.

Imported by ``pb.models``, so it belongs to the ``pb`` app and keeps its table."""

from __future__ import annotations

from django.db import models

from pb.areas.models import Area
from pb.rounds.models import CountingRule, Round

__all__ = [
    "Tally",
]


class Tally(models.Model):
    """A stored count: rule, the hash of its inputs, the outcome and the explanations."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="tallies")
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.CASCADE)
    rule = models.CharField(max_length=20, choices=CountingRule.choices)
    inputs_hash = models.CharField(max_length=64)
    outcome = models.JSONField()
    seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "area", "inputs_hash"], name="one_tally_per_input"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} tally of {self.round}"
