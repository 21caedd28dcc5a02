"""Outcomes where residents look, and notices before a form a person may not use."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from pb.areas.models import Area, Theme
from pb.counting.models import Tally
from pb.proposals.models import Proposal, ProposalStatus
from pb.proposals.selectors import proposal_outcomes
from pb.rounds.models import RoundArea
from pb.voting.services.casting import ballot_cast
from tests.factories import AreaFactory, RoundFactory, UserFactory
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db

NOT_FUNDED = "It had 14 votes, but it costs £800 and only £500 was left when its turn came."


@pytest.fixture
def counted(db: Any) -> dict[str, Any]:
    """A round in its results phase with a stored count: one project funded, one not."""
    area = AreaFactory(name="Westgate", slug="westgate")
    round_ = RoundFactory(slug="grants", name="Grants", phase="results")
    RoundArea.objects.create(round=round_, area=area, allocation=1_000_000)
    author = UserFactory(email="author@example.org")
    won, lost = (
        Proposal.objects.create(
            round=round_,
            area=area,
            author=author,
            title=title,
            description="A project.",
            estimated_cost=cost,
            status=ProposalStatus.FEASIBLE,
        )
        for title, cost in [("Benches", 50_000), ("Noticeboard", 80_000)]
    )
    projects = {
        str(won.pk): {"funded": True, "sentence": "Chosen 1st, with 52 votes."},
        str(lost.pk): {"funded": False, "sentence": NOT_FUNDED},
    }
    Tally.objects.create(
        round=round_,
        area=area,
        rule="greedy",
        inputs_hash="x" * 64,
        outcome={"winners": [str(won.pk)], "projects": projects},
        seconds=0.1,
    )
    return {"round": round_, "won": won, "lost": lost, "author": author}


def test_once_counted_the_round_page_shows_each_outcome_in_the_engines_words(client, counted):
    html = client.get(reverse("round_detail", args=["grants"])).content.decode()
    assert "On the ballot" not in html
    assert "Chosen 1st, with 52 votes." in html and NOT_FUNDED in html
    assert html.count('class="status outcome-funded"') == 1
    assert html.count('class="status outcome-not-funded"') == 1


def test_the_proposal_page_and_the_authors_dashboard_say_why_not_funded(client, counted):
    html = client.get(reverse("proposal_detail", args=[counted["lost"].pk])).content.decode()
    assert "Not funded" in html and NOT_FUNDED in html and "On the ballot" not in html
    assert reverse("round_results", args=["grants"]) in html
    client.force_login(counted["author"])
    html = client.get(reverse("dashboard")).content.decode()
    assert NOT_FUNDED in html and "Chosen 1st, with 52 votes." in html


def test_before_results_no_outcome_is_shown(counted):
    counted["round"].phase = "counting"
    counted["round"].save()
    assert proposal_outcomes(round=counted["round"]) == {}


@pytest.fixture
def vw(db: Any) -> VotingWorld:
    return VotingWorld()


def test_a_resident_who_has_voted_is_told_before_a_fresh_ballot(client, vw):
    ballot_cast(round=vw.round, voter=vw.resident, selections={str(vw.trees.pk): 1})
    client.force_login(vw.resident)
    page = client.get(reverse("round_detail", args=[vw.round.slug])).content.decode()
    assert "You have voted in this round" in page
    # ...with the way to check their receipt, first thing on the page.
    check = f'href="{reverse("round_tally", args=[vw.round.slug])}#check-receipt"'
    assert check in page.split("</h1>", 1)[1].split("</div>", 1)[0]
    assert f'href="{reverse("vote", args=[vw.round.slug])}"' not in page
    ballot = client.get(reverse("vote", args=[vw.round.slug])).content.decode()
    assert "You have already voted in this round" in ballot
    assert 'name="choice"' not in ballot


def test_a_resident_of_the_ward_is_told_before_the_priorities_form_that_it_is_not_for_them(
    client,
):
    harbour = AreaFactory(name="Harbour", slug="harbour")
    AreaFactory(name="Marina", slug="marina", parent=harbour)
    AreaFactory(name="Old Harbour", slug="old-harbour", parent=harbour)
    round_ = RoundFactory(slug="green", phase="priorities")
    for area in Area.objects.filter(parent=harbour):
        RoundArea.objects.create(round=round_, area=area)
    Theme.objects.create(name="Parks", slug="parks")
    resident = UserFactory()
    resident.profile.home_area = harbour
    resident.profile.save()
    client.force_login(resident)
    page = client.get(reverse("round_detail", args=["green"])).content.decode()
    assert "Only residents of Marina, Old Harbour can rank" in page
    assert reverse("priorities", args=["green"]) not in page
    form = client.get(reverse("priorities", args=["green"])).content.decode()
    assert "your home area is Harbour" in form and "Send my priorities" not in form
    # A checked resident of Marina gets the form.
    resident.profile.home_area = Area.objects.get(slug="marina")
    resident.profile.verified = True
    resident.profile.save()
    form = client.get(reverse("priorities", args=["green"])).content.decode()
    assert "Send my priorities" in form


def test_sign_up_explains_the_check_and_lists_areas_as_a_tree(client, settings):
    settings.RESIDENT_CHECK_DAYS = 3
    poulton = AreaFactory(name="Poulton", slug="poulton")
    AreaFactory(name="Poulton North", slug="poulton-north", parent=poulton)
    AreaFactory(name="Westgate", slug="westgate")
    html = client.get(reverse("sign_up")).content.decode()
    assert "This takes up to 3 working days" in html
    group = html.split('<optgroup label="Poulton">', 1)[1].split("</optgroup>", 1)[0]
    assert "Poulton North" in group and "Elsewhere in Poulton" in group
    assert f'<option value="{poulton.pk}">Elsewhere in Poulton</option>' in group
    westgate = Area.objects.get(slug="westgate")
    assert f'<option value="{westgate.pk}">Westgate</option>' in html.split("</optgroup>")[-1]


def test_review_refuses_a_project_that_costs_more_than_its_areas_money(client):
    from backend.accounts.models import Role
    from backend.errors import DomainError
    from pb.proposals.services import proposal_review

    marina = AreaFactory(name="Marina", slug="marina")
    round_ = RoundFactory(slug="green", phase="review", budget=7_000_000)
    RoundArea.objects.create(round=round_, area=marina, allocation=2_333_300)
    manager = UserFactory(role=Role.MANAGER)
    marina.managers.add(manager)
    park = Proposal.objects.create(
        round=round_,
        area=marina,
        author=UserFactory(),
        title="Pocket park",
        description="A garden.",
        estimated_cost=3_000_000,
        status=ProposalStatus.SUBMITTED,
    )
    client.force_login(manager)
    page = client.get(reverse("proposal_review", args=[park.pk])).content.decode()
    assert "£23,333" in page and "more than the area has to spend" in page
    decide = {"actor": manager, "proposal": park, "decision": "feasible", "reason": "Fine."}
    with pytest.raises(DomainError) as exc:
        proposal_review(**decide, council_cost=3_000_000)
    assert (
        "more than Marina has to spend in this round (£23,333)"
        in exc.value.fields["council_cost"][0]
    )
    park.refresh_from_db()
    assert park.status == ProposalStatus.SUBMITTED
    proposal_review(**decide, council_cost=2_300_000)
    park.refresh_from_db()
    assert park.status == ProposalStatus.FEASIBLE


def _form_defaults(html: str, marker: str) -> dict[str, str]:
    """The values a browser would send for the form holding ``marker``, as rendered."""
    import html as html_lib
    import re

    form = next(f for f in html.split("<form")[1:] if marker in f).split("</form>", 1)[0]
    data: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) == "checkbox":
            if " checked" in tag:
                data[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = html_lib.unescape(value.group(1)) if value else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = html_lib.unescape(text).strip("\n")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_the_split_page_computes_on_its_own_defaults(client):
    from backend.accounts.models import Role

    north = AreaFactory(name="North", slug="north", population=30_000)
    south = AreaFactory(name="South", slug="south", population=60_000)
    round_ = RoundFactory(slug="city", phase="intake", style="city", budget=10_000_000)
    for area in (north, south):
        RoundArea.objects.create(round=round_, area=area)
    manager = UserFactory(role=Role.MANAGER)
    north.managers.add(manager)
    round_.created_by = manager  # the split as a whole is the round owner's
    round_.save(update_fields=["created_by"])
    client.force_login(manager)
    url = reverse("round_split", args=["city"])
    data = _form_defaults(client.get(url).content.decode(), 'name="configure"')
    data["configure"] = "1"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    round_.refresh_from_db()
    assert round_.split_result


def test_report_groups_are_words_from_the_questions_own_choices():
    from feedback.templatetags.feedback_extras import group_label

    assert group_label("non_binary", "gender") == "Non-binary"
    assert group_label("other", "gender") == "Another way"
    assert group_label("other", "ethnicity") == "Another ethnic group"
    assert group_label("65_plus", "age_band") == "65 or over"
    assert group_label("kiosk", "channel") == "Kiosk"
    assert group_label("some_new_key", "gender") == "Some new key"


def test_the_proposals_map_uses_the_councils_tile_server_and_the_list_stays(client, settings):
    settings.MAP_TILE_URL = "https://tiles.council.example/{z}/{x}/{y}.png"
    area = AreaFactory()
    round_ = RoundFactory(slug="mapped", phase="intake")
    RoundArea.objects.create(round=round_, area=area)
    Proposal.objects.create(
        round=round_,
        area=area,
        author=UserFactory(),
        title="Crossing",
        description="A crossing.",
        estimated_cost=100_000,
        status=ProposalStatus.SUBMITTED,
        latitude=54.07,
        longitude=-2.86,
    )
    html = client.get(reverse("round_detail", args=["mapped"])).content.decode()
    assert 'data-tiles="https://tiles.council.example/{z}/{x}/{y}.png"' in html
    assert 'id="proposal-map"' in html and ">Crossing</a>" in html  # the list without JS


def test_supports_show_can_be_withdrawn_and_are_not_for_ones_own_proposal(client):
    from backend.errors import NotAllowed
    from pb.proposals.services import proposal_support

    area = AreaFactory()
    round_ = RoundFactory(slug="ideas", phase="intake")
    RoundArea.objects.create(round=round_, area=area)
    author, neighbour = UserFactory(), UserFactory()
    idea = Proposal.objects.create(
        round=round_,
        area=area,
        author=author,
        title="Benches",
        description="Two benches.",
        estimated_cost=100_000,
        status=ProposalStatus.SUBMITTED,
    )
    with pytest.raises(NotAllowed):
        proposal_support(actor=author, proposal=idea)
    client.force_login(author)
    page = client.get(reverse("proposal_detail", args=[idea.pk])).content.decode()
    assert "you cannot" in page and "Support this proposal" not in page

    client.force_login(neighbour)
    url = reverse("proposal_support", args=[idea.pk])
    client.post(url)
    page = client.get(reverse("proposal_detail", args=[idea.pk])).content.decode()
    assert "You support this proposal." in page and "Withdraw my support" in page
    idea.refresh_from_db()
    assert idea.support_count == 1
    client.post(url, {"withdraw": "1"})
    client.post(url, {"withdraw": "1"})  # a second click takes nothing more away
    idea.refresh_from_db()
    assert idea.support_count == 0
    page = client.get(reverse("proposal_detail", args=[idea.pk])).content.decode()
    assert "Support this proposal" in page


def test_the_proposal_form_lists_the_rounds_areas_as_a_tree(client):
    """A resident picking the area of a proposal sees a ward's neighbourhoods under it, as at
    sign-up, not one flat list mixing both."""
    harbour = AreaFactory(name="Harbour", slug="harbour")
    marina = AreaFactory(name="Marina", slug="marina", parent=harbour)
    westgate = AreaFactory(name="Westgate", slug="westgate")
    round_ = RoundFactory(slug="ideas", phase="intake")
    for area in (harbour, marina, westgate):
        RoundArea.objects.create(round=round_, area=area)
    resident = UserFactory()
    resident.profile.home_area = marina
    resident.profile.verified = True
    resident.profile.save()
    client.force_login(resident)
    html = client.get(reverse("proposal_new", args=["ideas"])).content.decode()
    group = html.split('<optgroup label="Harbour">', 1)[1].split("</optgroup>", 1)[0]
    # Marina, the resident's home area, comes chosen.
    assert f'<option value="{marina.pk}" selected>Marina</option>' in group
    assert f'<option value="{harbour.pk}">Elsewhere in Harbour</option>' in group
    assert f'<option value="{westgate.pk}">Westgate</option>' in html.split("</optgroup>")[-1]
