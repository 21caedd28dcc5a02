"""Closing the vote counts the round with no manual step; the pages and files that follow."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from pb.counting.models import Tally
from pb.counting.tasks import tally_round
from pb.rounds.services import round_advance_due_phases, round_advance_phase
from tests.counting.conftest import CountWorld


def test_closing_the_vote_by_hand_counts_the_round_after_commit(
    cw: CountWorld, django_capture_on_commit_callbacks: Any
):
    cw.cast(cw.north, cw.bench)
    cw.cast(cw.south, cw.mural)
    with django_capture_on_commit_callbacks(execute=True):
        round_advance_phase(
            actor=cw.manager, round=cw.round, to_phase="counting", reason="Polls closed at 8pm"
        )
    assert Tally.objects.filter(round=cw.round).count() == 2
    cw.round.refresh_from_db()
    assert cw.round.phase == "results"


def test_the_vote_closing_on_its_date_counts_the_round(
    cw: CountWorld, django_capture_on_commit_callbacks: Any
):
    import datetime as dt

    from django.utils import timezone

    from pb.rounds.models import PhaseWindow

    now = timezone.now()
    PhaseWindow.objects.create(
        round=cw.round,
        phase="counting",
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(days=1),
    )
    cw.cast(cw.north, cw.bench)
    with django_capture_on_commit_callbacks(execute=True):
        round_advance_due_phases(now=now)
    assert Tally.objects.filter(round=cw.round, area=cw.north).exists()


def test_the_task_is_safe_to_run_twice(cw: CountWorld):
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    first = tally_round.delay(cw.round.pk).get()
    second = tally_round.delay(cw.round.pk).get()
    assert [r["tally"] for r in first] == [r["tally"] for r in second]
    assert Tally.objects.filter(round=cw.round).count() == 2
    assert tally_round.delay(999_999).get() == []


def test_the_count_page_lists_every_project_with_its_reason(cw: CountWorld, client: Any):
    cw.cast(cw.north, cw.bench, cw.lights)
    cw.cast(cw.north, cw.bench, cw.trees)
    cw.set_phase("counting")
    from pb.counting.services import round_count

    round_count(round=cw.round)
    response = client.get(reverse("round_tally", args=[cw.round.slug]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Benches" in body
    assert "Funded (1st): 2 votes; funded in order of score while the money lasted." in body
    assert "python -m pb.tally city-2027-north-ballots.pb --rule greedy" in body


def test_the_count_page_before_closing_says_nothing_is_counted(cw: CountWorld, client: Any):
    response = client.get(reverse("round_tally", args=[cw.round.slug]))
    assert response.status_code == 200
    assert "Voting has not closed yet" in response.content.decode()


def test_a_manager_counts_by_hand_and_a_resident_cannot(cw: CountWorld, client: Any):
    cw.cast(cw.north, cw.bench)
    cw.set_phase("counting")
    url = reverse("round_count", args=[cw.round.slug])
    client.force_login(cw.resident)
    assert client.post(url).status_code == 404
    assert not Tally.objects.exists()
    client.force_login(cw.manager)
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert Tally.objects.filter(round=cw.round).count() == 2


def test_ballot_files_download_and_bad_requests_get_a_clear_answer(cw: CountWorld, client: Any):
    cw.cast(cw.north, cw.bench)
    url_pb = reverse("ballots_file", args=[cw.round.slug, "pb"])
    early = client.get(url_pb + "?area=north")
    assert early.status_code == 403
    assert "once voting has closed" in early.content.decode()

    cw.set_phase("results")
    no_area = client.get(url_pb)
    assert no_area.status_code == 400
    assert "north" in no_area.content.decode()
    assert client.get(url_pb + "?area=nowhere").status_code == 400
    assert client.get(reverse("ballots_file", args=[cw.round.slug, "xlsx"])).status_code == 404

    ok = client.get(url_pb + "?area=north")
    assert ok.status_code == 200
    assert ok["Content-Disposition"] == 'attachment; filename="city-2027-north-ballots.pb"'
    assert "VOTES" in ok.content.decode()
    csv_ok = client.get(reverse("ballots_file", args=[cw.round.slug, "csv"]) + "?area=north")
    lines = csv_ok.content.decode().splitlines()
    assert lines[0].startswith("# Ballots in a random order, with no receipt codes")
    assert lines[1] == "area,channel,choices"


def test_a_count_that_cannot_run_is_recorded_for_the_managers(cw: CountWorld):
    from pb.models import AuditEntry
    from pb.rounds.models import RoundArea

    RoundArea.objects.filter(round=cw.round, area=cw.south).update(allocation=None)
    cw.set_phase("counting")
    assert tally_round.delay(cw.round.pk).get() == []
    failure = AuditEntry.objects.get(round=cw.round, action="round.count_failed")
    assert "South has no money allocated" in failure.reason
    cw.round.refresh_from_db()
    assert cw.round.phase == "counting"
    from django.test import Client

    page = Client().get(reverse("round_tally", args=[cw.round.slug])).content.decode()
    assert "The count could not finish:" in page and "South has no money allocated" in page


def test_the_round_page_links_to_the_count_once_voting_has_closed(cw: CountWorld, client: Any):
    url = reverse("round_detail", args=[cw.round.slug])
    tally_url = reverse("round_tally", args=[cw.round.slug])
    assert tally_url not in client.get(url).content.decode()
    cw.set_phase("results")
    assert tally_url in client.get(url).content.decode()


def test_the_api_reads_tallies_and_lets_managers_count(cw: CountWorld, client: Any):
    cw.cast(cw.north, cw.bench)
    count_url = f"/api/v1/rounds/{cw.round.pk}/count/"
    tally_url = f"/api/v1/rounds/{cw.round.pk}/tally/"

    assert client.post(count_url).status_code in {401, 403}
    client.force_login(cw.manager)
    early = client.post(count_url)
    assert early.status_code == 403
    assert "once voting has closed" in early.json()["error"]["detail"]

    cw.set_phase("counting")
    client.force_login(cw.resident)
    assert client.post(count_url).status_code == 403
    assert not Tally.objects.exists()
    client.force_login(cw.manager)
    counted = client.post(count_url)
    assert counted.status_code == 200
    assert [t["area"] for t in counted.json()] == ["north", "south"]

    client.logout()
    read = client.get(tally_url).json()
    north = read[0]["outcome"]
    assert north["winners"] == [str(cw.bench.pk)]
    assert north["projects"][str(cw.bench.pk)]["reason"] == "funded"
    assert client.get("/api/v1/rounds/999999/tally/").status_code == 404
