"""Issue 13, item 4: voter codes can no longer be tested or guessed.

Reproduced before the change: the ballot API answered ``unknown_code`` for a made-up code and
``too_few`` (or 409) for a real or used one, so a code could be tested without spending it; and
200 guesses in 3.7 seconds were never slowed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from pb.voting.models import KioskSession, Participation, PendingBallot

GOOD = "good"


def url(vw: Any) -> str:
    return f"/api/v1/rounds/{vw.round.pk}/ballots/"


def post(client: Client, vw: Any, payload: dict[str, Any], *, drf: bool, **extra: Any) -> Any:
    """The fast path (anonymous JSON) or DRF's path (a session cookie sends it there)."""
    if drf:
        client.cookies["sessionid"] = "not-a-session"
    return client.post(url(vw), json.dumps(payload), content_type="application/json", **extra)


def code_of_kind(vw: Any, kind: str) -> Any:
    """A code of each kind the API must not tell apart."""
    if kind == "unknown":
        return "AAAAA-AAAAA"
    if kind == "used":
        [code] = vw.codes(area=vw.north)
        Client().post(
            url(vw),
            json.dumps({"voter_code": code, "selections": {str(vw.trees.pk): 1}}),
            content_type="application/json",
        )
        assert Participation.objects.filter(voter_code__isnull=False).count() == 1
        return code
    if kind == "other_area":
        [code] = vw.codes(area=vw.south)
        return code
    return {
        "too_short": "ACDEF",
        "too_long": "A" * 41,
        "foreign_letters": "OOOOO-IIIII",  # letters no code has
        "number": 12345,
        "list": ["ACDEF-GHJKM"],
        "object": {"code": "ACDEF-GHJKM"},
    }[kind]


BAD_KINDS = [
    "unknown",
    "used",
    "other_area",
    "too_short",
    "too_long",
    "foreign_letters",
    "number",
    "list",
    "object",
]


def _answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


@pytest.mark.parametrize("drf", [False, True], ids=["fast-path", "drf"])
def test_every_code_that_cannot_vote_gets_one_answer_word_for_word(vw: Any, drf: bool) -> None:
    ballot = {"selections": {str(vw.trees.pk): 1}, "area": vw.north.pk}
    reference = _answer(post(Client(), vw, {**ballot, "voter_code": "AAAAA-AAAAA"}, drf=drf))
    assert reference[0] == 409 and reference[1]["error"]["code"] == "code_not_accepted"
    for kind in BAD_KINDS:
        code = code_of_kind(vw, kind)
        answer = _answer(post(Client(), vw, {**ballot, "voter_code": code}, drf=drf))
        assert answer == reference, kind
        # Without naming the area too (the code then says which area it is for).
        answer = _answer(
            post(Client(), vw, {"selections": ballot["selections"], "voter_code": code}, drf=drf)
        )
        assert answer == reference, kind
    assert PendingBallot.objects.count() == 1  # only the one cast that made the used code


@pytest.mark.parametrize("drf", [False, True], ids=["fast-path", "drf"])
def test_a_bad_ballot_says_the_same_whether_the_code_is_good_or_not(vw: Any, drf: bool) -> None:
    """The ballot is checked before the code when the area is named: an over-budget ballot with
    a good code used to answer differently from one with a made-up code."""
    over = {str(p.pk): 1 for p in (vw.trees, vw.lights, vw.mural)}
    [good] = vw.codes(area=vw.north)
    answers = set()
    for kind in [GOOD, *BAD_KINDS]:
        code = good if kind == GOOD else code_of_kind(vw, kind)
        if not isinstance(code, str):
            continue  # not a string at all: refused before the ballot is read
        response = post(
            Client(), vw, {"selections": over, "area": vw.north.pk, "voter_code": code}, drf=drf
        )
        answers.add((response.status_code, json.dumps(response.json(), sort_keys=True)))
    assert len(answers) == 1
    [(status, body)] = answers
    assert status == 400 and json.loads(body)["error"]["code"] == "over_budget"
    # Naming no area: a ballot that no area takes gets the same refusal whatever the code.
    nowhere = {str(vw.trees.pk): 1, str(vw.south_pool.pk): 1}
    answers = {
        json.dumps(
            post(Client(), vw, {"selections": nowhere, "voter_code": code}, drf=drf).json(),
            sort_keys=True,
        )
        for code in (good, "AAAAA-AAAAA", code_of_kind(vw, "other_area"))
    }
    assert len(answers) == 1 and "code_not_accepted" not in answers.pop()
    # The good code was not spent: it still votes.
    ok = post(
        Client(),
        vw,
        {"selections": {str(vw.trees.pk): 1}, "area": vw.north.pk, "voter_code": good},
        drf=drf,
    )
    assert ok.status_code == 201


@pytest.mark.parametrize("drf", [False, True], ids=["fast-path", "drf"])
def test_two_hundred_guesses_are_stopped_with_429_and_retry_after(vw: Any, drf: bool) -> None:
    client = Client()
    statuses = []
    for i in range(200):
        guess = f"AAAAA-{i:05d}".replace("0", "A").replace("1", "C").replace("5", "D")
        response = post(
            client, vw, {"selections": {str(vw.trees.pk): 1}, "voter_code": guess}, drf=drf
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [409] * 20  # VOTER_CODE_FAILURES: 20 an hour
    assert statuses[20:] == [429] * 180
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_the_limit_is_per_client_address_and_ends_with_its_window(
    vw: Any, settings: Any, clock: Any
) -> None:
    settings.VOTER_CODE_FAILURES = "3/hour"
    [good] = vw.codes(area=vw.north)
    wrong = {"selections": {str(vw.trees.pk): 1}, "voter_code": "AAAAA-AAAAA"}
    for _ in range(3):
        assert post(Client(), vw, wrong, drf=False, REMOTE_ADDR="10.0.0.7").status_code == 409
    blocked = post(
        Client(),
        vw,
        {**wrong, "voter_code": good},
        drf=False,
        REMOTE_ADDR="10.0.0.7",
        HTTP_X_FORWARDED_FOR="192.0.2.1",  # a client cannot choose another address
    )
    assert blocked.status_code == 429 and 0 < int(blocked["Retry-After"]) <= 3600
    assert post(Client(), vw, wrong, drf=False, REMOTE_ADDR="10.0.0.8").status_code == 409
    clock.advance(hours=1, seconds=1)
    ok = post(Client(), vw, {**wrong, "voter_code": good}, drf=False, REMOTE_ADDR="10.0.0.7")
    assert ok.status_code == 201


def test_good_codes_never_count_against_an_address(vw: Any, settings: Any) -> None:
    """A household or a library's shared address votes as often as it has codes."""
    settings.VOTER_CODE_FAILURES = "2/hour"
    for code in vw.codes(5, area=vw.north):
        ballot = {"selections": {str(vw.trees.pk): 1}, "voter_code": code}
        assert post(Client(), vw, ballot, drf=False).status_code == 201


def test_the_ballot_page_slows_guessing_too(client: Any, vw: Any, settings: Any) -> None:
    settings.VOTER_CODE_FAILURES = "3/hour"
    [good] = vw.codes(area=vw.north)
    data = {"area": vw.north.pk, "with_code": "1", "choice": [vw.trees.pk]}
    cast = reverse("vote_cast", args=[vw.round.slug])
    for _ in range(3):
        wrong = client.post(cast, {**data, "voter_code": "AAAAA-AAAAA"})
        assert wrong.status_code == 400
        assert "This voter code cannot be used" in wrong.content.decode()
    blocked = client.post(cast, {**data, "voter_code": good})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    page = blocked.content.decode()
    assert "Too many wrong voter codes" in page and "Wait" in page
    assert not PendingBallot.objects.exists()


def test_a_used_code_on_the_ballot_page_reads_like_an_unknown_one(client: Any, vw: Any) -> None:
    [code] = vw.codes(area=vw.north)
    data = {"area": vw.north.pk, "with_code": "1", "choice": [vw.trees.pk]}
    cast = reverse("vote_cast", args=[vw.round.slug])
    assert client.post(cast, {**data, "voter_code": code}).status_code == 302
    used = client.post(cast, {**data, "voter_code": code})
    unknown = client.post(cast, {**data, "voter_code": "AAAAA-AAAAA"})
    assert used.status_code == unknown.status_code == 400

    def page(response: Any, typed: str) -> str:
        text = response.content.decode().replace(typed, "")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)

    assert page(used, code) == page(unknown, "AAAAA-AAAAA")


def test_each_kiosk_counts_its_own_wrong_codes(client: Any, vw: Any, settings: Any) -> None:
    """Every kiosk at a venue shares the venue's address: one kiosk's wrong codes do not stop
    the others."""
    from pb.voting.views import KIOSK_SESSION_KEY

    settings.VOTER_CODE_FAILURES = "2/hour"
    first = KioskSession.objects.create(round=vw.round, area=vw.north, label="Hall")
    second = KioskSession.objects.create(round=vw.round, area=vw.north, label="Foyer")
    data = {"voter_code": "AAAAA-AAAAA", "choice": [vw.trees.pk]}

    def at(kiosk: KioskSession) -> Client:
        device = Client()
        session = device.session
        session[KIOSK_SESSION_KEY] = str(kiosk.pk)
        session.save()
        return device

    hall = at(first)
    assert [hall.post(reverse("kiosk_cast"), data).status_code for _ in range(3)] == [
        400,
        400,
        429,
    ]
    assert at(second).post(reverse("kiosk_cast"), data).status_code == 400
