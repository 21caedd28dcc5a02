"""Letters for the register from a page: a manager makes one code per resident of their area
without one and downloads the mail-merge file; every other role is turned away."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from backend.accounts.models import Role
from backend.errors import DomainError, NotAllowed
from pb.models import AuditAction, AuditEntry
from pb.services.register import match_key
from pb.voting.models import RegisterEntry, VoterCode
from pb.voting.selectors import letters_waiting
from pb.voting.services.codes import letters_csv, register_codes_issue
from tests.factories import AreaFactory, UserFactory
from tests.voting.conftest import VotingWorld

URL = "/rounds/city-2027/voter-codes/letters/"


def _entry(area: Any, name: str) -> RegisterEntry:
    return RegisterEntry.objects.create(
        area=area,
        name=name,
        postcode="N1 1AA",
        birth_year=1980,
        match_key=match_key(name, "N1 1AA", 1980),
    )


@pytest.fixture
def letters(vw: VotingWorld) -> VotingWorld:
    """Before voting opens: North has two residents on its register (one in a street of it),
    South one."""
    vw.set(phase="deliberation")
    street = AreaFactory(name="North Street", slug="north-street", parent=vw.north)
    _entry(vw.north, "Ann Jones")
    _entry(street, '=HYPERLINK("http://evil.example","x")')
    _entry(vw.south, "Sam South")
    return vw


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


# --- Service ----------------------------------------------------------------------------------


def test_a_manager_of_another_area_is_refused_before_the_register_is_read(
    letters: VotingWorld,
) -> None:
    south_only = UserFactory(role=Role.MANAGER)
    letters.south.managers.add(south_only)
    with pytest.raises(NotAllowed):
        register_codes_issue(actor=south_only, round=letters.round, area=letters.north)
    register_codes_issue(actor=None, round=letters.round, area=letters.north)
    # Even with every letter made, the refusal is about the person, not the register.
    with pytest.raises(NotAllowed):
        register_codes_issue(actor=south_only, round=letters.round, area=letters.north)


def test_the_file_has_one_line_per_resident_and_neutralises_formulas(
    letters: VotingWorld,
) -> None:
    pairs = register_codes_issue(actor=letters.manager, round=letters.round, area=letters.north)
    rows = _rows(letters_csv(round=letters.round, area=letters.north, pairs=pairs).encode())
    assert {r["name"] for r in rows} == {"Ann Jones", '\'=HYPERLINK("http://evil.example","x")'}
    assert all(r["round"] == "city-2027" and r["area"] == "north" for r in rows)
    assert all(len(r["voter_code"]) == 11 for r in rows)


def test_letters_waiting_counts_residents_without_a_code(letters: VotingWorld) -> None:
    areas = [letters.north, letters.south]
    assert letters_waiting(round=letters.round, areas=areas) == {
        letters.north.pk: 2,
        letters.south.pk: 1,
    }
    register_codes_issue(actor=None, round=letters.round, area=letters.north)
    assert letters_waiting(round=letters.round, areas=areas)[letters.north.pk] == 0


# --- Page -------------------------------------------------------------------------------------


def test_a_manager_clicks_from_the_dashboard_to_the_letters(
    client: Any, letters: VotingWorld
) -> None:
    client.force_login(letters.manager)
    manage = "/rounds/city-2027/manage/"
    assert manage in client.get("/dashboard/").content.decode()
    assert URL in client.get(manage).content.decode()
    page = client.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Residents waiting for a letter" in text and "North" in text


def test_a_manager_downloads_the_mail_merge_file(client: Any, letters: VotingWorld) -> None:
    client.force_login(letters.manager)
    got = client.post(URL, {"area": letters.north.pk})
    assert got.status_code == 200
    assert got["Content-Type"].startswith("text/csv")
    assert 'filename="city-2027-north-letters.csv"' in got["Content-Disposition"]
    assert "no-store" in got["Cache-Control"]
    assert len(_rows(got.content)) == 2
    assert VoterCode.objects.filter(register_entry__isnull=False).count() == 2
    assert AuditEntry.objects.get(action=AuditAction.VOTING_CODES_ISSUED).actor == letters.manager
    again = client.post(URL, {"area": letters.north.pk})
    assert again.status_code == 400
    assert "Every resident on this area" in str(again.context["form"].errors["area"])
    assert VoterCode.objects.count() == 2


@pytest.mark.parametrize("area", ["", "abc", "999999", "ELSEWHERE"])
def test_a_bad_area_is_a_field_error(client: Any, letters: VotingWorld, area: str) -> None:
    client.force_login(letters.manager)
    value = str(letters.elsewhere.pk) if area == "ELSEWHERE" else area
    page = client.post(URL, {"area": value})
    assert page.status_code == 400
    assert page.context["form"].errors["area"]
    assert not VoterCode.objects.exists()


def test_a_manager_of_another_area_sees_and_makes_only_theirs(
    client: Any, letters: VotingWorld
) -> None:
    south_only = UserFactory(role=Role.MANAGER)
    letters.south.managers.add(south_only)
    client.force_login(south_only)
    page = client.get(URL)
    assert page.status_code == 200
    assert [a for a, _n in page.context["areas"]] == [letters.south]
    refused = client.post(URL, {"area": letters.north.pk})
    assert refused.status_code == 400 and refused.context["form"].errors["area"]
    assert not VoterCode.objects.exists()
    made = client.post(URL, {"area": letters.south.pk})
    assert made.status_code == 200 and [r["name"] for r in _rows(made.content)] == ["Sam South"]


@pytest.mark.parametrize(
    "role", [Role.RESIDENT, Role.FACILITATOR, Role.EVENT_STAFF, Role.COUNCILLOR]
)
def test_other_roles_are_turned_away(client: Any, letters: VotingWorld, role: str) -> None:
    client.force_login(UserFactory(role=role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"area": letters.north.pk}).status_code == 403
    assert not VoterCode.objects.exists()


def test_visitors_are_sent_to_log_in(client: Any, letters: VotingWorld) -> None:
    assert client.get(URL).status_code == 302
    assert client.post(URL, {"area": letters.north.pk}).status_code == 302
    assert not VoterCode.objects.exists()


def test_while_voting_only_an_admin_with_a_reason_makes_letters(
    client: Any, letters: VotingWorld
) -> None:
    letters.set(phase="voting")
    client.force_login(letters.manager)
    assert "only an administrator" in client.get(URL).content.decode()
    assert client.post(URL, {"area": letters.north.pk}).status_code == 403
    admin = UserFactory(role=Role.ADMIN)
    client.force_login(admin)
    no_reason = client.post(URL, {"area": letters.north.pk})
    assert no_reason.status_code == 400 and no_reason.context["form"].errors["reason"]
    assert not VoterCode.objects.exists()
    made = client.post(URL, {"area": letters.north.pk, "reason": "Letters lost in the post"})
    assert made.status_code == 200 and len(_rows(made.content)) == 2


def test_after_voting_no_letters_are_made(client: Any, letters: VotingWorld) -> None:
    letters.set(phase="counting")
    client.force_login(letters.manager)
    page = client.post(URL, {"area": letters.north.pk})
    assert page.status_code == 403
    assert "Voting has closed" in page.content.decode()
    with pytest.raises(DomainError):
        register_codes_issue(actor=None, round=letters.round, area=letters.north)
