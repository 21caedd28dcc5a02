"""The influence survey reaches every channel: a voter without an account (a voter code online,
a kiosk, a paper ballot) gets a survey code on their receipt or on a slip handed out with the
paper, and answers the survey once with it; account voters answer with their account."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backend.errors import Conflict, DomainError, NotAllowed
from feedback.models import PendingSurveyAnswer
from feedback.services import survey_answer_with_code
from pb.models import AuditAction, AuditEntry
from pb.voting.models import PendingBallot, SurveyCode
from pb.voting.services import casting, codes
from pb.voting.services.casting import ballot_cast
from pb.voting.services.codes import survey_code_hash, survey_slips_issue
from tests.voting.conftest import VotingWorld

SURVEY_CODE = re.compile(r'<p class="receipt-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})</p>')


def test_a_voter_code_ballot_comes_with_a_survey_code_and_an_account_ballot_does_not(vw):
    account = ballot_cast(round=vw.round, voter=vw.resident, selections=[vw.trees.pk])
    assert account.survey_code == "" and not SurveyCode.objects.exists()
    [code] = vw.codes(area=vw.south)
    receipt = ballot_cast(round=vw.round, voter_code=code, selections=[vw.south_pool.pk])
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", receipt.survey_code)
    row = SurveyCode.objects.get()
    # Only the keyed hash, the round, the area and the channel: nothing of the ballot.
    assert row.code_hash == survey_code_hash(receipt.survey_code)
    assert (row.round, row.area, row.channel, row.used) == (vw.round, vw.south, "online", False)
    assert {f.name for f in SurveyCode._meta.fields} == {
        "id",
        "round",
        "area",
        "channel",
        "code_hash",
        "used",
    }


def test_the_online_receipt_shows_the_survey_code_and_where_to_use_it(client, vw):
    [code] = vw.codes(area=vw.south)
    data = {"area": vw.south.pk, "with_code": "1", "voter_code": code, "choice": [vw.south_pool.pk]}
    cast = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    page = client.get(cast["Location"]).content.decode()
    [shown] = SURVEY_CODE.findall(page)
    assert SurveyCode.objects.get().code_hash == survey_code_hash(shown)
    assert "http://testserver/rounds/city-2027/survey/code/" in page


def _one_survey_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every survey code drawn is the same: the second cast's clashes with the first's, the one
    way its insert can fail where the ballot's would not (the codes are unique)."""
    monkeypatch.setattr(casting, "survey_code_draw", lambda: "CLASHES2")
    monkeypatch.setattr(codes, "survey_code_draw", lambda: "CLASHES2")


def test_a_clashing_survey_code_still_gives_the_voter_their_receipt(vw, monkeypatch, caplog):
    _one_survey_code(monkeypatch)
    first, code = vw.codes(2, area=vw.south)
    taken = ballot_cast(round=vw.round, voter_code=first, selections=[vw.south_pool.pk])
    assert taken.survey_code == "CLAS-HES2"
    receipt = ballot_cast(round=vw.round, voter_code=code, selections=[vw.south_pool.pk])
    assert receipt.code and receipt.survey_code == ""
    assert SurveyCode.objects.count() == 1 and PendingBallot.objects.count() == 2
    with pytest.raises(Conflict):  # the ballot is in: its code is spent
        ballot_cast(round=vw.round, voter_code=code, selections=[vw.south_pool.pk])
    assert "could not make a survey code" in caplog.text


def test_a_clashing_survey_code_still_shows_the_receipt_page(client, vw, monkeypatch):
    _one_survey_code(monkeypatch)
    first, code = vw.codes(2, area=vw.south)
    ballot_cast(round=vw.round, voter_code=first, selections=[vw.south_pool.pk])
    data = {"area": vw.south.pk, "with_code": "1", "voter_code": code, "choice": [vw.south_pool.pk]}
    cast = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    assert cast.status_code == 302
    page = client.get(cast["Location"])
    assert page.status_code == 200 and "Your survey code" not in page.content.decode()
    assert not SURVEY_CODE.findall(page.content.decode())


def test_an_account_voters_receipt_sends_them_to_the_results_page_instead(client, vw):
    client.force_login(vw.resident)
    data = {"area": vw.north.pk, "choice": [vw.trees.pk]}
    cast = client.post(reverse("vote_cast", args=[vw.round.slug]), data)
    page = client.get(cast["Location"]).content.decode()
    assert "Your survey code" not in page
    assert "the round's results page asks you three short questions" in page


def test_a_kiosk_receipt_shows_a_survey_code(client, vw):
    [code] = vw.codes(area=vw.north)
    client.force_login(vw.staff)
    client.post(
        reverse("kiosk_desk", args=[vw.round.slug]),
        {"unlock": "1", "area": vw.north.pk, "label": "Hall"},
    )
    client.get(reverse("kiosk_choose"))
    done = client.post(reverse("kiosk_cast"), {"voter_code": code, "choice": [vw.trees.pk]})
    page = done.content.decode()
    [shown] = SURVEY_CODE.findall(page)
    row = SurveyCode.objects.get()
    assert row.code_hash == survey_code_hash(shown) and row.channel == "kiosk"
    assert "/rounds/city-2027/survey/code/" in page


def test_staff_print_survey_slips_for_paper_ballots_from_the_paper_desk(client, vw):
    client.force_login(vw.staff)
    desk = client.get(reverse("paper_desk", args=[vw.round.slug])).content.decode()
    url = reverse("paper_survey_slips", args=[vw.round.slug])
    assert url in desk
    assert client.get(url).status_code == 200
    sheet = client.post(url, {"area": vw.north.pk, "count": "3"})
    html = sheet.content.decode()
    assert sheet.status_code == 200 and "3 survey slips for North" in html
    assert "no-store" in sheet["Cache-Control"]  # the codes are shown once: never cached
    codes = SURVEY_CODE.findall(html)
    assert len(set(codes)) == 3
    assert sorted(SurveyCode.objects.values_list("code_hash", flat=True)) == sorted(
        survey_code_hash(c) for c in codes
    )
    assert set(SurveyCode.objects.values_list("channel", "area")) == {("paper", vw.north.pk)}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"count": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"count": "5000"}, "Ensure this value is less than or equal to 1000."),
        ({"count": "many"}, "Enter a whole number."),
        ({"count": "3", "area": ""}, "This field is required."),
    ],
)
def test_bad_slip_requests_are_field_errors(client, vw, data, error):
    client.force_login(vw.staff)
    response = client.post(
        reverse("paper_survey_slips", args=[vw.round.slug]), {"area": vw.north.pk, **data}
    )
    assert response.status_code == 400 and error in response.content.decode()
    assert not SurveyCode.objects.exists()


def test_residents_cannot_print_slips_and_nobody_once_voting_has_closed(client, vw):
    client.force_login(vw.resident)
    assert client.get(reverse("paper_survey_slips", args=[vw.round.slug])).status_code == 403
    vw.set(phase="counting")
    with pytest.raises(DomainError):
        survey_slips_issue(actor=vw.staff, round=vw.round, area=vw.north, count=1)
    assert not SurveyCode.objects.exists()


REFUSED = "We cannot take an answer with this survey code."


@pytest.fixture
def slips(vw: VotingWorld) -> list[str]:
    codes = survey_slips_issue(actor=vw.staff, round=vw.round, area=vw.south, count=2)
    vw.set(phase="results")
    return codes


def test_a_paper_voter_answers_the_survey_once_with_their_slip(client, vw, slips):
    url = reverse("outcome_survey_code", args=[vw.round.slug])
    assert client.get(url).status_code == 200
    answer = {"code": slips[0].lower(), "influence": "tend_to_agree", "satisfaction": "4"}
    assert client.post(url, answer).status_code == 200
    pending = PendingSurveyAnswer.objects.get()
    assert pending.area == vw.south and pending.influence == "tend_to_agree"
    assert SurveyCode.objects.get(code_hash=survey_code_hash(slips[0])).used
    again = client.post(url, {**answer, "influence": "definitely_disagree"})
    assert again.status_code == 400 and REFUSED in again.content.decode()
    assert PendingSurveyAnswer.objects.count() == 1
    assert PendingSurveyAnswer.objects.get().influence == "tend_to_agree"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"code": "ZZZZ-ZZZZ", "influence": "tend_to_agree"}, "We cannot take an answer"),
        ({"code": "", "influence": "tend_to_agree"}, "This field is required."),
        ({"code": "slip", "influence": ""}, "Answer at least one question."),
    ],
)
def test_a_bad_survey_code_or_answer_is_a_field_error(client, vw, slips, data, error):
    data = {**data, "code": slips[1] if data["code"] == "slip" else data["code"]}
    response = client.post(reverse("outcome_survey_code", args=[vw.round.slug]), data)
    html = response.content.decode()
    assert response.status_code == 400 and error in html
    assert not PendingSurveyAnswer.objects.exists()
    assert not SurveyCode.objects.filter(used=True).exists()


def test_the_survey_by_code_waits_for_the_results(client, vw):
    [code] = survey_slips_issue(actor=vw.staff, round=vw.round, area=vw.north, count=1)
    page = client.get(reverse("outcome_survey_code", args=[vw.round.slug]))
    assert "opens once the votes are counted" in page.content.decode()
    vw.set(phase="counting")
    with pytest.raises(DomainError):
        survey_answer_with_code(round=vw.round, code=code, influence="tend_to_agree")


def test_someone_without_an_account_vote_is_shown_the_way_to_the_survey_by_code(client, vw):
    client.force_login(vw.resident)  # voted by code, or not at all: no account vote
    vw.set(phase="results")
    page = client.get(reverse("outcome_survey", args=[vw.round.slug]))
    assert page.status_code == 403
    assert reverse("outcome_survey_code", args=[vw.round.slug]) in page.content.decode()


def test_the_api_receipt_of_a_voter_code_carries_its_survey_code(vw):
    from rest_framework.test import APIClient

    [code] = vw.codes(area=vw.north)
    response = APIClient().post(
        f"/api/v1/rounds/{vw.round.pk}/ballots/",
        {"voter_code": code, "area": vw.north.pk, "selections": [vw.trees.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert SurveyCode.objects.get().code_hash == survey_code_hash(response.json()["survey_code"])


def test_a_code_from_another_round_does_not_answer_this_one(vw, slips):
    vw.other_round.phase = "results"
    vw.other_round.save(update_fields=["phase"])
    with pytest.raises(DomainError) as refused:
        survey_answer_with_code(round=vw.other_round, code=slips[0], influence="tend_to_agree")
    assert "code" in refused.value.fields
    survey_answer_with_code(round=vw.round, code=slips[0], influence="tend_to_agree")
    with pytest.raises(Conflict):
        survey_answer_with_code(round=vw.round, code=slips[0], influence="tend_to_agree")


def _without_noise(html: str) -> str:
    """The page minus what differs from one request to the next (the CSRF token, the nonce)."""
    return re.sub(r'(value|nonce)="[^"]*"', "", html)


def test_a_used_code_and_an_unknown_one_are_answered_alike(client, vw, slips):
    url = reverse("outcome_survey_code", args=[vw.round.slug])
    answer = {"influence": "tend_to_agree"}
    assert client.post(url, {**answer, "code": slips[0]}).status_code == 200
    used = client.post(url, {**answer, "code": slips[0]})
    unknown = client.post(url, {**answer, "code": "ZZZZ-ZZZZ"})
    assert used.status_code == unknown.status_code == 400
    assert REFUSED in used.content.decode()
    assert _without_noise(used.content.decode()).replace(slips[0], "") == _without_noise(
        unknown.content.decode()
    ).replace("ZZZZ-ZZZZ", "")


def test_too_many_refused_survey_codes_from_one_client_wait(client, vw, slips, settings):
    settings.VOTER_CODE_FAILURES = "3/hour"
    url = reverse("outcome_survey_code", args=[vw.round.slug])
    answer = {"influence": "tend_to_agree"}
    assert client.post(url, {**answer, "code": slips[0]}).status_code == 200
    statuses = [
        client.post(url, {**answer, "code": code}).status_code
        for code in (slips[0], "ZZZZ-ZZZZ", "YYYY-YYYY")
    ]
    assert statuses == [400, 400, 400]  # the used code counts as a refusal too
    blocked = client.post(url, {**answer, "code": slips[1]}, REMOTE_ADDR="127.0.0.1")
    html = blocked.content.decode()
    assert blocked.status_code == 429 and "Too many survey codes were refused here" in html
    assert int(blocked["Retry-After"]) > 0
    assert not SurveyCode.objects.get(code_hash=survey_code_hash(slips[1])).used
    other = Client(REMOTE_ADDR="10.0.0.9").post(url, {**answer, "code": slips[1]})
    assert other.status_code == 200  # another client is not held back


def test_each_batch_of_slips_is_in_the_audit_log_with_its_count_not_its_codes(vw):
    codes = survey_slips_issue(actor=vw.staff, round=vw.round, area=vw.north, count=3)
    entry = AuditEntry.objects.get(action=AuditAction.VOTING_SURVEY_SLIPS)
    assert (entry.actor, entry.round, entry.area) == (vw.staff, vw.round, vw.north)
    assert entry.details == {"count": 3, "area": vw.north.pk, "phase": "voting"}
    assert not any(survey_code_hash(c) in str(entry.details) for c in codes)


@pytest.mark.parametrize("phase", ["draft", "intake", "review"])
def test_no_slips_before_voting_opens(client, vw, phase):
    vw.set(phase=phase)
    with pytest.raises(NotAllowed) as refused:
        survey_slips_issue(actor=vw.staff, round=vw.round, area=vw.north, count=1)
    assert refused.value.code == "wrong_phase"
    assert not SurveyCode.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.VOTING_SURVEY_SLIPS).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_outside_a_transaction_the_survey_code_is_written_in_the_ballots_statement(
    clock, monkeypatch
):
    # As from a request: no transaction around the cast. The participation, the survey code and
    # the pending ballot are one statement (one commit), with no savepoint; a clashing survey
    # code leaves the ballot in and the connection usable.
    vw = VotingWorld()
    first, code, other = vw.codes(3, area=vw.south)
    with CaptureQueriesContext(connection) as queries:
        receipt = ballot_cast(round=vw.round, voter_code=first, selections=[vw.south_pool.pk])
    [write] = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    assert "pb_surveycode" in write and "pb_pendingballot" in write
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert SurveyCode.objects.get().code_hash == survey_code_hash(receipt.survey_code)
    _one_survey_code(monkeypatch)
    ballot_cast(round=vw.round, voter_code=code, selections=[vw.south_pool.pk])
    receipt = ballot_cast(round=vw.round, voter_code=other, selections=[vw.south_pool.pk])
    assert receipt.code and receipt.survey_code == ""
    assert SurveyCode.objects.count() == 2 and PendingBallot.objects.count() == 3
    with pytest.raises(Conflict):
        ballot_cast(round=vw.round, voter_code=other, selections=[vw.south_pool.pk])
