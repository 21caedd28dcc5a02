from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from backend.accounts.models import Role
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import RoundArea
from pb.voting.selectors import _spec_key, _turnout_key
from pb.voting.services.codes import voter_codes_issue
from tests.factories import AreaFactory, RoundFactory, UserFactory


class VotingWorld:
    """A city round in its voting phase: North (£50,000) and South (£80,000), four projects in
    North and one in South, a checked resident of North (46 today), a manager and event staff.
    Ages are counted from the test clock, so make it with the ``clock`` fixture running."""

    RESIDENT_AGE = 46

    def __init__(self, **round_fields: Any) -> None:
        from django.utils import timezone

        self.north = AreaFactory(name="North", slug="north")
        self.south = AreaFactory(name="South", slug="south")
        self.elsewhere = AreaFactory(name="Elsewhere", slug="elsewhere")
        fields = {"budget": 13_000_000, "phase": "voting", "voter_codes_enabled": True}
        fields.update(round_fields)
        self.round = RoundFactory(name="City 2027", slug="city-2027", **fields)
        RoundArea.objects.create(round=self.round, area=self.north, allocation=5_000_000)
        RoundArea.objects.create(round=self.round, area=self.south, allocation=8_000_000)
        self.other_round = RoundFactory(name="Other", slug="other", phase="voting")
        RoundArea.objects.create(round=self.other_round, area=self.north)
        self.manager = UserFactory(role=Role.MANAGER, email="manager@example.org")
        self.north.managers.add(self.manager)
        self.south.managers.add(self.manager)
        self.round.created_by = self.manager
        self.round.save(update_fields=["created_by"])
        self.staff = UserFactory(role=Role.EVENT_STAFF, email="staff@example.org")
        self.staff2 = UserFactory(role=Role.EVENT_STAFF, email="staff2@example.org")
        self.resident = UserFactory(email="resident@example.org")
        self.resident.profile.home_area = self.north
        self.resident.profile.birth_year = timezone.localdate().year - self.RESIDENT_AGE
        self.resident.profile.verified = True
        self.resident.profile.save()
        self.trees = self.proposal("Trees", 2_000_000, group="Friends of the Park")
        self.benches = self.proposal("Benches", 1_000_000, group="Bench Club")
        self.lights = self.proposal("Lights", 1_800_000, group="Safe Streets")
        self.mural = self.proposal("Mural", 1_500_000, group="Art Group")
        self.south_pool = self.proposal("Pool", 3_000_000, area=self.south)
        self.other_round_project = self.proposal("Elsewhere", 100_000, round=self.other_round)
        self.draft = self.proposal("Draft", 100_000, status=ProposalStatus.SUBMITTED)

    def proposal(
        self,
        title: str,
        cost: int,
        *,
        area: Any = None,
        round: Any = None,
        group: str = "",
        status: str = ProposalStatus.FEASIBLE,
    ) -> Proposal:
        return Proposal.objects.create(
            round=round or self.round,
            area=area or self.north,
            title=title,
            description=f"{title} for the area.",
            estimated_cost=cost,
            status=status,
            group_name=group,
        )

    def codes(self, n: int = 1, area: Any = None) -> list[str]:
        """Codes from the command line; North's unless told (the round has several areas)."""
        return voter_codes_issue(actor=None, round=self.round, count=n, area=area or self.north)

    def set(self, **fields: Any) -> None:
        for k, v in fields.items():
            setattr(self.round, k, v)
        self.round.save()
        # The shortlist and turnout are cached per round and area; this round changed.
        areas = [self.north, self.south, self.elsewhere]
        cache.delete_many([_spec_key(self.round.pk, a.pk) for a in areas])
        cache.delete(_turnout_key(self.round.pk))


@pytest.fixture
def vw(db: Any, clock: Any) -> VotingWorld:
    return VotingWorld()
