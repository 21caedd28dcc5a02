"""The round API shows nothing the split page has not published (issue 13, item 5)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from pb.rounds.models import RoundArea

pytestmark = pytest.mark.django_db


def areas_seen(world, user=None) -> dict[str, dict]:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    answer = client.get(f"/api/v1/rounds/{world.round.pk}/")
    assert answer.status_code == 200
    return {a["area"]["slug"]: a for a in answer.json()["round_areas"]}


@pytest.mark.parametrize("who", ["anonymous", "resident", "councillor"])
def test_each_areas_allocation_and_override_reason_stay_hidden_until_the_split_is_published(
    world, who
):
    """GET /api/v1/rounds/1/ showed each area's allocation and the override reason before the
    split was published."""
    RoundArea.objects.filter(round=world.round, area=world.north).update(
        allocation=100, override_reason="The mayor's favourite ward"
    )
    RoundArea.objects.filter(round=world.round, area=world.south).update(allocation=9_999_900)
    user = None if who == "anonymous" else getattr(world, who)
    before = areas_seen(world, user)
    assert {slug: (a["allocation"], a["override_reason"]) for slug, a in before.items()} == {
        "north": (None, None),
        "south": (None, None),
    }
    world.round.split_published_at = timezone.now()
    world.round.save(update_fields=["split_published_at"])
    after = areas_seen(world, user)
    assert after["north"]["allocation"] == 100
    assert after["north"]["override_reason"] == "The mayor's favourite ward"
    assert after["south"]["allocation"] == 9_999_900
