"""The Porto Alegre split wired into rounds: settings, computation, overrides, publication."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.errors import DomainError, NotAllowed
from pb import split
from pb.models import AreaNeed, AuditEntry, RoundArea
from pb.services.budget_split import split_compute, split_configure, split_override, split_publish
from pb.services.priorities import themes_rank

pytestmark = pytest.mark.django_db

ROUND_PRESET = split.criteria_to_config(split.PORTO_ALEGRE_ROUND_PRESET)


def test_a_whole_round_split_worked_example(world):
    """North: 30,000 people -> grade 2 x 2 = 4; need 60 -> grade 3 x 4 = 12; total 16.
    South: 60,000 people -> grade 3 x 2 = 6; need 10 -> grade 1 x 4 = 4; total 10.
    Shares 16/26 and 10/26 of £100,000.00: 6,153,846.15... and 3,846,153.84... pence;
    rounded down 6,153,846 + 3,846,153 = 9,999,999, and the last penny goes to the larger
    remainder (North .15 vs South .84... -> South): 6,153,846 and 3,846,154.
    """
    AreaNeed.objects.create(area=world.north, theme=world.parks, need_index=60)
    AreaNeed.objects.create(area=world.south, theme=world.parks, need_index=10)
    split_configure(actor=world.manager, round=world.round, criteria=ROUND_PRESET)
    table = split_compute(actor=world.manager, round=world.round)
    rows = {r["area_name"]: r for r in table["rows"]}
    assert rows["North"]["weighted_total"] == "16" and rows["South"]["weighted_total"] == "10"
    assert rows["North"]["amount"] == 6_153_846 and rows["South"]["amount"] == 3_846_154
    assert sum(r["amount"] for r in table["rows"]) == world.round.budget
    assert RoundArea.objects.get(round=world.round, area=world.north).allocation == 6_153_846


def test_a_per_theme_split_uses_the_areas_own_priorities(world, user_factory):
    world.set_phase("priorities")
    themes_rank(actor=world.resident, round=world.round, themes=[world.parks, world.roads])
    preset = split.criteria_to_config(split.PORTO_ALEGRE_PRESET)
    split_configure(actor=world.manager, round=world.round, criteria=preset, theme=world.parks)
    table = split_compute(actor=world.manager, round=world.round)
    rows = {r["area_name"]: r for r in table["rows"]}
    north_priority = next(g for g in rows["North"]["grade_list"] if g["key"] == "priority")
    south_priority = next(g for g in rows["South"]["grade_list"] if g["key"] == "priority")
    assert (north_priority["value"], north_priority["grade"]) == ("1", 4)  # parks ranked 1st
    assert (south_priority["value"], south_priority["grade"]) == ("0", 0)  # nobody ranked


def test_priority_criterion_needs_a_theme(world):
    preset = split.criteria_to_config(split.PORTO_ALEGRE_PRESET)
    with pytest.raises(DomainError) as info:
        split_configure(actor=world.manager, round=world.round, criteria=preset)
    assert "theme" in info.value.fields


def test_an_override_needs_a_reason_and_redistributes_the_rest(world):
    split_configure(actor=world.manager, round=world.round, criteria=ROUND_PRESET)
    split_compute(actor=world.manager, round=world.round)
    with pytest.raises(DomainError):
        split_override(
            actor=world.manager, round=world.round, area=world.north, amount=5_000_000, reason="  "
        )
    with pytest.raises(DomainError):
        split_override(
            actor=world.manager,
            round=world.round,
            area=world.north,
            amount=20_000_000,
            reason="Too much",
        )
    table = split_override(
        actor=world.manager,
        round=world.round,
        area=world.north,
        amount=5_000_000,
        reason="Flood repairs already funded",
    )
    rows = {r["area_name"]: r for r in table["rows"]}
    assert rows["North"]["amount"] == 5_000_000 and rows["North"]["overridden"]
    assert rows["South"]["amount"] == 5_000_000
    assert AuditEntry.objects.get(action="split.override").reason == (
        "Flood repairs already funded"
    )
    assert RoundArea.objects.get(round=world.round, area=world.north).override_reason == (
        "Flood repairs already funded"
    )


def test_the_split_is_fixed_once_voting_opens(world):
    split_configure(actor=world.manager, round=world.round, criteria=ROUND_PRESET)
    split_compute(actor=world.manager, round=world.round)
    split_publish(actor=world.manager, round=world.round)
    world.set_phase("voting")
    with pytest.raises(NotAllowed):
        split_compute(actor=world.manager, round=world.round)
    with pytest.raises(NotAllowed):
        split_override(
            actor=world.manager, round=world.round, area=world.north, amount=1, reason="late"
        )


def test_residents_cannot_touch_the_split(world):
    with pytest.raises(NotAllowed):
        split_configure(actor=world.resident, round=world.round, criteria=ROUND_PRESET)


def test_the_split_page_computes_and_publishes_a_table_residents_see(client, world):
    client.force_login(world.manager)
    url = reverse("round_split", args=[world.round.slug])
    page = client.get(url)
    assert page.status_code == 200 and "up to 25000: 1" in page.content.decode()
    response = client.post(
        url,
        {
            "configure": "1",
            "theme": "",
            "population-use": "on",
            "population-weight": "2",
            "population-bands": "up to 25000: 1\nup to 45000: 2\nup to 90000: 3\nabove: 4",
            "need-weight": "4",
            "need-bands": "up to 14: 1\nabove: 2",
            "priority-weight": "5",
            "priority-bands": "up to 0: 0\nabove: 1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.post(url, {"publish": "1"}).status_code == 302
    client.logout()
    html = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert "How the money is shared between areas" in html
    # North 30,000 -> grade 2; South 60,000 -> grade 3: 2/5 and 3/5 of £100,000.
    assert "£40,000" in html and "£60,000" in html


def test_bad_bands_on_the_split_page_show_an_error(client, world):
    client.force_login(world.manager)
    url = reverse("round_split", args=[world.round.slug])
    response = client.post(
        url,
        {
            "configure": "1",
            "population-use": "on",
            "population-weight": "2",
            "population-bands": "lots of people",
            "need-weight": "4",
            "need-bands": "above: 1",
            "priority-weight": "5",
            "priority-bands": "above: 1",
        },
    )
    assert response.status_code == 400
    assert "up to 25000: 1" in response.content.decode()
    world.round.refresh_from_db()
    assert world.round.split_result is None
