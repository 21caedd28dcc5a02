"""The Porto Alegre split wired into rounds: settings, computation, overrides, publication."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from backend.errors import DomainError, NotAllowed
from pb.areas.models import AreaNeed
from pb.models import AuditEntry
from pb.rounds.models import RoundArea
from pb.split import formula as split
from pb.split.services import (
    split_compute,
    split_configure,
    split_override,
    split_publish,
    themes_rank,
)

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


def _rows(prefix: str, *bands: tuple[str, str]) -> dict[str, str]:
    """The split page's bands table as posted: row n's "up to" and grade."""
    data = {}
    for n, (upper, grade) in enumerate(bands, start=1):
        data[f"{prefix}-upper_{n}"] = upper
        data[f"{prefix}-grade_{n}"] = grade
    return data


def _split_post(**population: Any) -> dict[str, str]:
    return {
        "configure": "1",
        "theme": "",
        "population-use": "on",
        "population-weight": "2",
        **_rows(
            "population",
            *population.get("bands", [("25,000", "1"), ("45000", "2"), ("90000", "3"), ("", "4")]),
        ),
        "need-weight": "4",
        **_rows("need", ("14", "1"), ("", "2")),
        "priority-weight": "5",
        **_rows("priority", ("0", "0"), ("", "1")),
    }


def test_the_split_page_computes_and_publishes_a_table_residents_see(client, world):
    client.force_login(world.manager)
    url = reverse("round_split", args=[world.round.slug])
    page = client.get(url).content.decode()
    # The preset's bands, one per row: 25,000 gets grade 1 ... and above 90,000 grade 4.
    assert 'name="population-upper_1" value="25000"' in page
    assert 'name="population-grade_1" value="1"' in page
    assert 'name="population-upper_4"' in page and 'name="population-grade_4" value="4"' in page
    assert "<caption>Bands for Population" in page
    response = client.post(url, _split_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    world.round.refresh_from_db()
    population = next(c for c in world.round.split_config["criteria"] if c["key"] == "population")
    assert population["bands"] == [
        {"upper": 25_000, "grade": 1},
        {"upper": 45_000, "grade": 2},
        {"upper": 90_000, "grade": 3},
        {"upper": None, "grade": 4},
    ]
    assert client.post(url, {"publish": "1"}).status_code == 302
    client.logout()
    html = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert "How the money is shared between areas" in html
    # North 30,000 -> grade 2; South 60,000 -> grade 3: 2/5 and 3/5 of £100,000.
    assert "£40,000" in html and "£60,000" in html


@pytest.mark.parametrize(
    ("bands", "field", "message"),
    [
        (
            [("25000", "1"), ("20000", "2"), ("", "3")],
            "population-upper_2",
            "This band overlaps band 1, which already goes up to 25000",
        ),
        ([("25000", "1"), ("25000", "2")], "population-upper_2", "overlaps band 1"),
        ([("-5", "1"), ("", "2")], "population-upper_1", "This cannot be less than 0."),
        ([("25000", "-1"), ("", "2")], "population-grade_1", "This cannot be less than 0."),
        ([("lots of people", "1")], "population-upper_1", "Write a whole number, like 25000."),
        ([("25000", "one")], "population-grade_1", "Write a whole number, like 25000."),
        ([("25000", "")], "population-grade_1", "Give this band a grade (0 or more)."),
        ([], "population-upper_1", "Give at least one band"),
        (
            [("", "1"), ("50000", "2")],
            "population-upper_1",
            "Only the last band can be left open",
        ),
    ],
    ids=[
        "overlapping",
        "same limit twice",
        "negative limit",
        "negative grade",
        "not a number",
        "grade not a number",
        "no grade",
        "empty",
        "open band not last",
    ],
)
def test_a_bad_band_on_the_split_page_is_a_field_error_and_nothing_is_stored(
    client, world, bands, field, message
):
    client.force_login(world.manager)
    url = reverse("round_split", args=[world.round.slug])
    response = client.post(url, _split_post(bands=bands))
    html = response.content.decode()
    assert response.status_code == 400
    # The message sits in the cell of the field it is about, which points to it.
    error = html.split(f'id="id_{field}_error"', 1)[1].split("</div>", 1)[0]
    assert message in error
    assert f'aria-describedby="id_{field}_error" id="id_{field}"' in html
    # And in the summary at the top, linked to the field.
    assert f'href="#id_{field}"' in html
    world.round.refresh_from_db()
    assert world.round.split_result is None
