from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.utils import timezone

from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import RoundArea, RoundStyle
from pb.voting.models import Ballot, Receipt
from pb.voting.services.codes import receipt_hash
from tests.pb.conftest import World


class CountWorld(World):
    """The small council with a shortlist in each area and helpers to cast ballots directly."""

    def __init__(self) -> None:
        super().__init__(phase="voting")
        RoundArea.objects.filter(round=self.round, area=self.north).update(allocation=50_000)
        RoundArea.objects.filter(round=self.round, area=self.south).update(allocation=30_000)
        self.bench = self.proposal("Benches", 20_000, self.north)
        self.lights = self.proposal("Lights", 30_000, self.north)
        self.trees = self.proposal("Trees", 25_000, self.north)
        self.mural = self.proposal("Mural", 30_000, self.south)

    def proposal(self, title: str, cost: int, area: Any, round_: Any = None) -> Proposal:
        return Proposal.objects.create(
            round=round_ or self.round,
            area=area,
            author=self.resident,
            title=title,
            description=f"{title} for the area",
            estimated_cost=cost,
            status=ProposalStatus.FEASIBLE,
        )

    def cast(self, area: Any, *chosen: Proposal, round_: Any = None, points: int = 1) -> str:
        """A ballot as sealing leaves it: the ballot and, apart, its receipt's hash."""
        receipt = secrets.token_hex(6)
        Ballot.objects.create(
            round=round_ or self.round,
            area=area,
            channel="online",
            selections={str(p.pk): points for p in chosen},
            sealed_on=timezone.localdate(),
        )
        Receipt.objects.create(
            round=round_ or self.round,
            area=area,
            receipt_hash=receipt_hash(receipt),
        )
        return receipt

    def decision_day(self) -> None:
        self.round.style = RoundStyle.DECISION_DAY
        self.round.budget = 50_000
        self.round.save(update_fields=["style", "budget"])


@pytest.fixture
def cw(db: Any) -> CountWorld:
    return CountWorld()
