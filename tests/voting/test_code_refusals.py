"""Refused codes are kept in PostgreSQL only as long as they count, and name no address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from pb.voting.models import CodeRefusal
from pb.voting.throttles import SurveyCodeFailures, VoterCodeFailures

pytestmark = pytest.mark.django_db


def request_from(address: str):  # type: ignore[no-untyped-def]
    return RequestFactory().post("/", REMOTE_ADDR=address)


def test_a_refusal_is_kept_under_a_keyed_hash_never_the_address(settings):
    settings.VOTER_CODE_FAILURES = "20/hour"
    VoterCodeFailures(request_from("203.0.113.7")).refused()
    [row] = CodeRefusal.objects.all()
    assert len(row.client) == 64 and "203.0.113.7" not in row.client
    settings.VOTER_CODE_KEY = "another key"  # the hash is keyed: another key, another client
    assert VoterCodeFailures(request_from("203.0.113.7")).client != row.client


def test_refusals_older_than_the_window_are_deleted_by_the_next_refusal(settings):
    settings.VOTER_CODE_FAILURES = "20/hour"
    old = VoterCodeFailures(request_from("198.51.100.1"))
    CodeRefusal.objects.create(client=old.client, at=timezone.now() - dt.timedelta(hours=2))
    CodeRefusal.objects.create(client=old.client, at=timezone.now() - dt.timedelta(minutes=30))
    VoterCodeFailures(request_from("203.0.113.9")).refused()  # anyone's refusal tidies up
    kept = sorted(CodeRefusal.objects.values_list("at", flat=True))
    assert len(kept) == 2 and kept[0] > timezone.now() - dt.timedelta(hours=1)


def test_the_limit_counts_only_refusals_within_the_window_and_says_when_it_ends(settings):
    settings.VOTER_CODE_FAILURES = "2/hour"
    here = request_from("192.0.2.4")
    first = VoterCodeFailures(here)
    CodeRefusal.objects.create(client=first.client, at=timezone.now() - dt.timedelta(minutes=61))
    first.refused()
    assert not VoterCodeFailures(here).blocked  # the one 61 minutes ago no longer counts
    VoterCodeFailures(here).refused()
    stopped = VoterCodeFailures(here)
    assert stopped.blocked and 3590 <= int(stopped.retry_after()) <= 3600


def test_voter_and_survey_codes_are_counted_apart(settings):
    settings.VOTER_CODE_FAILURES = "1/hour"
    here = request_from("192.0.2.5")
    VoterCodeFailures(here).refused()
    assert VoterCodeFailures(here).blocked
    assert not SurveyCodeFailures(here).blocked
