"""Residents write in their own language: what they write records it, pages mark it up, and a
manager's translation of a proposal reaches voters reading another language."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from backend.errors import DomainError, NotAllowed
from deliberation.consumers import scope_language
from deliberation.models import Contribution
from pb.proposals import services as proposal_services
from pb.proposals.models import ProposalTranslation
from tests.deliberation.conftest import communicator, make_scene, next_frame
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_proposal_records_the_language_of_the_page_it_was_written_on(
    client: Any, vw: Any
) -> None:
    vw.set(phase="intake")
    client.force_login(vw.resident)
    client.post(reverse("set_language"), {"language": "pl", "next": "/"})
    client.post(
        reverse("proposal_new", args=[vw.round.slug]),
        {
            "title": "Ławki w parku",
            "description": "Nowe ławki.",
            "area": vw.north.pk,
            "estimated_cost": "500",
        },
    )
    proposal = vw.round.proposals.get(title="Ławki w parku")
    assert proposal.language == "pl"
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert '<h1 lang="pl" dir="auto">Ławki w parku</h1>' in page


def test_an_author_can_say_they_wrote_in_another_language(vw: Any) -> None:
    vw.set(phase="intake")
    with translation.override("en-gb"):
        proposal = proposal_services.proposal_create(
            author=vw.resident,
            round=vw.round,
            area=vw.north,
            title="Meinciau",
            description="Meinciau newydd.",
            estimated_cost=50_000,
            language="cy",
        )
    assert proposal.language == "cy"
    with pytest.raises(DomainError) as refused:
        proposal_services.proposal_create(
            author=vw.resident,
            round=vw.round,
            area=vw.north,
            title="X",
            description="Y.",
            estimated_cost=50_000,
            language="klingon",
        )
    assert refused.value.fields == {"language": ["That language is not offered here."]}


def test_an_area_manager_translates_a_proposal_and_the_ballot_shows_it(
    client: Any, vw: Any
) -> None:
    proposal_services.proposal_translation_set(
        actor=vw.manager,
        proposal=vw.trees,
        language="ur",
        title="درخت لگائیں",
        summary="پارک میں نئے درخت۔",
    )
    client.force_login(vw.resident)
    client.post(reverse("set_language"), {"language": "ur", "next": "/"})
    ballot = client.get(reverse("vote", args=[vw.round.slug])).content.decode()
    assert '<span lang="ur" dir="auto">درخت لگائیں</span>' in ballot
    # The author's own words are a click away, marked as English.
    assert '<details class="original">' in ballot
    assert '<p lang="en-gb" dir="auto"><strong>Trees</strong>' in ballot
    # Projects without a translation keep their own title and language.
    assert '<span lang="en-gb" dir="auto">Benches</span>' in ballot
    review = client.post(
        reverse("vote_review", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.trees.pk]},
    ).content.decode()
    assert '<span lang="ur" dir="auto">درخت لگائیں</span>' in review


def test_readers_of_other_languages_see_the_original_only(client: Any, vw: Any) -> None:
    proposal_services.proposal_translation_set(
        actor=vw.manager, proposal=vw.trees, language="cy", title="Coed", summary="Coed newydd."
    )
    client.force_login(vw.resident)
    client.post(reverse("set_language"), {"language": "pl", "next": "/"})
    ballot = client.get(reverse("vote", args=[vw.round.slug])).content.decode()
    assert "Coed" not in ballot and '<details class="original">' not in ballot


def test_only_the_area_s_managers_translate_and_bad_translations_are_refused(vw: Any) -> None:
    with pytest.raises(NotAllowed):
        proposal_services.proposal_translation_set(
            actor=vw.resident, proposal=vw.trees, language="cy", title="Coed", summary="Coed."
        )
    for language, title, summary, field in [
        ("en-gb", "Trees", "Trees.", "language"),  # the original's own language
        ("xx", "Trees", "Trees.", "language"),
        ("cy", "", "Coed newydd.", "title"),
        ("cy", "Coed", "", "summary"),
        ("cy", "C" * 141, "Coed.", "title"),
    ]:
        with pytest.raises(DomainError) as refused:
            proposal_services.proposal_translation_set(
                actor=vw.manager,
                proposal=vw.trees,
                language=language,
                title=title,
                summary=summary,
            )
        assert field in refused.value.fields
    assert not ProposalTranslation.objects.exists()


def test_saving_again_corrects_and_saving_empty_removes_a_translation(vw: Any) -> None:
    for title in ("Coed", "Coed newydd"):
        proposal_services.proposal_translation_set(
            actor=vw.manager, proposal=vw.trees, language="cy", title=title, summary="Coed."
        )
    assert list(ProposalTranslation.objects.values_list("title", flat=True)) == ["Coed newydd"]
    proposal_services.proposal_translation_set(
        actor=vw.manager, proposal=vw.trees, language="cy", title="", summary=""
    )
    assert not ProposalTranslation.objects.exists()


def test_the_translate_page_shows_field_errors_and_refuses_residents(client: Any, vw: Any) -> None:
    url = reverse("proposal_translate", args=[vw.trees.pk])
    client.force_login(vw.resident)
    assert client.post(url, {"language": "cy", "title": "Coed", "summary": "x"}).status_code == 403
    client.force_login(vw.manager)
    bad = client.post(url, {"language": "cy", "title": "Coed", "summary": ""})
    assert bad.status_code == 400 and "Give the summary in this language." in bad.content.decode()
    good = client.post(url, {"language": "cy", "title": "Coed", "summary": "Coed newydd."})
    assert good.status_code == 302
    page = client.get(reverse("proposal_detail", args=[vw.trees.pk])).content.decode()
    assert '<section class="translation" lang="cy" dir="auto">' in page


def test_the_live_room_takes_the_writer_s_language_from_their_account_or_cookie() -> None:
    welsh = UserFactory(language="cy")
    assert scope_language({"user": welsh}) == "cy"
    assert scope_language({"cookies": {"django_language": "ur"}}) == "ur"
    assert scope_language({"headers": [(b"accept-language", b"pl-PL,pl;q=0.9")]}) == "pl"
    assert scope_language({"cookies": {"django_language": "xx"}}) == "en-gb"


@pytest.mark.django_db(transaction=True)
def test_a_contribution_records_its_language_and_errors_come_in_the_writer_s(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    scene = make_scene()
    scene.alice.language = "cy"
    scene.alice.save(update_fields=["language"])

    async def go() -> dict[str, Any]:
        comm = communicator(scene.room.pk, scene.alice)
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "say", "kind": "message", "text": "Syniad da!"})
        await comm.send_json_to({"type": "say", "kind": "nonsense", "text": "x", "ref": 7})
        frame = await next_frame(comm)
        while frame.get("type") != "error":
            frame = await next_frame(comm)
        await comm.disconnect()
        return frame

    error = asyncio.run(go())
    assert error["ref"] == 7
    with translation.override("cy"):
        expected = translation.gettext(
            "Choose a message, an argument for or against, or a question."
        )
    assert expected != "Choose a message, an argument for or against, or a question."
    assert error["detail"] == expected
    assert Contribution.objects.get(text="Syniad da!").language == "cy"
