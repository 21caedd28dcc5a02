"""Ballot papers and voter-code cards print in the language a manager chooses (issue 16).

A council prints papers for an event in Welsh or Urdu, numbered for the two people who key each
paper later; the cards of voter codes mailed to residents are in their language too.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from pb.proposals.models import ProposalTranslation
from pb.voting import selectors
from pb.voting.models import PaperBallot, PaperStatus
from pb.voting.services.codes import CODE_ALPHABET
from pb.voting.services.paper import paper_entry_add
from tests.factories import AreaFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_papers_are_written_in_the_language_chosen_with_translated_titles(vw: Any) -> None:
    ProposalTranslation.objects.create(
        proposal=vw.trees, language="cy", title="Coed", summary="Coed i'r ardal."
    )
    papers = selectors.papers_to_print(round=vw.round, area=vw.north, language="cy", copies=3)
    assert len(set(papers.numbers)) == 3
    assert papers.language == "cy" and not papers.bidi
    titles = {c.title: c.language for c in papers.choices}
    assert titles["Coed"] == "cy"  # the manager's translation, marked as Welsh
    assert "Benches" in titles  # no translation: the author's own words
    assert "Trees" not in titles
    assert papers.sentence.startswith("Dewiswch")  # the rule, in Welsh
    assert "South" not in {c.title for c in papers.choices} and "Pool" not in titles

    urdu = selectors.papers_to_print(round=vw.round, area=vw.north, language="ur", copies=1)
    assert urdu.bidi and urdu.sentence != papers.sentence


def test_a_manager_prints_numbered_papers_in_urdu(client: Any, vw: Any) -> None:
    client.force_login(vw.manager)
    page = client.get(reverse("round_manage", args=[vw.round.slug])).content.decode()
    assert reverse("paper_print", args=[vw.round.slug]) in page  # reachable by clicking
    response = client.get(
        reverse("paper_print", args=[vw.round.slug]),
        {"area": vw.north.pk, "language": "ur", "copies": 4},
    )
    text = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert text.count('class="paper-ballot"') == 4
    for number in response.context["papers"].numbers:
        assert text.count(number) == 2  # the paper's label and its printed number
    assert '<div class="paper-ballots" lang="ur" dir="rtl">' in text
    assert "Trees" in text and "Pool" not in text


def test_paper_numbers_are_random_not_consecutive() -> None:
    """Numbers in hand-out order would pair ticked names with keyed papers (docs/secrecy.md):
    a paper's number says nothing of the papers printed before or after it."""
    numbers = selectors.paper_numbers(500)
    assert len(set(numbers)) == 500
    assert all(len(n) == selectors.PAPER_NUMBER_LENGTH for n in numbers)
    assert all(set(n) <= set(CODE_ALPHABET) for n in numbers)
    assert list(numbers) != sorted(numbers)
    assert not set(numbers) & set(selectors.paper_numbers(500))  # another print run


def test_a_printed_number_is_keyed_as_it_is_printed(vw: Any) -> None:
    [number] = selectors.papers_to_print(
        round=vw.round, area=vw.north, language="en", copies=1
    ).numbers
    for who in (vw.staff, vw.staff2):
        paper_entry_add(
            actor=who,
            round=vw.round,
            serial=f" {number.lower()} ",
            area=vw.north,
            selections=[vw.trees.pk],
        )
    assert PaperBallot.objects.get().serial == number
    assert PaperBallot.objects.get().status == PaperStatus.COUNTED


@pytest.mark.parametrize(
    "params",
    [
        {"area": "", "copies": 3},
        {"area": "abc", "copies": 3},
        {"area": 999_999, "copies": 3},
        {"area": "NORTH", "copies": 0},
        {"area": "NORTH", "copies": 501},
        {"area": "NORTH", "copies": "many"},
        {"area": "NORTH", "copies": 3, "language": "fr"},
    ],
)
def test_bad_requests_for_papers_get_field_errors(
    client: Any, vw: Any, params: dict[str, Any]
) -> None:
    client.force_login(vw.manager)
    if params["area"] == "NORTH":
        params = {**params, "area": vw.north.pk}
    response = client.get(reverse("paper_print", args=[vw.round.slug]), params)
    assert response.status_code == 400
    body = response.content.decode()
    assert "error-message" in body and 'class="paper-ballot"' not in body


def test_only_those_who_run_an_area_print_its_papers(client: Any, vw: Any) -> None:
    url = reverse("paper_print", args=[vw.round.slug])
    params = {"area": vw.north.pk, "copies": 2}
    client.force_login(vw.resident)
    assert client.get(url, params).status_code == 403
    south_only = UserFactory(role=Role.MANAGER, email="south@example.org")
    vw.south.managers.add(south_only)
    client.force_login(south_only)
    refused = client.get(url, params)
    assert refused.status_code == 400 and 'class="paper-ballot"' not in refused.content.decode()
    # An area outside the round is not offered at all.
    client.force_login(vw.manager)
    assert client.get(url, {**params, "area": AreaFactory().pk}).status_code == 400


def test_voter_code_cards_print_in_the_language_chosen(client: Any, vw: Any) -> None:
    vw.set(phase="deliberation")
    client.force_login(vw.manager)
    response = client.post(
        reverse("voter_codes", args=[vw.round.slug]),
        {"count": 2, "area": vw.north.pk, "language": "pl"},
    )
    text = html.unescape(response.content.decode())
    assert response.status_code == 200 and text.count('class="code-card"') == 2
    assert '<ul class="code-sheet" lang="pl" dir="ltr">' in text
    assert "Twój jednorazowy kod do głosowania:" in text or "kod" in text.split("code-sheet")[1]
    # The page around the cards stays in the manager's language.
    assert "voter codes for City 2027" in text


SHUFFLE = "Shuffle each stack of ballot papers well before you hand any out, so"
MIX = "Mix the papers in the ballot box before you key them, and never key them one by one"


def test_staff_are_told_to_shuffle_papers_wherever_they_handle_them(client: Any, vw: Any) -> None:
    """Ticks are kept in the order names were ticked: papers handed out in number order, or keyed
    in the order voters handed them back, would pair each ticked name with a keyed paper's
    choices until the count clears the keyings (docs/secrecy.md)."""
    client.force_login(vw.staff)
    slug = vw.round.slug
    pages = [
        client.get(reverse("paper_print", args=[slug])),
        client.get(
            reverse("paper_print", args=[slug]),
            {"area": vw.north.pk, "language": "cy", "copies": 2},
        ),
        client.get(reverse("paper_desk", args=[slug])),
        client.get(reverse("paper_desk", args=[slug]), {"area": vw.north.pk}),
        client.get(reverse("register_desk", args=[slug])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert SHUFFLE in page.content.decode(), page.request["PATH_INFO"]
        assert MIX in page.content.decode(), page.request["PATH_INFO"]
