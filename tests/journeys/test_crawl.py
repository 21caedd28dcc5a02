"""Follow every link each demo role can see, from the home page and their dashboard: none of
them may answer a server error, and none may lead a person to a page that refuses them."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from pb.areas.models import Area
from tests.factories import UserFactory
from tests.journeys.test_form_markup import dangling_describedby

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PASSWORD = "demo-pass-2026"
ROLES = [
    None,
    "resident@example.org",
    "newcomer@example.org",
    "manager@example.org",
    "facilitator@example.org",
    "staff@example.org",
    "councillor@example.org",
    "admin@example.org",
]
# Not pages: the admin is Django's own, downloads are checked for their status only.
SKIP_PREFIXES = ("/admin/", "/static/", "/media/", "/api/docs/", "/api/schema/")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def crawl(
    client: Client, start: list[str], dangling: dict[str, list[str]] | None = None
) -> dict[str, tuple[int, str]]:
    """Every same-site address reachable by links from ``start``: its status and where it was
    linked from. Pages whose ``aria-describedby`` names an id they do not have are put in
    ``dangling``, when given."""
    found: dict[str, tuple[int, str]] = {}
    todo = [(path, "(start)") for path in start]
    while todo:
        path, linked_from = todo.pop()
        if path in found:
            continue
        response = client.get(path)
        found[path] = (response.status_code, linked_from)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        if dangling is not None and (missing := dangling_describedby(html)):
            dangling[path] = missing
        parser = _Links()
        parser.feed(html)
        for href in parser.hrefs:
            parts = urlsplit(urljoin(path, href))
            if parts.scheme not in ("", "http") or parts.netloc not in ("", "testserver"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not target.startswith(SKIP_PREFIXES) and target not in found:
                todo.append((target, path))
    return found


@pytest.fixture
def demo(db: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=io.StringIO())
    # A new account, not yet checked by the council, as someone who just signed up.
    newcomer = UserFactory(email="newcomer@example.org", password=PASSWORD)
    newcomer.profile.home_area = Area.objects.get(slug="marina")
    newcomer.profile.birth_year = 1999
    newcomer.profile.save()


def _log_in(client: Client, email: str) -> None:
    """Through the log-in form, as a person does: django-axes' backend needs the request, which
    ``Client.login`` does not pass."""
    response = client.post("/accounts/log-in/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, email


def test_no_link_any_demo_role_can_follow_answers_a_server_error_or_a_refusal(demo: None):
    """One demo council, crawled as each role in turn (loading it once keeps this quick)."""
    broken: dict[str, dict[str, tuple[int, str]]] = {}
    # A screen reader follows aria-describedby to a hint or an error: none may point nowhere.
    dangling: dict[str, list[str]] = {}
    for email in ROLES:
        client = Client()
        if email:
            _log_in(client, email)
        found = crawl(client, ["/", "/dashboard/"] if email else ["/"], dangling)
        # The crawl really walked the site, rounds and proposals included.
        assert len(found) > 30 and any(p.startswith("/proposals/") for p in found), email
        bad = {path: how for path, how in found.items() if how[0] >= 500 or how[0] in (403, 404)}
        if bad:
            broken[email or "a visitor"] = bad
    assert broken == {}
    assert dangling == {}


def test_the_demo_resident_who_did_not_vote_is_not_invited_to_the_voters_survey(demo: None):
    from backend.accounts.models import Notification

    note = Notification.objects.get(
        user__email="resident@example.org", subject__startswith="The results of"
    )
    assert "funded" in note.body and "survey" not in note.body
    client = Client()
    _log_in(client, "resident@example.org")
    results = client.get("/rounds/westgate-grants-2025/results/").content.decode()
    # Not the voters' survey; the survey by code (for paper, kiosk and code voters) may show.
    assert 'href="/rounds/westgate-grants-2025/survey/"' not in results
    assert 'href="/rounds/westgate-grants-2025/survey/code/"' in results


def test_the_demo_dates_hang_together_so_last_months_delivery_is_accepted(demo: None):
    """The 2025 round was counted 'today' with its rules from today, so a manager could not
    record a delivery step from before today; its timetable now runs over the last months."""
    import datetime as dt

    from django.utils import timezone

    from feedback.models import Milestone
    from pb.proposals.models import Proposal

    funded = Proposal.objects.get(title="Defibrillator at the community centre")
    client = Client()
    _log_in(client, "manager@example.org")
    url = f"/projects/{funded.pk}/delivery/"
    delivery = client.get(url)
    assert delivery.status_code == 200 and "Record progress" in delivery.content.decode()
    earlier = (timezone.localdate() - dt.timedelta(days=60)).isoformat()
    response = client.post(url, {"status": "planned", "date": earlier, "note": "Ordered"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Milestone.objects.filter(proposal=funded, date=earlier).exists()
    # Before the round's rules were published is still refused.
    too_early = (timezone.localdate() - dt.timedelta(days=400)).isoformat()
    assert client.post(url, {"status": "planned", "date": too_early}).status_code == 400
