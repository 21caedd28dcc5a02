"""Least privilege (issue 13, items 1 to 3): who may act on which area of a round, and when.

First the issue's reproductions at the service level, then the same cells through the pages
and the API: role x scope x action x phase, the allowed cells and the refused ones. A refused
cell changes nothing in the database and answers a clear page (403, or the form again with the
reason) or a 4xx JSON body in the API; never a 500.

The world: a round of North and South. North's manager created it (the *owner*); South has its
own manager, who is not the owner; an admin, event staff, a councillor, a checked resident.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.accounts.models import Role
from backend.errors import Conflict, DomainError, NotAllowed
from pb import rules as pb_rules
from pb.models import AuditEntry
from pb.proposals.models import Proposal, ProposalStatus
from pb.rounds.models import Round, RoundArea, RoundStyle
from pb.rounds.services import round_advance_phase, round_set_phase_windows, round_update_rules
from pb.services.residents import profile_verify
from pb.split import formula as split
from pb.split.models import ThemeRanking
from pb.split.services import (
    split_compute,
    split_configure,
    split_override,
    split_publish,
    themes_rank,
)
from pb.voting.models import DecisionDay, KioskSession, PaperBallot, PaperEntry, VoterCode
from pb.voting.services.codes import voter_code_hash, voter_codes_issue
from pb.voting.services.decision_day import decision_day_close, decision_day_open
from pb.voting.services.kiosk import kiosk_lock, kiosk_unlock
from pb.voting.services.paper import paper_entry_add, paper_reconcile
from tests.factories import UserFactory
from tests.pb.conftest import World

pytestmark = pytest.mark.django_db


class Scoped(World):
    """World plus an admin, event staff, a second South manager and a shortlist in each area."""

    def __init__(self) -> None:
        super().__init__(phase="deliberation")
        self.owner, self.south_manager = self.manager, self.other_manager
        self.south_manager2 = UserFactory(role=Role.MANAGER, email="south-2@example.org")
        self.south.managers.add(self.south_manager2)
        self.admin = UserFactory(role=Role.ADMIN, email="admin@example.org")
        self.staff = UserFactory(role=Role.EVENT_STAFF, email="staff@example.org")
        self.anonymous = None
        self.north_bid = self._bid("North benches", self.north)
        self.south_bid = self._bid("South lights", self.south)
        self.south_bid2 = self._bid("South mural", self.south)
        split_configure(
            actor=self.owner,
            round=self.round,
            criteria=split.criteria_to_config(split.PORTO_ALEGRE_ROUND_PRESET),
        )
        split_compute(actor=self.owner, round=self.round)
        self.round.refresh_from_db()

    def _bid(self, title: str, area: Any) -> Proposal:
        return Proposal.objects.create(
            round=self.round,
            area=area,
            title=title,
            description=f"{title}.",
            estimated_cost=100_000,
            status=ProposalStatus.FEASIBLE,
        )


@pytest.fixture
def sw(db: Any) -> Scoped:
    return Scoped()


def snapshot(sw: Scoped) -> tuple[Any, ...]:
    """Everything a refused action might have changed."""
    round_ = Round.objects.get(pk=sw.round.pk)
    return (
        VoterCode.objects.count(),
        KioskSession.objects.count(),
        PaperEntry.objects.count(),
        ThemeRanking.objects.count(),
        tuple(
            RoundArea.objects.filter(round=sw.round)
            .order_by("area_id")
            .values_list("allocation", "override_reason")
        ),
        round_.phase,
        round_.min_age,
        round_.budget,
        round_.split_published_at,
        tuple(Proposal.objects.order_by("pk").values_list("status", flat=True)),
        round_.phase_windows.count(),
    )


# --- Item 1, at the service level: a manager of one area runs only that area -------------------


def test_a_manager_of_one_area_cannot_mint_codes_for_another(sw):
    with pytest.raises(NotAllowed):
        voter_codes_issue(actor=sw.south_manager, round=sw.round, count=5, area=sw.north)
    assert not VoterCode.objects.exists()
    codes = voter_codes_issue(actor=sw.south_manager, round=sw.round, count=5, area=sw.south)
    assert len(codes) == 5 and VoterCode.objects.filter(area=sw.south).count() == 5


def test_no_area_less_codes_in_a_round_of_several_areas(sw):
    for actor in (sw.south_manager, sw.owner, sw.admin, None):
        with pytest.raises(DomainError) as exc:
            voter_codes_issue(actor=actor, round=sw.round, count=5, area=None)
        assert "area" in exc.value.fields
    assert not VoterCode.objects.exists()


def test_the_command_line_also_needs_an_area_in_a_round_of_several_areas(sw, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "codes.csv"
    with pytest.raises(CommandError, match="several areas"):
        call_command("issue_voter_codes", sw.round.pk, "--count", "3", "--out", str(out))
    assert not VoterCode.objects.exists() and not out.exists()


def test_area_less_codes_are_still_fine_in_a_single_area_round(sw):
    RoundArea.objects.filter(round=sw.round, area=sw.south).delete()
    assert len(voter_codes_issue(actor=sw.owner, round=sw.round, count=2)) == 2


def test_codes_for_an_area_of_another_round_are_refused(sw):
    with pytest.raises(DomainError) as exc:
        voter_codes_issue(actor=sw.admin, round=sw.round, count=5, area=sw.elsewhere)
    assert "area" in exc.value.fields
    assert not VoterCode.objects.exists()


def test_while_voting_is_open_only_an_admin_mints_codes_with_a_reason_and_the_record_names_them(
    sw,
):
    sw.set_phase("voting")
    with pytest.raises(NotAllowed) as exc:
        voter_codes_issue(actor=sw.owner, round=sw.round, count=3, area=sw.north, reason="x")
    assert exc.value.code == "voting_open"
    with pytest.raises(DomainError) as exc:
        voter_codes_issue(actor=sw.admin, round=sw.round, count=3, area=sw.north, reason="  ")
    assert "reason" in exc.value.fields
    assert not VoterCode.objects.exists()
    codes = voter_codes_issue(
        actor=sw.admin, round=sw.round, count=3, area=sw.north, reason="Letters lost in the post"
    )
    entry = AuditEntry.objects.get(action="voting.codes_issued")
    assert entry.actor == sw.admin and entry.area == sw.north
    assert entry.reason == "Letters lost in the post"
    assert sorted(entry.details["code_hashes"]) == sorted(voter_code_hash(c) for c in codes)
    assert entry.details["area"] == sw.north.pk and entry.details["phase"] == "voting"


def test_a_manager_of_one_area_cannot_override_another_areas_split(sw):
    before = snapshot(sw)
    with pytest.raises(NotAllowed):
        split_override(
            actor=sw.south_manager, round=sw.round, area=sw.north, amount=100, reason="Mine now"
        )
    assert snapshot(sw) == before
    split_override(
        actor=sw.south_manager, round=sw.round, area=sw.south, amount=5_000_000, reason="Pool"
    )
    assert RoundArea.objects.get(round=sw.round, area=sw.south).allocation == 5_000_000
    # The owner answers for the split as a whole, so may change any area's line.
    split_override(actor=sw.owner, round=sw.round, area=sw.south, amount=4_000_000, reason="Fix")
    with pytest.raises(DomainError) as exc:
        split_override(actor=sw.admin, round=sw.round, area=sw.elsewhere, amount=1, reason="x")
    assert "area" in exc.value.fields


def test_round_wide_settings_belong_to_the_owner_or_an_admin(sw, clock):
    before = snapshot(sw)
    start = clock.now()
    refused = [
        lambda a: round_update_rules(actor=a, round=sw.round, min_age=99),
        lambda a: round_update_rules(actor=a, round=sw.round, budget=1),
        lambda a: round_set_phase_windows(
            actor=a,
            round=sw.round,
            windows=[("voting", start, start + dt.timedelta(days=365))],
        ),
        lambda a: round_advance_phase(actor=a, round=sw.round, to_phase="voting", reason="Now"),
        lambda a: split_configure(
            actor=a,
            round=sw.round,
            criteria=split.criteria_to_config(split.PORTO_ALEGRE_ROUND_PRESET),
        ),
        lambda a: split_compute(actor=a, round=sw.round),
        lambda a: split_publish(actor=a, round=sw.round),
    ]
    for action in refused:
        for actor in (sw.south_manager, sw.staff, sw.councillor, sw.resident):
            with pytest.raises(NotAllowed):
                action(actor)
    assert snapshot(sw) == before
    round_update_rules(actor=sw.owner, round=sw.round, min_age=18)
    round_update_rules(actor=sw.admin, round=sw.round, min_age=17)
    split_publish(actor=sw.owner, round=sw.round)
    sw.round.refresh_from_db()
    assert sw.round.min_age == 17 and sw.round.split_published_at is not None


def test_counting_by_hand_moves_the_whole_round_so_only_its_owner_or_an_admin_does_it(sw):
    from pb.counting.models import Tally
    from pb.counting.services import round_count

    sw.set_phase("counting")
    for actor in (sw.south_manager, sw.staff, sw.councillor):
        with pytest.raises(NotAllowed):
            round_count(round=sw.round, actor=actor)
    assert not Tally.objects.exists() and Round.objects.get(pk=sw.round.pk).phase == "counting"
    round_count(round=sw.round, actor=sw.owner)
    assert Round.objects.get(pk=sw.round.pk).phase == "results"


def test_an_owner_demoted_from_manager_no_longer_owns_the_round(sw):
    sw.owner.role = Role.RESIDENT
    sw.owner.save(update_fields=["role"])
    with pytest.raises(NotAllowed):
        round_update_rules(actor=sw.owner, round=sw.round, min_age=99)


def test_kiosks_and_paper_are_scoped_to_the_areas_a_manager_runs(sw):
    sw.set_phase("voting")
    with pytest.raises(NotAllowed):
        kiosk_unlock(actor=sw.owner, round=sw.round, area=sw.south)
    with pytest.raises(NotAllowed):
        paper_entry_add(
            actor=sw.owner, round=sw.round, serial="S1", area=sw.south, selections=[sw.south_bid.pk]
        )
    assert not KioskSession.objects.exists() and not PaperEntry.objects.exists()
    kiosk = kiosk_unlock(actor=sw.south_manager, round=sw.round, area=sw.south)
    with pytest.raises(NotAllowed):
        kiosk_lock(actor=sw.owner, kiosk=kiosk)
    assert KioskSession.objects.get().active
    # Event staff work at any event of the round.
    kiosk_lock(actor=sw.staff, kiosk=kiosk)
    paper_entry_add(
        actor=sw.staff, round=sw.round, serial="S1", area=sw.south, selections=[sw.south_bid.pk]
    )


def test_managing_an_area_gives_nothing_in_a_round_that_area_is_not_in(sw):
    """The rule every area-scoped action of a round asks (pb.rules.can_act_in_area, which the
    reconciliation page calls directly): managing the area is not enough, the round must take
    it. The services refuse the area on its own as well."""
    outsider = UserFactory(role=Role.MANAGER, email="elsewhere@example.org")
    sw.elsewhere.managers.add(outsider)
    assert pb_rules.can_act_in_area(sw.south_manager, sw.round, sw.south)
    assert not pb_rules.can_act_in_area(outsider, sw.round, sw.elsewhere)
    assert not pb_rules.can_act_in_area(sw.admin, sw.round, sw.elsewhere)
    sw.set_phase("voting")
    with pytest.raises(DomainError) as exc:
        kiosk_unlock(actor=outsider, round=sw.round, area=sw.elsewhere)
    assert "area" in exc.value.fields
    assert not KioskSession.objects.exists()


def test_only_the_rounds_owner_opens_a_decision_day_vote_not_another_areas_manager(sw):
    Round.objects.filter(pk=sw.round.pk).update(style=RoundStyle.DECISION_DAY)
    sw.round.refresh_from_db()
    with pytest.raises(NotAllowed):
        decision_day_open(actor=sw.south_manager, round=sw.round)
    sw.round.refresh_from_db()
    assert sw.round.phase == "deliberation" and not DecisionDay.objects.exists()
    decision_day_open(actor=sw.owner, round=sw.round)
    sw.round.refresh_from_db()
    assert sw.round.phase == "voting" and DecisionDay.objects.get().opened_at is not None


def test_a_decision_day_vote_that_is_not_open_cannot_be_closed(sw):
    Round.objects.filter(pk=sw.round.pk).update(style=RoundStyle.DECISION_DAY)
    sw.round.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        decision_day_close(actor=sw.owner, round=sw.round)
    assert "not open" in refused.value.message
    sw.round.refresh_from_db()
    assert sw.round.phase == "deliberation"
    assert not DecisionDay.objects.filter(closed_at__isnull=False).exists()


def test_a_draft_proposal_is_seen_by_its_author_and_its_areas_managers_only(client, sw):
    draft = Proposal.objects.create(
        round=sw.round,
        area=sw.south,
        author=sw.resident,
        title="A secret draft",
        description="Not ready.",
        estimated_cost=1_000,
        status=ProposalStatus.DRAFT,
    )
    url = f"/proposals/{draft.pk}/"
    for who, seen in [
        (None, False),
        (sw.councillor, False),
        (sw.owner, False),
        (sw.resident, True),
        (sw.south_manager, True),
    ]:
        client.logout()
        if who is not None:
            client.force_login(who)
        answer = client.get(url)
        assert answer.status_code == (200 if seen else 404), who
        assert ("A secret draft" in answer.content.decode()) is seen, who


# --- Item 2: two people --------------------------------------------------------------------------


def _mismatch(sw: Scoped, first: Any) -> PaperBallot:
    sw.set_phase("voting")
    paper_entry_add(
        actor=first, round=sw.round, serial="P1", area=sw.south, selections=[sw.south_bid.pk]
    )
    return paper_entry_add(
        actor=sw.staff, round=sw.round, serial="P1", area=sw.south, selections=[sw.south_bid2.pk]
    )


def test_the_keyer_of_a_paper_ballot_cannot_key_it_again_nor_settle_its_mismatch(sw):
    paper = _mismatch(sw, sw.south_manager)
    assert paper.status == "mismatch"
    with pytest.raises(NotAllowed) as exc:
        paper_reconcile(actor=sw.south_manager, paper=paper, decision="first", reason="Mine")
    assert exc.value.code == "same_person"
    with pytest.raises(NotAllowed):  # nor the other keyer, nor a manager of another area
        paper_reconcile(actor=sw.staff, paper=paper, decision="first", reason="x")
    with pytest.raises(NotAllowed):
        paper_reconcile(actor=sw.owner, paper=paper, decision="first", reason="x")
    paper.refresh_from_db()
    assert paper.status == "mismatch" and paper.decided_by is None
    settled = paper_reconcile(
        actor=sw.south_manager2, paper=paper, decision="second", reason="Cross on the mural"
    )
    assert settled.status == "resolved" and settled.decided_by == sw.south_manager2


def test_nobody_confirms_their_own_profile(sw):
    profile = sw.south_manager.profile
    profile.home_area, profile.birth_year = sw.south, 1970
    profile.save()
    with pytest.raises(NotAllowed) as exc:
        profile_verify(actor=sw.south_manager, profile=profile, confirmed=True)
    assert exc.value.code == "same_person"
    profile.refresh_from_db()
    assert not profile.verified
    profile_verify(actor=sw.south_manager2, profile=profile, confirmed=True)
    profile.refresh_from_db()
    assert profile.verified


# --- Item 3: checked residents only rank priorities ----------------------------------------------


def _declared(home: Any, verified: bool = False) -> Any:
    user = UserFactory()
    user.profile.home_area, user.profile.birth_year = home, 1990
    user.profile.verified = verified
    user.profile.save()
    return user


def test_only_checked_residents_rank_priorities_and_only_their_rankings_feed_the_split(sw):
    from pb.split import selectors as split_selectors

    sw.set_phase("priorities")
    fresh = [_declared(sw.north) for _ in range(5)]
    for user in fresh:
        with pytest.raises(NotAllowed) as exc:
            themes_rank(actor=user, round=sw.round, themes=[sw.roads])
        assert exc.value.code == "not_eligible"
    assert not ThemeRanking.objects.exists()
    themes_rank(actor=sw.resident, round=sw.round, themes=[sw.parks])
    # A ranking made while checked stops counting when the check is withdrawn.
    checked = _declared(sw.north, verified=True)
    themes_rank(actor=checked, round=sw.round, themes=[sw.roads])
    assert split_selectors.theme_priorities(round=sw.round) == {
        sw.north.pk: {sw.parks.pk: 4, sw.roads.pk: 4}
    }
    checked.profile.verified = False
    checked.profile.save()
    assert split_selectors.theme_priorities(round=sw.round) == {sw.north.pk: {sw.parks.pk: 4}}


def test_an_unchecked_resident_reads_the_priorities_page_and_is_told_how_to_get_checked(client, sw):
    sw.set_phase("priorities")
    client.force_login(_declared(sw.north))
    url = reverse("priorities", args=[sw.round.slug])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "the council has checked" in html
    assert f'href="{reverse("profile")}#check-heading"' in html
    assert "How to get checked" in html
    refused = client.post(url, {"position_1": sw.roads.pk})
    assert refused.status_code in (200, 400)
    assert not ThemeRanking.objects.exists()
    detail = client.get(reverse("round_detail", args=[sw.round.slug])).content.decode()
    assert "#check-heading" in detail


# --- The same cells through the pages and the API -------------------------------------------------

ROLES = ("owner", "south_manager", "admin", "staff", "councillor", "resident", "anonymous")


def _client(sw: Scoped, role: str, client: Any) -> Any:
    user = getattr(sw, role)
    if user is not None:
        client.force_login(user)
    return client


def _api(sw: Scoped, role: str) -> APIClient:
    api = APIClient()
    user = getattr(sw, role)
    if user is not None:
        api.force_authenticate(user)
    return api


def _page_action(sw: Scoped, client: Any, action: str) -> Any:
    slug = sw.round.slug
    if action.startswith("codes_"):
        area = {"codes_north": sw.north.pk, "codes_south": sw.south.pk, "codes_any": ""}[action]
        return client.post(
            reverse("voter_codes", args=[slug]),
            {"count": 2, "area": area, "reason": "Letters lost in the post"},
        )
    if action == "kiosk_south":
        return client.post(
            reverse("kiosk_desk", args=[slug]),
            {"unlock": "1", "area": sw.south.pk, "label": "Hall", "language": "en-gb"},
        )
    if action == "paper_south":
        return client.post(
            reverse("paper_desk", args=[slug]),
            {"area": sw.south.pk, "serial": "Z9", "choice": [sw.south_bid.pk]},
        )
    if action.startswith("override_"):
        area = sw.south if action == "override_south" else sw.north
        return client.post(
            reverse("round_split", args=[slug]),
            {"override": "1", "area": area.pk, "amount": "1", "reason": "Because"},
        )
    if action == "publish_split":
        return client.post(reverse("round_split", args=[slug]), {"publish": "1"})
    if action == "rules_page":
        return client.post(
            reverse("round_manage", args=[slug]),
            {
                "save_rules": "1",
                "budget": "100000",
                "min_age": "99",
                "ballot_type": "approval_budget",
                "rule": "greedy",
                "reason": "Older voters only",
            },
        )
    raise AssertionError(action)


# role -> allowed, per (action, phase). Anything not listed as allowed is refused.
PAGE_CELLS: dict[tuple[str, str], set[str]] = {
    ("codes_north", "deliberation"): {"owner", "admin"},
    ("codes_south", "deliberation"): {"south_manager", "admin"},
    ("codes_any", "deliberation"): set(),
    ("codes_north", "voting"): {"admin"},
    ("codes_south", "voting"): {"admin"},
    ("kiosk_south", "voting"): {"south_manager", "admin", "staff"},
    ("paper_south", "voting"): {"south_manager", "admin", "staff"},
    ("override_south", "deliberation"): {"owner", "south_manager", "admin"},
    ("override_north", "deliberation"): {"owner", "admin"},
    ("override_south", "voting"): set(),
    ("publish_split", "deliberation"): {"owner", "admin"},
    ("rules_page", "deliberation"): {"owner", "admin"},
    ("rules_page", "voting"): set(),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "phase"), list(PAGE_CELLS))
def test_page_matrix(client, sw, role, action, phase):
    sw.set_phase(phase)
    before = snapshot(sw)
    response = _page_action(sw, _client(sw, role, client), action)
    allowed = role in PAGE_CELLS[(action, phase)]
    assert response.status_code < 500
    if allowed:
        assert response.status_code in (200, 302), response.content.decode()[:2000]
        assert snapshot(sw) != before
        if action.startswith("codes_"):
            assert response.content.decode().count('class="code-card"') == 2
        return
    assert snapshot(sw) == before
    if role == "anonymous":
        assert response.status_code == 302 and "/log-in/" in response["Location"]
    else:
        # The form again with the reason on it (400), or a page that says no (403, 404).
        assert response.status_code in (400, 403, 404), response.status_code
        html = response.content.decode()
        if response.status_code == 400:
            assert "error-summary" in html or "error-message" in html or "message-error" in html


def _api_action(sw: Scoped, api: APIClient, action: str) -> Any:
    base = f"/api/v1/rounds/{sw.round.pk}/"
    if action == "rules_api":
        return api.post(base + "rules/", {"min_age": 99}, format="json")
    if action == "advance_api":
        return api.post(base + "advance/", {"to_phase": "voting", "reason": "Now"}, format="json")
    if action == "review_south_api":
        proposal = Proposal.objects.create(
            round=sw.round,
            area=sw.south,
            title="Bins",
            description="Bins.",
            estimated_cost=1,
            status=ProposalStatus.SUBMITTED,
        )
        return api.post(
            f"/api/v1/proposals/{proposal.pk}/review/",
            {"decision": "feasible", "council_cost": 1, "reason": "Fine."},
            format="json",
        )
    raise AssertionError(action)


API_CELLS: dict[tuple[str, str], set[str]] = {
    ("rules_api", "deliberation"): {"owner", "admin"},
    ("rules_api", "voting"): set(),
    ("advance_api", "deliberation"): {"owner", "admin"},
    ("review_south_api", "review"): {"south_manager", "admin"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "phase"), list(API_CELLS))
def test_api_matrix(sw, role, action, phase):
    sw.set_phase(phase)
    before = snapshot(sw)
    response = _api_action(sw, _api(sw, role), action)
    after = snapshot(sw)
    if role in API_CELLS[(action, phase)]:
        assert response.status_code == 200, response.json()
        assert after != before
        return
    assert response.status_code in (401, 403, 404), response.status_code
    assert set(response.json()["error"]) == {"status", "code", "detail", "fields"}
    assert after[:-2] == before[:-2]  # the review proposal is new; its status must not move
    assert not Proposal.objects.filter(status=ProposalStatus.FEASIBLE, title="Bins").exists()


def test_the_issue_reproduction_through_the_api_a_non_owner_cannot_change_the_rules(sw):
    response = _api(sw, "south_manager").post(
        f"/api/v1/rounds/{sw.round.pk}/rules/", {"min_age": 99}, format="json"
    )
    assert response.status_code == 403
    assert "owner" in response.json()["error"]["detail"]
    sw.round.refresh_from_db()
    assert sw.round.min_age != 99


# --- Bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "area", ["", "abc", "elsewhere", "999999"], ids=["empty", "non-numeric", "other-round", "none"]
)
def test_bad_areas_for_codes_get_the_form_again(client, sw, area):
    value = str(sw.elsewhere.pk) if area == "elsewhere" else area
    client.force_login(sw.admin)
    response = client.post(
        reverse("voter_codes", args=[sw.round.slug]), {"count": 2, "area": value}
    )
    assert response.status_code == 400
    assert 'class="code-card"' not in response.content.decode()
    assert not VoterCode.objects.exists()


def test_codes_while_voting_without_a_reason_get_the_form_again(client, sw):
    sw.set_phase("voting")
    url = reverse("voter_codes", args=[sw.round.slug])
    client.force_login(sw.owner)
    assert "only an administrator can make more codes" in client.get(url).content.decode()
    client.force_login(sw.admin)
    assert "only an administrator can make more codes" not in client.get(url).content.decode()
    response = client.post(
        reverse("voter_codes", args=[sw.round.slug]), {"count": 2, "area": sw.north.pk}
    )
    assert response.status_code == 400
    assert "Say why codes are needed" in response.content.decode()
    assert not VoterCode.objects.exists()


@pytest.mark.parametrize("area", ["abc", "elsewhere", ""])
def test_bad_areas_for_a_split_override_get_the_form_again(client, sw, area):
    before = snapshot(sw)
    value = str(sw.elsewhere.pk) if area == "elsewhere" else area
    client.force_login(sw.owner)
    response = client.post(
        reverse("round_split", args=[sw.round.slug]),
        {"override": "1", "area": value, "amount": "1", "reason": "x"},
    )
    assert response.status_code == 400
    assert snapshot(sw) == before


def test_a_split_override_without_a_reason_is_refused(sw):
    before = snapshot(sw)
    with pytest.raises(DomainError) as exc:
        split_override(actor=sw.owner, round=sw.round, area=sw.south, amount=1, reason=" ")
    assert "reason" in exc.value.fields
    assert snapshot(sw) == before


def test_non_numeric_and_unknown_ids_answer_404_or_the_page_never_500(client, sw):
    sw.set_phase("voting")
    client.force_login(sw.south_manager)
    lock = client.post(reverse("kiosk_desk", args=[sw.round.slug]), {"lock": "not-a-uuid"})
    assert lock.status_code == 404
    settle = client.post(
        reverse("paper_reconcile", args=[sw.round.slug]),
        {"paper": "x", "decision": "first", "reason": "r"},
    )
    assert settle.status_code == 200
    kiosk = client.post(
        reverse("kiosk_desk", args=[sw.round.slug]),
        {"unlock": "1", "area": str(sw.elsewhere.pk), "label": "", "language": "en-gb"},
    )
    assert kiosk.status_code == 400 and not KioskSession.objects.exists()
    for url in ("/api/v1/rounds/abc/rules/", "/api/v1/rounds/999999/rules/"):
        response = _api(sw, "admin").post(url, {"min_age": 99}, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_keyer_is_refused_on_the_reconciliation_page_too(client, sw):
    paper = _mismatch(sw, sw.south_manager)
    client.force_login(sw.south_manager)
    response = client.post(
        reverse("paper_reconcile", args=[sw.round.slug]),
        {"paper": paper.pk, "decision": "first", "reason": "I know what I meant"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ballot P1" in html and "another manager of the area decides it" in html
    assert 'name="paper" value' not in html  # no form to settle their own paper
    paper.refresh_from_db()
    assert paper.status == "mismatch"
    # Another manager of South gets the form; North's manager does not see South's paper.
    client.force_login(sw.south_manager2)
    html = client.get(reverse("paper_reconcile", args=[sw.round.slug])).content.decode()
    assert f'name="paper" value="{paper.pk}"' in html
    client.force_login(sw.owner)
    html = client.get(reverse("paper_reconcile", args=[sw.round.slug])).content.decode()
    assert "Ballot P1" not in html


def test_the_self_check_is_refused_on_the_residents_page_too(client, sw):
    profile = sw.south_manager.profile
    profile.home_area, profile.birth_year = sw.south, 1970
    profile.save()
    client.force_login(sw.south_manager)
    waiting = client.get(reverse("residents_check")).content.decode()
    assert f'name="profile" value="{profile.pk}"' not in waiting  # not offered to them at all
    client.force_login(sw.south_manager2)
    assert (
        f'name="profile" value="{profile.pk}"'
        in client.get(reverse("residents_check")).content.decode()
    )
    client.force_login(sw.south_manager)
    response = client.post(
        reverse("residents_check"),
        {"profile": profile.pk, "decision": "confirm", "reason": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert "Nobody checks their own details" in response.content.decode()
    profile.refresh_from_db()
    assert not profile.verified
