"""Round and proposal pages through HTTP: forms show field errors and change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pb.models import AuditEntry
from pb.proposals.models import Proposal
from pb.proposals.services import proposal_create
from pb.rounds.models import Round
from pb.rounds.services import round_set_phase_windows, round_update_rules

pytestmark = pytest.mark.django_db


def test_round_page_explains_the_round_and_lists_proposals(client, world):
    proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="Benches",
        description="Six.",
        estimated_cost=120_000,
        theme=world.parks,
    )
    html = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert "£100,000" in html and "Benches" in html and "People aged 16 or over" in html
    filtered = client.get(
        reverse("round_detail", args=[world.round.slug]), {"area": world.south.pk}
    ).content.decode()
    assert "Benches" not in filtered and "No proposals match yet." in filtered


def test_draft_rounds_are_hidden_from_the_public(client, world):
    world.set_phase("draft")
    assert client.get(reverse("round_detail", args=[world.round.slug])).status_code == 404
    client.force_login(world.manager)
    assert client.get(reverse("round_detail", args=[world.round.slug])).status_code == 200


def test_proposal_form_shows_field_errors_and_stores_nothing(client, world):
    client.force_login(world.resident)
    url = reverse("proposal_new", args=[world.round.slug])
    response = client.post(
        url, {"title": "", "description": "x", "area": world.north.pk, "estimated_cost": "-5"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert not Proposal.objects.exists()
    response = client.post(
        url,
        {"title": "Big", "description": "x", "area": world.north.pk, "estimated_cost": "200,000"},
    )
    assert response.status_code == 400
    assert "more than the round&#x27;s whole budget" in response.content.decode()
    response = client.post(
        url, {"title": "Big", "description": "x", "area": world.north.pk, "estimated_cost": "lots"}
    )
    assert "Enter an amount in numbers" in response.content.decode()
    assert not Proposal.objects.exists()


def test_a_resident_submits_edits_and_sees_the_decision(client, world):
    client.force_login(world.resident)
    response = client.post(
        reverse("proposal_new", args=[world.round.slug]),
        {
            "title": "Benches",
            "description": "Six benches.",
            "area": world.north.pk,
            "theme": world.parks.pk,
            "estimated_cost": "1,200",
        },
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and proposal.estimated_cost == 120_000
    client.post(
        reverse("proposal_edit", args=[proposal.pk]),
        {
            "title": "Benches by the lake",
            "description": "Six benches.",
            "area": world.north.pk,
            "estimated_cost": "1,500.50",
        },
    )
    proposal.refresh_from_db()
    assert proposal.title == "Benches by the lake" and proposal.estimated_cost == 150_050

    world.set_phase("review")
    client.force_login(world.manager)
    queue = client.get(reverse("review_queue", args=[world.round.slug, "north"]))
    assert "Benches by the lake" in queue.content.decode()
    response = client.post(
        reverse("proposal_review", args=[proposal.pk]),
        {"decision": "feasible", "council_cost": "2,000", "reason": "We can do this in spring."},
    )
    assert response.status_code == 302

    client.force_login(world.resident)
    page = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert "We can do this in spring." in page and "£2,000" in page
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "On the ballot" in dashboard


def test_review_by_a_manager_of_another_area_is_forbidden(client, world):
    proposal = proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="B",
        description="d",
        estimated_cost=1,
    )
    world.set_phase("review")
    client.force_login(world.other_manager)
    response = client.post(
        reverse("proposal_review", args=[proposal.pk]),
        {"decision": "feasible", "council_cost": "1", "reason": "ok"},
    )
    assert response.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == "submitted"


def test_edit_after_review_started_shows_an_error_and_changes_nothing(client, world):
    proposal = proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="B",
        description="d",
        estimated_cost=1,
    )
    world.set_phase("review")
    client.force_login(world.resident)
    response = client.post(
        reverse("proposal_edit", args=[proposal.pk]),
        {"title": "Changed", "description": "d", "area": world.north.pk, "estimated_cost": "1"},
    )
    assert response.status_code == 400
    assert "review has started" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.title == "B"


def test_manager_moves_the_phase_on_with_confirmation_and_reason(client, world):
    client.force_login(world.manager)
    url = reverse("round_manage", args=[world.round.slug])
    unconfirmed = client.post(url, {"advance": "1", "to_phase": "review", "reason": "Done"})
    assert unconfirmed.status_code == 400
    no_reason = client.post(url, {"advance": "1", "to_phase": "review", "confirm": "on"})
    assert no_reason.status_code == 400
    assert Round.objects.get(pk=world.round.pk).phase == "intake"
    done = client.post(
        url, {"advance": "1", "to_phase": "review", "confirm": "on", "reason": "Enough proposals"}
    )
    assert done.status_code == 302
    assert Round.objects.get(pk=world.round.pk).phase == "review"


def test_frozen_rules_are_shown_as_fixed(client, world):
    world.set_phase("voting")
    client.force_login(world.manager)
    html = client.get(reverse("round_manage", args=[world.round.slug])).content.decode()
    assert "budget, rules and eligibility are fixed" in html
    response = client.post(
        reverse("round_manage", args=[world.round.slug]),
        {
            "save_rules": "1",
            "budget": "1",
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
        },
    )
    assert response.status_code == 403
    assert "can no longer change" in response.content.decode()
    assert Round.objects.get(pk=world.round.pk).budget == 10_000_000


def test_audit_log_page_and_csv_for_managers_and_councillors_only(client, world):
    round_update_rules(actor=world.manager, round=world.round, budget=9_000_000, reason="Cut")
    url = reverse("audit_log", args=[world.round.slug])
    client.force_login(world.resident)
    assert client.get(url).status_code == 403
    client.force_login(world.councillor)
    assert "round.update" in client.get(url).content.decode()
    csv_text = client.get(url, {"format": "csv"}).content.decode()
    assert csv_text.splitlines()[0] == "when,who,action,proposal,area,reason,details"
    assert "north-manager@example.org,round.update" in csv_text
    assert AuditEntry.objects.count() == 1


def test_a_manager_creates_a_round_from_the_browser_form(client, world):
    client.force_login(world.manager)
    response = client.post(
        reverse("round_new"),
        {
            "name": "North 2028",
            "style": "city",
            "budget": "50,000",
            "areas": [world.north.pk],
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
        },
    )
    assert response.status_code == 302
    assert Round.objects.get(name="North 2028").budget == 5_000_000
    refused = client.post(
        reverse("round_new"),
        {
            "name": "South grab",
            "style": "city",
            "budget": "50,000",
            "areas": [world.south.pk],
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
        },
    )
    assert refused.status_code == 400
    assert not Round.objects.filter(name="South grab").exists()


def test_round_page_offers_a_map_only_for_proposals_with_a_location(client, world):
    proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="Pond benches",
        description="d",
        estimated_cost=1,
        latitude=54.07,
        longitude=-2.86,
    )
    proposal_create(
        author=world.resident,
        round=world.round,
        area=world.north,
        title="Somewhere",
        description="d",
        estimated_cost=1,
    )
    response = client.get(reverse("round_detail", args=[world.round.slug]))
    points = response.context["map_points"]
    assert [p["title"] for p in points] == ["Pond benches"]
    html = response.content.decode()
    assert 'id="proposal-points"' in html and "leaflet.js" in html
    # Without the map the list still has both proposals.
    assert "Pond benches" in html and "Somewhere" in html


def test_a_picture_is_checked_and_stored_with_its_description(client, world):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "green").save(buffer, "PNG")
    client.force_login(world.resident)
    url = reverse("proposal_new", args=[world.round.slug])
    fields = {
        "title": "Mural",
        "description": "A mural.",
        "area": world.north.pk,
        "estimated_cost": "900",
        "image_alt": "A green wall",
    }
    fake = SimpleUploadedFile("mural.png", b"not really a picture", content_type="image/png")
    refused = client.post(url, {**fields, "image": fake})
    assert refused.status_code == 400 and not Proposal.objects.exists()
    real = SimpleUploadedFile("mural.png", buffer.getvalue(), content_type="image/png")
    assert client.post(url, {**fields, "image": real}).status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.image.name.startswith("proposals/") and proposal.image_alt == "A green wall"
    html = client.get(reverse("proposal_detail", args=[proposal.pk])).content.decode()
    assert 'alt="A green wall"' in html


def test_beat_task_advances_rounds(world):
    import datetime as dt

    from django.utils import timezone

    from pb.rounds.tasks import advance_due_phases

    now = timezone.now()
    round_set_phase_windows(
        actor=world.manager,
        round=world.round,
        windows=[
            ("review", now - dt.timedelta(hours=1), now + dt.timedelta(days=3)),
        ],
    )
    assert advance_due_phases.delay().get() == [(world.round.pk, "review")]
    assert Round.objects.get(pk=world.round.pk).phase == "review"


def test_round_page_queries_do_not_grow_with_proposals(
    client, world, django_assert_max_num_queries
):
    for i in range(12):
        proposal_create(
            author=world.resident,
            round=world.round,
            area=world.north,
            title=f"Idea {i}",
            description="d",
            estimated_cost=100,
            theme=world.parks,
        )
    with django_assert_max_num_queries(10):
        response = client.get(reverse("round_detail", args=[world.round.slug]))
    assert response.content.decode().count("Idea ") >= 12


def test_manager_sets_the_timetable_and_bad_dates_are_refused(client, world):
    client.force_login(world.manager)
    url = reverse("round_manage", args=[world.round.slug])
    half = client.post(url, {"save_timetable": "1", "review_start": "2027-01-10T09:00"})
    assert half.status_code == 400 and "Give both the start and the end" in half.content.decode()
    backwards = client.post(
        url,
        {
            "save_timetable": "1",
            "review_start": "2027-01-10T09:00",
            "review_end": "2027-01-01T09:00",
        },
    )
    assert backwards.status_code == 400 and "must end after it starts" in backwards.content.decode()
    assert not world.round.phase_windows.exists()
    ok = client.post(
        url,
        {
            "save_timetable": "1",
            "review_start": "2027-01-10T09:00",
            "review_end": "2027-01-20T17:00",
            "voting_start": "2027-02-01T09:00",
            "voting_end": "2027-02-14T22:00",
        },
    )
    assert ok.status_code == 302
    assert [w.phase for w in world.round.phase_windows.all()] == ["review", "voting"]
    page = client.get(reverse("round_detail", args=[world.round.slug])).content.decode()
    assert "1 Feb 2027" in page


def test_the_new_round_form_ticks_areas_from_the_tree_they_are(client, world):
    """A manager choosing the areas of a new round sees a ward's neighbourhoods grouped under it,
    as residents do when they pick one (issue 15: areas as a tree everywhere)."""
    from tests.factories import AreaFactory

    marina = AreaFactory(name="Marina", slug="marina", parent=world.north)
    world.manager.managed_areas.add(marina)
    client.force_login(world.manager)
    html = client.get(reverse("round_new")).content.decode()
    areas = html.split('id="id_areas"', 1)[1].split('class="field', 1)[0]
    # The ward's group holds its neighbourhood and the ward itself, under its own name.
    group = areas.split(f"<label>{world.north.name}</label>", 1)[1]
    assert f'value="{marina.pk}"' in group
    assert f'value="{world.north.pk}"' in group
    assert "Elsewhere in" not in areas
    created = client.post(
        reverse("round_new"),
        {
            "name": "North and Marina 2028",
            "style": "city",
            "budget": "50,000",
            "areas": [world.north.pk, marina.pk],
            "min_age": "16",
            "ballot_type": "approval_budget",
            "rule": "greedy",
        },
    )
    assert created.status_code == 302
    round_ = Round.objects.get(name="North and Marina 2028")
    assert set(round_.areas.values_list("pk", flat=True)) == {world.north.pk, marina.pk}
