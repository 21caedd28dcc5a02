"""The count's sentences are written once, as data, and said in each reader's language.

English readers get the engine's words exactly as ``python -m pb.tally`` prints them; Welsh,
Polish and Urdu readers get the same sentence from the catalogues, with their plural rules and
their way of writing numbers. A count stored before the wording existed still shows its sentence.
"""

from __future__ import annotations

import html
from fractions import Fraction
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from pb.counting import services as count_services
from pb.counting.result import CountResult
from pb.counting.wording import project_sentence, stored_sentence
from pb.tally import RULES, Election, Project, Vote, tally
from pb.tally.wording import ENGLISH, Amount, Ordinal, Percent, Phrase, ngettext_lazy, say
from tests.counting.conftest import CountWorld


def _election() -> Election:
    return Election(
        projects=[
            Project("1", 700_000),
            Project("2", 600_000),
            Project("3", 400_000),
            Project("4", 100_000),
        ],
        budget=1_200_000,
        votes=[Vote(b) for b in (("1", "3"), ("1", "2"), ("1",), ("2", "3"))],
        vote_type="approval",
    )


def test_the_engine_s_sentence_is_its_wording_said_in_english() -> None:
    outcome = tally(_election(), "greedy")
    for pid, explanation in outcome.explanations.items():
        assert explanation.wording is not None, pid
        assert say(explanation.wording, ENGLISH) == explanation.sentence
    assert outcome.explanations["1"].sentence == (
        "Funded (1st): 3 votes; funded in order of score while the money lasted."
    )
    assert outcome.explanations["2"].sentence == (
        "Not funded: 2 votes, but it costs 600,000 and only 500,000 was left when its turn came."
    )
    assert outcome.explanations["4"].sentence == "Not funded: nobody voted for it."


def test_a_wording_survives_being_stored_as_json() -> None:
    phrase = Phrase(
        message="%(a)s %(b)s %(c)s %(d)s %(e)s",
        params={
            "a": Amount(Fraction(1655677, 2)),
            "b": Ordinal(2),
            "c": Percent(Fraction(1, 20)),
            "d": ngettext_lazy("%(n)s vote", "%(n)s votes", 1, n=1),
            "e": "text",
        },
    )
    back = Phrase.from_json(phrase.to_json())
    assert back is not None and say(back, ENGLISH) == "827,838.50 2nd 5% 1 vote text"
    # Anything that is not a stored phrase reads as none, and the stored sentence is shown.
    for junk in (None, "x", {"message": 3}, {"message": "m", "params": {"a": [1]}}, {"params": {}}):
        assert Phrase.from_json(junk) is None


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en-gb", "Not funded: 2 votes, but it costs 600,000 and only 500,000 was left"),
        ("cy", "Heb ei ariannu: 2 bleidlais, ond mae'n costio 600,000 a dim ond 500,000"),
        ("pl", "Niesfinansowany: 2 głosy, ale kosztuje 600\xa0000, a gdy"),
        ("ur", "رقم نہیں ملی: 2 ووٹ، لیکن اس کی لاگت 600,000 ہے"),
    ],
)
def test_each_language_says_the_sentence_with_its_own_plurals_and_numbers(
    language: str, expected: str
) -> None:
    outcome = tally(_election(), "greedy")
    data = {
        "projects": {
            pid: {
                "title": pid,
                "sentence": e.sentence,
                "wording": e.wording.to_json() if e.wording else None,
            }
            for pid, e in outcome.explanations.items()
        }
    }
    project = next(p for p in CountResult.from_json(data).projects if p.id == "2")
    with translation.override(language):
        assert project_sentence(project).startswith(expected)


def test_polish_uses_its_three_plural_forms() -> None:
    phrases = [ngettext_lazy("%(n)s vote", "%(n)s votes", n, n=n) for n in (1, 3, 5, 22, 25)]
    with translation.override("pl"):
        said = [stored_sentence({"sentence": "", "wording": p.to_json()}) for p in phrases]
    assert said == ["1 głos", "3 głosy", "5 głosów", "22 głosy", "25 głosów"]


def test_a_count_stored_before_the_wording_shows_its_sentence_in_any_language() -> None:
    with translation.override("cy"):
        assert stored_sentence({"sentence": "Funded (1st): 3 votes."}) == "Funded (1st): 3 votes."


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_words_every_project(rule: str) -> None:
    """No rule leaves a project without a wording (and so in English for every reader)."""
    min_share = Fraction(1, 2) if rule == "greedy-threshold" else None
    outcome = tally(_election(), rule, min_share=min_share)
    for explanation in outcome.explanations.values():
        assert explanation.wording is not None
        assert say(explanation.wording, ENGLISH) == explanation.sentence


@pytest.mark.django_db
def test_a_real_count_reads_in_welsh_on_the_results_page(client: Any, cw: CountWorld) -> None:
    cw.cast(cw.north, cw.bench, cw.lights)
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.south, cw.mural)
    cw.set_phase("counting")
    count_services.round_count(round=cw.round)
    cw.set_phase("results")
    welsh = html.unescape(
        client.get(
            reverse("round_results", args=[cw.round.slug]), HTTP_ACCEPT_LANGUAGE="cy"
        ).content.decode()
    )
    assert "Wedi'i ariannu (rhif 1): 2 bleidlais" in welsh
    assert "Funded (1st)" not in welsh
    english = client.get(
        reverse("round_results", args=[cw.round.slug]), HTTP_ACCEPT_LANGUAGE="en-gb"
    ).content.decode()
    assert "Funded (1st): 2 votes; funded in order of score while the money lasted." in english
