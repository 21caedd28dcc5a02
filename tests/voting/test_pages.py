"""The ballot pages through HTTP, without JavaScript: choose, review, cast, receipt."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from pb.voting.models import KioskSession, PaperBallot, Participation, PendingBallot, VoterCode

pytestmark = pytest.mark.django_db


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The hidden fields of the review page's cast form."""
    cast_form = html.split('/vote/cast/"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', cast_form)


def test_a_resident_chooses_reviews_and_casts_without_javascript(client, vw):
    client.force_login(vw.resident)
    page = client.get(reverse("vote", args=[vw.round.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "no more than £50,000" in html and "You are voting for North" in html
    assert 'action="/rounds/city-2027/vote/review/"' in html
    review = client.post(
        reverse("vote_review", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.trees.pk, vw.lights.pk]},
    )
    html = review.content.decode()
    assert review.status_code == 200
    assert "You chose these 2 projects, total £38,000 of £50,000." in html
    assert not PendingBallot.objects.exists()
    fields = hidden_fields(html)
    assert ("choice", str(vw.trees.pk)) in fields and ("area", str(vw.north.pk)) in fields
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    cast = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    assert cast.status_code == 302 and cast["Location"].endswith("/vote/receipt/")
    receipt = client.get(cast["Location"]).content.decode()
    assert "Thank you: your vote is cast" in receipt
    assert PendingBallot.objects.get().selections == {str(vw.trees.pk): 1, str(vw.lights.pk): 1}
    again = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    assert again.status_code == 409 and "already voted" in again.content.decode()
    assert PendingBallot.objects.count() == 1


def test_an_over_budget_choice_comes_back_with_the_choices_kept_and_a_clear_error(client, vw):
    client.force_login(vw.resident)
    response = client.post(
        reverse("vote_review", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.trees.pk, vw.lights.pk, vw.mural.pk]},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html and "more than the £50,000 to spend" in html
    assert html.count("checked") == 3
    assert not Participation.objects.exists()


def test_change_my_choices_returns_to_the_ballot_with_the_choices_ticked(client, vw):
    client.force_login(vw.resident)
    response = client.post(
        reverse("vote", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.benches.pk], "change": "1"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "There is a problem" not in html
    assert f'value="{vw.benches.pk}" id="choice-{vw.benches.pk}"' in html
    assert html.count(" checked") == 1


def test_a_voter_code_votes_without_an_account_choosing_the_area_first(client, vw):
    [code] = vw.codes(area=vw.south)
    first = client.get(reverse("vote", args=[vw.round.slug]))
    assert "Choose the area you are voting for" in first.content.decode()
    page = client.get(reverse("vote", args=[vw.round.slug]), {"area": vw.south.pk, "with_code": 1})
    assert "Your voter code" in page.content.decode() and "Pool" in page.content.decode()
    data = {"area": vw.south.pk, "with_code": "1", "voter_code": code, "choice": [vw.south_pool.pk]}
    review = client.post(reverse("vote_review", args=[vw.round.slug]), data)
    assert review.status_code == 200
    cast = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    assert cast.status_code == 302
    assert Participation.objects.get().voter_code == VoterCode.objects.get()
    wrong = client.post(
        reverse("vote_cast", args=[vw.round.slug]), {**data, "voter_code": "AAAAA-AAAAA"}
    )
    assert wrong.status_code == 400 and "This voter code cannot be used" in wrong.content.decode()


@pytest.mark.parametrize(
    ("ballot_type", "data", "summary", "legend", "one_choice"),
    [
        (
            "score",
            lambda w: {f"p{p.pk}": 5 for p in (w.trees, w.benches, w.lights, w.mural)},
            "You scored these 4 bids.",
            "Score each bid",
            "score 5",
        ),
        (
            "cumulative",
            lambda w: {f"p{w.trees.pk}": 6, f"p{w.mural.pk}": 4},
            "You gave 10 points to these 2 projects.",
            "Your points",
            "6 points",
        ),
        (
            "ranking",
            lambda w: {f"p{w.mural.pk}": 1, f"p{w.trees.pk}": 2},
            "You ranked these 2 projects, in this order.",
            "Your order of preference",
            "choice number 2",
        ),
    ],
)
def test_every_ballot_type_reviews_with_a_summary(
    client, vw, ballot_type, data, summary, legend, one_choice
):
    vw.set(ballot_type=ballot_type)
    client.force_login(vw.resident)
    page = client.get(reverse("vote", args=[vw.round.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    # Each kind of ballot has its own legend and fields, not the approval ballot's tick boxes.
    assert f"<legend>{legend}</legend>" in html and 'type="checkbox" name="choice"' not in html
    review = client.post(
        reverse("vote_review", args=[vw.round.slug]), {"area": vw.north.pk, **data(vw)}
    )
    assert summary in review.content.decode(), review.content.decode()
    assert one_choice in review.content.decode()


def test_an_approval_ballot_has_tick_boxes_and_reviews_costs(client, vw):
    client.force_login(vw.resident)
    html = client.get(reverse("vote", args=[vw.round.slug])).content.decode()
    assert "<legend>Choose projects</legend>" in html and 'type="checkbox" name="choice"' in html
    review = client.post(
        reverse("vote_review", args=[vw.round.slug]),
        {"area": vw.north.pk, "choice": [vw.trees.pk]},
    ).content.decode()
    assert "score " not in review and "choice number" not in review


def test_the_ballot_page_says_why_when_voting_is_not_open_or_the_resident_is_not_eligible(
    client, vw
):
    vw.set(phase="deliberation")
    client.force_login(vw.resident)
    response = client.get(reverse("vote", args=[vw.round.slug]))
    assert response.status_code == 403 and "Voting is not open" in response.content.decode()
    vw.set(phase="voting", voter_codes_enabled=False)
    vw.resident.profile.verified = False
    vw.resident.profile.save()
    response = client.get(reverse("vote", args=[vw.round.slug]))
    assert response.status_code == 403 and "have not been checked" in response.content.decode()


def test_staff_unlock_a_kiosk_which_casts_two_ballots_in_a_row(client, vw):
    first, second = vw.codes(2, area=vw.north)
    client.force_login(vw.staff)
    desk = client.get(reverse("kiosk_desk", args=[vw.round.slug]))
    assert desk.status_code == 200
    unlocked = client.post(
        reverse("kiosk_desk", args=[vw.round.slug]),
        {"unlock": "1", "area": vw.north.pk, "label": "Hall"},
    )
    assert unlocked["Location"] == reverse("kiosk_choose") + "?next_voter=1"
    assert client.get(reverse("dashboard")).status_code == 302  # staff are logged out of it
    for code in (first, second):
        page = client.get(reverse("kiosk_choose")).content.decode()
        assert 'class="kiosk"' in page and 'http-equiv="refresh"' in page
        data = {"voter_code": code, "choice": [vw.trees.pk]}
        assert client.post(reverse("kiosk_review"), data).status_code == 200
        done = client.post(reverse("kiosk_cast"), data)
        assert done.status_code == 200 and "Done: next voter" in done.content.decode()
    assert PendingBallot.objects.filter(channel="kiosk").count() == 2
    KioskSession.objects.update(locked_at="2026-01-01T00:00Z")
    assert client.get(reverse("kiosk_choose")).status_code == 403


def test_a_device_that_is_not_a_kiosk_says_so(client, vw):
    assert client.get(reverse("kiosk_choose")).status_code == 403


def test_a_manager_prints_a_sheet_of_voter_codes(client, vw):
    vw.set(phase="deliberation")  # before voting opens (then only an admin makes codes)
    client.force_login(vw.manager)
    response = client.post(
        reverse("voter_codes", args=[vw.round.slug]), {"count": 3, "area": vw.north.pk}
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="code-card"') == 3
    assert VoterCode.objects.count() == 3 and response["Cache-Control"] == "no-store"
    client.force_login(vw.resident)
    assert client.get(reverse("voter_codes", args=[vw.round.slug])).status_code == 403


def test_two_staff_key_paper_and_a_mismatch_goes_to_the_managers_queue(client, vw):
    url = reverse("paper_desk", args=[vw.round.slug])
    client.force_login(vw.staff)
    assert "Choose the area" in client.get(url).content.decode()
    assert client.get(url, {"area": vw.north.pk}).status_code == 200
    client.post(url, {"area": vw.north.pk, "serial": "A1", "choice": [vw.trees.pk]})
    client.post(url, {"area": vw.north.pk, "serial": "A2", "choice": [vw.trees.pk]})
    client.force_login(vw.staff2)
    client.post(url, {"area": vw.north.pk, "serial": "A1", "choice": [vw.trees.pk]})
    response = client.post(
        url, {"area": vw.north.pk, "serial": "A2", "choice": [vw.mural.pk]}, follow=True
    )
    assert "goes to a manager" in response.content.decode()
    assert PendingBallot.objects.filter(channel="paper").count() == 1
    client.force_login(vw.manager)
    queue = client.get(reverse("paper_reconcile", args=[vw.round.slug])).content.decode()
    assert "Ballot A2" in queue and "Mural" in queue and "Trees" in queue
    paper = PaperBallot.objects.get(serial="A2")
    bad = client.post(
        reverse("paper_reconcile", args=[vw.round.slug]), {"paper": paper.pk, "decision": "first"}
    )
    assert bad.status_code == 400
    client.post(
        reverse("paper_reconcile", args=[vw.round.slug]),
        {"paper": paper.pk, "decision": "first", "reason": "Cross on Trees."},
    )
    assert PendingBallot.objects.filter(channel="paper").count() == 2


def test_the_decision_day_desk_and_venue_screen(client, vw):
    from pb.rounds.models import RoundArea
    from tests.factories import RoundFactory

    day = RoundFactory(
        slug="day",
        style="decision_day",
        phase="deliberation",
        ballot_type="score",
        created_by=vw.manager,
    )
    RoundArea.objects.create(round=day, area=vw.north)
    vw.proposal("Youth club", 100_000, round=day)
    client.force_login(vw.manager)
    desk = reverse("event_desk", args=["day"])
    assert "Open the vote" in client.get(desk).content.decode()
    client.post(desk, {"open": "1"})
    day.refresh_from_db()
    assert day.phase == "voting"
    screen = client.get(reverse("event_screen", args=["day"])).content.decode()
    assert "Voting is open" in screen and 'http-equiv="refresh"' in screen


def test_each_printed_code_has_a_qr_code_that_opens_the_ballot_with_the_code_filled_in(client, vw):
    import re

    import segno

    vw.set(phase="deliberation")
    client.force_login(vw.manager)
    html = client.post(
        reverse("voter_codes", args=[vw.round.slug]), {"count": 1, "area": vw.north.pk}
    ).content.decode()
    code = re.search(r'class="receipt-code">([A-Z0-9-]+)<', html).group(1)
    vote_url = "http://testserver" + reverse("vote", args=[vw.round.slug])
    # The code travels in the fragment (static/js/ballot.js reads it), never in the query
    # string, so it reaches no access log (issue 13).
    expected = segno.make(f"{vote_url}?area={vw.north.pk}#code={code}", error="m").svg_inline(
        scale=3, border=2, omitsize=False
    )
    assert expected in html
    assert "code=" not in html.replace(f"#code={code}", "")  # the sheet shows no other form

    client.logout()
    vw.set(phase="voting")
    ballot = client.get(
        reverse("vote", args=[vw.round.slug]), {"area": vw.north.pk, "code": code.lower()}
    )
    assert code not in ballot.content.decode()  # a code in the query string is not taken


def test_a_scanner_typing_the_cards_whole_address_gives_the_code():
    from pb.voting.services.codes import normalise_code

    scanned = "https://council.example/rounds/city/vote/?area=3#code=ABCD-EFGH-JK"
    assert normalise_code(scanned) == "ABCDEFGHJK"
    older_card = "https://council.example/rounds/city/vote/?code=ABCD-EFGH-JK"
    assert normalise_code(older_card) == "ABCDEFGHJK"
    assert normalise_code(" abcd-efgh jk ") == "ABCDEFGHJK"


def test_the_receipt_code_is_not_kept_in_the_session_beside_the_voter(client, vw):
    # The session row holds the account id; with the receipt code next to it, anyone who
    # reads the session table could hash the code and find the account's published ballot.
    from django.contrib.sessions.models import Session

    from pb.voting.services.codes import receipt_hash

    client.force_login(vw.resident)
    cast = client.post(
        reverse("vote_cast", args=[vw.round.slug]), {"area": vw.north.pk, "choice": [vw.trees.pk]}
    )
    assert cast.status_code == 302
    code = PendingBallot.objects.get().receipt_hash
    for session in Session.objects.all():
        stored = str(session.get_decoded())
        assert not any(receipt_hash(word) == code for word in stored.replace("'", " ").split())
    receipt = client.get(cast["Location"]).content.decode()
    assert "Thank you: your vote is cast" in receipt
    assert any(receipt_hash(w) == code for w in receipt.replace("<", " ").replace(">", " ").split())
    assert client.get(cast["Location"]).status_code == 200  # a reload still shows it
