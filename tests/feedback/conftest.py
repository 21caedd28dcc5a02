"""A counted city round: two wards, projects, voters on every channel, and stored tallies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from pb.counting.models import Tally
from pb.proposals.models import Proposal
from pb.rounds.models import RoundArea
from pb.voting.models import Ballot, Participation
from tests.factories import AreaFactory, RoundFactory, ThemeFactory, UserFactory


def outcome(budget: int, projects: dict[int, dict[str, Any]], voters: int) -> dict[str, Any]:
    winners = [str(pid) for pid, p in projects.items() if p["funded"]]
    return {
        "rule": "greedy",
        "vote_type": "approval",
        "budget": str(budget),
        "total_cost": str(sum(p["cost"] for p in projects.values() if p["funded"])),
        "voters": voters,
        "winners": winners,
        "projects": {
            str(pid): {
                "title": p["title"],
                "cost": str(p["cost"]),
                "score": p["score"],
                "funded": p["funded"],
                "rank": p.get("rank"),
                "reason": "funded" if p["funded"] else p["reason"],
                "sentence": p["sentence"],
            }
            for pid, p in projects.items()
        },
    }


class Counted:
    def __init__(self, *, voters_north: int = 3, voters_south: int = 2) -> None:
        self.north = AreaFactory(name="North", slug="north", population=300)
        self.south = AreaFactory(name="South", slug="south", population=600)
        self.round = RoundFactory(
            name="City 2027", slug="city-2027", budget=1_000_000, phase="results"
        )
        RoundArea.objects.create(round=self.round, area=self.north, allocation=400_000)
        RoundArea.objects.create(round=self.round, area=self.south, allocation=600_000)
        self.manager = UserFactory(role=Role.MANAGER, email="manager@example.org")
        self.north.managers.add(self.manager)
        self.south.managers.add(self.manager)
        self.councillor = UserFactory(role=Role.COUNCILLOR, email="cllr-north@example.org")
        self.north.councillors.add(self.councillor)
        self.south_councillor = UserFactory(role=Role.COUNCILLOR, email="cllr-south@example.org")
        self.south.councillors.add(self.south_councillor)
        self.outsider = UserFactory(role=Role.COUNCILLOR, email="cllr-elsewhere@example.org")
        AreaFactory(name="Elsewhere", slug="elsewhere").councillors.add(self.outsider)
        parks = ThemeFactory(name="Parks", slug="parks")
        roads = ThemeFactory(name="Roads", slug="roads")
        self.author = UserFactory(email="author@example.org")
        self.bench = self._proposal(self.north, "New benches", 200_000, parks)
        self.lights = self._proposal(self.north, "Brighter lights", 300_000, roads)
        self.pond = self._proposal(self.south, "Clean the pond", 500_000, parks)
        self.voters = []
        for i in range(voters_north + voters_south):
            area = self.north if i < voters_north else self.south
            voter = UserFactory(email=f"voter{i}@example.org")
            voter.profile.gender = "woman" if i % 2 else "man"
            voter.profile.save()
            self.voters.append(voter)
            channel = ["online", "kiosk", "paper"][i % 3]
            Participation.objects.create(
                round=self.round,
                area=area,
                voter=voter,
                channel=channel,
                age_band="25_34",
                voted_on=dt.date(2027, 5, 1),
            )
            Ballot.objects.create(
                round=self.round,
                area=area,
                channel=channel,
                selections={str(self.bench.pk if area == self.north else self.pond.pk): 1},
                sealed_on=dt.date(2027, 5, 1),
            )
        self.north_tally = Tally.objects.create(
            round=self.round,
            area=self.north,
            rule="greedy",
            inputs_hash="n1",
            seconds=0.1,
            outcome=outcome(
                400_000,
                {
                    self.bench.pk: {
                        "title": "New benches",
                        "cost": 200_000,
                        "score": 3,
                        "funded": True,
                        "rank": 1,
                        "sentence": "Funded (1st): 3 votes.",
                    },
                    self.lights.pk: {
                        "title": "Brighter lights",
                        "cost": 300_000,
                        "score": 1,
                        "funded": False,
                        "reason": "did_not_fit",
                        "sentence": "Not funded: it cost more than the money left "
                        "(£2,000.00) when its turn came.",
                    },
                },
                voters_north,
            ),
        )
        self.south_tally = Tally.objects.create(
            round=self.round,
            area=self.south,
            rule="greedy",
            inputs_hash="s1",
            seconds=0.1,
            outcome=outcome(
                600_000,
                {
                    self.pond.pk: {
                        "title": "Clean the pond",
                        "cost": 500_000,
                        "score": 2,
                        "funded": True,
                        "rank": 1,
                        "sentence": "Funded (1st): 2 votes.",
                    },
                },
                voters_south,
            ),
        )

    def _proposal(self, area: Any, title: str, cost: int, theme: Any) -> Proposal:
        return Proposal.objects.create(
            round=self.round,
            area=area,
            title=title,
            description="…",
            estimated_cost=cost,
            status="feasible",
            author=self.author,
            theme=theme,
            submitted_at=timezone.now(),
        )


@pytest.fixture
def counted(db: Any) -> Counted:
    return Counted()
