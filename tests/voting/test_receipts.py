"""Receipts prove that a ballot was counted, never what it chose (issue 12, part 3)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from pb.counting import services as counting
from pb.counting.services import round_count
from pb.voting.sealing import MIN_BATCH
from pb.voting.selectors import rounds_with_receipt_cookie
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import receipt_hash
from pb.voting.services.kiosk import kiosk_cast, kiosk_unlock
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db

NORTH_ONLINE = 26
NORTH_KIOSK = 4  # fewer than five: the files must not name the channel for them
SOUTH_ONLINE = 6


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.split("\n", 1)[1])))[1:]


@pytest.fixture
def closed(db: Any) -> dict[str, Any]:
    """A cumulative round (each ballot unique: voter i gives Trees i points), cast online and at
    a kiosk in North and online in South, then closed and counted (which seals everything)."""
    world = VotingWorld(ballot_type="cumulative", points_total=100)
    receipts: list[str] = []
    codes = world.codes(NORTH_ONLINE + NORTH_KIOSK, area=world.north)
    kiosk = kiosk_unlock(actor=world.staff, round=world.round, area=world.north)
    for i, code in enumerate(codes, start=1):
        choice = {str(world.trees.pk): i, str(world.benches.pk): 100 - i}
        if i <= NORTH_KIOSK:
            cast = kiosk_cast(kiosk=kiosk, voter_code=code, selections=choice)
            receipts.append(cast.code)
        else:
            receipts.append(ballot_cast(round=world.round, voter_code=code, selections=choice).code)
    for code in world.codes(SOUTH_ONLINE, area=world.south):
        ballot_cast(round=world.round, voter_code=code, selections={str(world.south_pool.pk): 100})
    world.set(phase="counting")
    round_count(round=world.round)
    return {"world": world, "receipts": receipts}


def test_ballot_files_hold_no_receipt_and_a_separate_list_has_one_receipt_per_ballot(closed):
    world = closed["world"]
    receipts = counting.receipts_csv(round=world.round)
    listed = rows(receipts)
    assert Counter(area for _h, area in listed) == {"north": 30, "south": 6}
    for code in closed["receipts"]:
        digest = receipt_hash(code)
        assert [digest, "north"] in listed
        for fmt in (counting.ballots_csv, counting.ballots_pb):
            text = fmt(round=world.round, area=world.north)
            assert digest not in text
    for area, n in ((world.north, 30), (world.south, 6)):
        assert len(rows(counting.ballots_csv(round=world.round, area=area))) == n


def test_ballot_files_come_in_a_fresh_random_order(closed):
    world = closed["world"]
    orders = {
        tuple(r[2] for r in rows(counting.ballots_csv(round=world.round, area=world.north)))
        for _ in range(3)
    }
    # Three draws of 30 distinct ballots in the same order: about 1 in 10^64 by chance.
    assert len(orders) > 1


def test_a_channel_with_fewer_than_five_ballots_in_an_area_is_not_named(closed):
    world = closed["world"]
    text = counting.ballots_csv(round=world.round, area=world.north)
    channels = Counter(channel for _a, channel, _c in rows(text))
    assert channels == {"online": NORTH_ONLINE, counting.SUPPRESSED: NORTH_KIOSK}
    assert "kiosk" not in text.split("\n", 1)[1]
    assert "fewer than 5 ballots of an area" in text.splitlines()[0]
    assert "areas: north" in text.splitlines()[0]
    south = counting.ballots_csv(round=world.round, area=world.south)
    assert "fewer than 5" not in south.splitlines()[0]
    assert Counter(c for _a, c, _x in rows(south)) == {"online": SOUTH_ONLINE}


def test_the_check_my_receipt_box_says_counted_or_not_and_never_the_choices(client, closed):
    world = closed["world"]
    url = reverse("round_tally", args=[world.round.slug])
    page = client.get(url).content.decode()
    assert "Check my receipt" in page and 'name="receipt"' in page and 'method="post"' in page
    counted = client.post(url, {"receipt": closed["receipts"][7].lower()}).content.decode()
    assert "is in the sealed ballots that the count reads" in counted
    answer = counted[counted.index('role="status"') :].split("</p>")[0]
    assert "Trees" not in answer and "Benches" not in answer and "8" not in answer
    unknown = client.post(url, {"receipt": "AAAA-BBBB-CCCC"}).content.decode()
    assert "We have no ballot with this receipt" in unknown
    blank = client.post(url, {"receipt": "  "})
    assert blank.status_code == 200
    assert "Type the receipt code you were given" in blank.content.decode()


def test_a_receipt_cast_but_not_yet_sealed_is_said_to_be_waiting(client, vw):
    receipt = ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert MIN_BATCH > 1  # one ballot cannot make a batch: it waits
    page = client.post(reverse("round_tally", args=[vw.round.slug]), {"receipt": receipt.code})
    assert "waiting to be sealed" in page.content.decode()


def test_the_receipts_file_is_refused_while_voting_is_open(client, vw):
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    response = client.get(reverse("receipts_file", args=[vw.round.slug]))
    assert response.status_code == 403 and b"once voting has closed" in response.content


def test_the_public_receipts_file_downloads_once_voting_has_closed(client, closed):
    world = closed["world"]
    response = client.get(reverse("receipts_file", args=[world.round.slug]))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-receipts.csv"')
    assert len(rows(response.content.decode())) == 36


def test_the_receipt_page_says_what_a_receipt_proves_and_log_out_clears_its_cookie(client, vw):
    client.force_login(vw.resident)
    cast = client.post(
        reverse("vote_cast", args=[vw.round.slug]), {"area": vw.north.pk, "choice": [vw.trees.pk]}
    )
    page = client.get(cast["Location"]).content.decode()
    assert "proves that your ballot was counted, not what it chose" in page
    out = client.post(reverse("logout"))
    cookie = out.cookies[f"voting_receipt_{vw.round.pk}"]
    assert cookie.value == "" and cookie["max-age"] == 0
    assert cookie["path"] == reverse("vote_receipt", args=[vw.round.slug])
    other = out.cookies[f"voting_receipt_{vw.other_round.pk}"]  # every open round's is cleared
    assert other["path"] == reverse("vote_receipt", args=[vw.other_round.slug])
    # The next person at this computer does not see the receipt.
    again = client.get(reverse("vote_receipt", args=[vw.round.slug]))
    assert again.status_code == 302


def test_log_out_clears_the_receipt_cookie_of_every_open_round_and_of_rounds_one_voted_in(vw):
    ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    vw.set(phase="results")  # counted and closed: only who voted in it may hold its cookie
    anyone = {r.slug for r in rounds_with_receipt_cookie(user=AnonymousUser())}
    assert anyone == {vw.other_round.slug}
    voter = {r.slug for r in rounds_with_receipt_cookie(user=vw.resident)}
    assert voter == {vw.round.slug, vw.other_round.slug}
    assert {r.slug for r in rounds_with_receipt_cookie(user=vw.manager)} == anyone
