from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import Role
from pb.rounds.models import RoundArea
from tests.factories import AreaFactory, RoundFactory, ThemeFactory, UserFactory


class World:
    """A small council: two areas in one round, a manager each (North's owns the round), a
    checked resident of North, a councillor."""

    def __init__(self, phase: str = "intake") -> None:
        self.north = AreaFactory(name="North", slug="north", population=30_000)
        self.south = AreaFactory(name="South", slug="south", population=60_000)
        self.elsewhere = AreaFactory(name="Elsewhere", slug="elsewhere")
        self.round = RoundFactory(
            name="City 2027", slug="city-2027", budget=10_000_000, phase=phase
        )
        RoundArea.objects.create(round=self.round, area=self.north)
        RoundArea.objects.create(round=self.round, area=self.south)
        self.manager = UserFactory(role=Role.MANAGER, email="north-manager@example.org")
        self.north.managers.add(self.manager)
        # North's manager created the round, so its round-wide settings are theirs.
        self.round.created_by = self.manager
        self.round.save(update_fields=["created_by"])
        self.other_manager = UserFactory(role=Role.MANAGER, email="south-manager@example.org")
        self.south.managers.add(self.other_manager)
        self.resident = UserFactory(email="resident@example.org")
        self.resident.profile.home_area = self.north
        self.resident.profile.birth_year = 1980
        self.resident.profile.verified = True
        self.resident.profile.save()
        self.councillor = UserFactory(role=Role.COUNCILLOR, email="cllr@example.org")
        self.north.councillors.add(self.councillor)
        self.parks = ThemeFactory(name="Parks", slug="parks")
        self.roads = ThemeFactory(name="Roads", slug="roads")

    def set_phase(self, phase: str) -> None:
        self.round.phase = phase
        self.round.save(update_fields=["phase"])


@pytest.fixture
def world(db: Any) -> World:
    return World()
