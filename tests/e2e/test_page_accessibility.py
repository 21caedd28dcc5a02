"""Every page of the rounds, visited as the person who uses it, passes axe-core."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from tests.e2e.conftest import assert_accessible, log_out
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, email):
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


@pytest.mark.slow
def test_demo_council_pages_are_accessible_for_each_role(page, live_server):
    call_command("load_demo", verbosity=0)
    newcomer = UserFactory(email="newcomer@example.org", display_name="New Comer")
    newcomer.profile.home_area = Area.objects.get(slug="harbour")
    newcomer.profile.birth_year = 1999
    newcomer.profile.save()  # waits on the manager's check page
    city = Round.objects.get(slug="city-2027")
    review = Round.objects.get(slug="harbour-green-2026")
    proposal = Proposal.objects.filter(round=review).first()

    public = [
        "/",
        f"/rounds/{city.slug}/",
        f"/rounds/{review.slug}/",
        f"/proposals/{proposal.pk}/",
        "/accounts/password-reset/",
        "/rounds/westgate-grants-2025/tally/",
        "/rounds/westgate-grants-2025/results/",
        "/rounds/westgate-grants-2025/survey/code/",
    ]
    # Each page must have loaded: an error page can pass axe too.
    for path in public:
        assert page.goto(live_server.url + path).status == 200, path
        assert_accessible(page)

    log_in(page, live_server, "manager@example.org")
    for path in [
        "/dashboard/",
        "/rounds/new/",
        f"/rounds/{city.slug}/manage/",
        f"/rounds/{city.slug}/split/",
        f"/rounds/{review.slug}/review/marina/",
        f"/proposals/{proposal.pk}/review/",
        f"/rounds/{city.slug}/audit/",
        "/accounts/residents/check/",
    ]:
        assert page.goto(live_server.url + path).status == 200, path
        assert page.locator("h1").count() == 1, path
        assert_accessible(page)
    log_out(page)

    log_in(page, live_server, "resident@example.org")
    for path in [
        "/dashboard/",
        "/accounts/profile/",
        f"/rounds/{city.slug}/propose/",
        f"/rounds/{city.slug}/priorities/",
    ]:
        assert page.goto(live_server.url + path).status == 200, path
        assert_accessible(page)
