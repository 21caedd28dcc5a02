"""The anonymous voter-code cast answered in front of Django's handler (pb.voting.fast_path,
wrapped around the WSGI application gunicorn serves) answers what the whole chain answers:
status, body and every header. Each request goes through ``backend.wsgi.application`` and,
to compare, through Django's own handler (``backend.wsgi.django_application``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, close_old_connections, connection
from django.http import HttpResponse
from django.http.response import ResponseHeaders
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from backend.wsgi import application, django_application
from pb.voting.api import BallotCreateView
from pb.voting.fast_path import BallotCastApp
from pb.voting.models import Participation, PendingBallot, RegisterEntry, SurveyCode, VoterCode
from pb.voting.sealing import MIN_BATCH
from pb.voting.services.codes import register_codes_issue, survey_code_hash, voter_code_hash
from tests.voting.conftest import VotingWorld

pytestmark = pytest.mark.django_db

# Headers whose value is new on every answer.
FRESH = {"X-Request-ID"}


def url(vw: Any, pk: int | None = None) -> str:
    return f"/api/v1/rounds/{vw.round.pk if pk is None else pk}/ballots/"


@contextmanager
def _test_connection_kept() -> Iterator[None]:
    """As Django's test client does: the handler's signals must not close the test's database
    connection (and with it the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def wsgi(app: Any, path: str, body: bytes, **extra: Any) -> HttpResponse:
    """POST ``body`` as JSON to the WSGI application ``app``; its answer as an HttpResponse."""
    environ = RequestFactory().post(path, body, content_type="application/json", **extra).environ
    answered: list[Any] = []
    with _test_connection_kept():
        chunks = app(
            environ, lambda status, headers, exc_info=None: answered.append((status, headers))
        )
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    [(status, headers)] = answered
    response = HttpResponse(content, status=int(status.split()[0]))
    response.headers = ResponseHeaders(dict(headers))
    response.raw_headers = headers  # type: ignore[attr-defined]  # a name twice would show here
    return response


def cast(vw: Any, payload: Any, *, pk: int | None = None, app: Any = None, **extra: Any) -> Any:
    body = json.dumps(payload).encode()
    response = wsgi(app or application, url(vw, pk), body, **extra)
    response.json = lambda: json.loads(response.content)  # type: ignore[attr-defined]
    return response


def both(vw: Any, payload: Any, **extra: Any) -> tuple[Any, Any]:
    """The same request through the fast path and through Django's handler alone."""
    fast = cast(vw, payload(), **extra)
    chain = cast(vw, payload(), app=django_application, **extra)
    return fast, chain


def headers(response: Any) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.raw_headers if k not in FRESH)


def test_the_server_s_application_answers_casts_in_front_of_django():
    from django.conf import settings

    assert settings.WSGI_APPLICATION == "backend.wsgi.application"
    assert application.app is django_application


def test_an_anonymous_code_cast_never_reaches_the_view_and_a_cookie_still_does(vw):
    [code] = vw.codes(area=vw.north)
    payload = {"voter_code": code, "selections": [vw.trees.pk]}
    resolve(url(vw))  # the URLs are loaded (as_view reads dispatch) before it is replaced
    reached = HttpResponse(status=418)
    with mock.patch.object(BallotCreateView, "dispatch", return_value=reached) as view:
        assert cast(vw, payload).status_code == 201
        assert not view.called
        # A session cookie (even a made-up one) means DRF's path, through the whole chain.
        assert cast(vw, payload, HTTP_COOKIE="sessionid=not-a-session").status_code == 418
        assert view.called
    assert PendingBallot.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [b"voter_code=AAAAA-AAAAA&selections=1", b"{not json", b'{"voter_code": 5, "selections": []}'],
    ids=["form", "not_json", "code_not_text"],
)
def test_a_body_the_fast_path_does_not_take_reaches_the_view_whole(vw, body):
    seen: list[bytes] = []

    def dispatch(self: Any, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        seen.append(request.body)
        return HttpResponse(status=418)

    resolve(url(vw))  # the URLs are loaded (as_view reads dispatch) before it is replaced
    with mock.patch.object(BallotCreateView, "dispatch", dispatch):
        response = wsgi(application, url(vw), body)
    assert response.status_code == 418 and seen == [body]


def test_a_201_has_the_same_headers_and_body_shape_as_through_the_whole_chain(vw):
    codes = iter(vw.codes(2, area=vw.north))
    fast, chain = both(vw, lambda: {"voter_code": next(codes), "selections": [vw.trees.pk]})
    assert fast.status_code == chain.status_code == 201
    assert headers(fast) == headers(chain)
    a, b = fast.json(), chain.json()
    assert a.keys() == b.keys() and a["receipt"] != b["receipt"]
    fresh = {"receipt", "receipt_hash", "survey_code"}  # new for every cast
    assert {k: v for k, v in a.items() if k not in fresh} == {
        k: v for k, v in b.items() if k not in fresh
    }
    assert PendingBallot.objects.count() == 2


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    SECURE_HSTS_SECONDS=3600,
)
def test_behind_the_tls_proxy_casts_are_answered_here_with_the_chain_s_headers(vw):
    # As in production: nginx ends TLS and says so in X-Forwarded-Proto; gunicorn sees http.
    codes = iter(vw.codes(2, area=vw.north))
    django_app = WSGIHandler()  # the middleware read their settings when made, as at a start
    proxied = {"HTTP_X_FORWARDED_PROTO": "https"}
    resolve(url(vw))  # the URLs are loaded (as_view reads dispatch) before it is replaced
    with mock.patch.object(BallotCreateView, "dispatch", return_value=HttpResponse(status=418)):
        fast = cast(
            vw,
            {"voter_code": next(codes), "selections": [vw.trees.pk]},
            app=BallotCastApp(django_app),
            **proxied,
        )
    assert fast.status_code == 201  # answered in front, never reaching the view
    chain = cast(
        vw, {"voter_code": next(codes), "selections": [vw.trees.pk]}, app=django_app, **proxied
    )
    assert chain.status_code == 201 and headers(fast) == headers(chain)
    assert fast["Strict-Transport-Security"].startswith("max-age=3600")
    plain = cast(vw, {"voter_code": "AAAAA-AAAAA", "selections": []}, app=BallotCastApp(django_app))
    assert plain.status_code == 301  # no X-Forwarded-Proto: the chain's redirect


def test_a_body_too_large_for_a_ballot_is_the_chain_s_400(vw):
    [code] = vw.codes(area=vw.north)
    payload = {"voter_code": code, "selections": [vw.trees.pk], "padding": "x" * 3_000_000}
    fast, chain = both(vw, lambda: payload)
    assert fast.status_code == chain.status_code == 400
    assert not PendingBallot.objects.exists()


@pytest.mark.postgres
def test_the_casting_statement_is_prepared_after_a_few_casts(vw):
    teach(vw)
    for code in vw.codes(6, area=vw.north):
        assert cast(vw, {"voter_code": code, "selections": [vw.trees.pk]}).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(statement.startswith("WITH k AS") for statement in prepared)


@override_settings(SECURE_HSTS_SECONDS=3600)
def test_over_https_the_answer_has_the_chain_s_hsts_header(vw):
    codes = iter(vw.codes(2, area=vw.north))
    # The middleware read their settings when the handler was made, as at a server's start.
    django_app = WSGIHandler()
    fast = cast(
        vw,
        {"voter_code": next(codes), "selections": [vw.trees.pk]},
        secure=True,
        app=BallotCastApp(django_app),
    )
    chain = cast(
        vw, {"voter_code": next(codes), "selections": [vw.trees.pk]}, secure=True, app=django_app
    )
    assert fast.status_code == chain.status_code == 201
    assert headers(fast) == headers(chain)
    assert fast["Strict-Transport-Security"].startswith("max-age=3600")


def teach(vw: Any) -> None:
    """An anonymous cast in North and one in South, so this process knows the round's areas and
    the cache their ballots: from then on a cast there is one statement
    (pb.voting.services.casting._cast_with_code_sql), and a refusal is worded from that
    statement's row as before."""
    for area, choice in ((vw.north, vw.trees), (vw.south, vw.south_pool)):
        [code] = vw.codes(area=area)
        assert cast(vw, {"voter_code": code, "selections": [choice.pk]}).status_code == 201


@pytest.mark.parametrize("taught", [False, True], ids=["first_cast", "round_known"])
@pytest.mark.parametrize("language", ["", "cy"])
@pytest.mark.parametrize(
    "case",
    ["unknown_code", "used_code", "over_budget", "other_area", "wrong_phase", "draft", "no_round"],
)
def test_refusals_are_the_same_word_for_word_with_the_same_headers(vw, case, language, taught):
    if taught:
        teach(vw)
    written = PendingBallot.objects.count()
    [code] = vw.codes(area=vw.north)
    good = {"voter_code": code, "selections": [vw.trees.pk]}
    payload = good
    pk = None
    if case == "unknown_code":
        payload = {**good, "voter_code": "AAAAA-AAAAA"}
    elif case == "used_code":
        assert cast(vw, good).status_code == 201
    elif case == "over_budget":
        payload = {**good, "selections": [vw.trees.pk, vw.lights.pk, vw.mural.pk]}
    elif case == "other_area":
        payload = {**good, "area": vw.south.pk, "selections": [vw.south_pool.pk]}
    elif case == "wrong_phase":
        vw.set(phase="counting")
    elif case == "draft":
        vw.set(phase="draft")
    else:
        pk = vw.round.pk + 1000
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    fast = cast(vw, payload, pk=pk, **extra)
    chain = cast(vw, payload, pk=pk, app=django_application, **extra)
    assert fast.status_code == chain.status_code and fast.status_code in (400, 403, 404, 409)
    assert fast.content == chain.content
    assert headers(fast) == headers(chain)
    if language:
        assert fast["Content-Language"] == "cy"
    assert PendingBallot.objects.count() == written + (case == "used_code")


def test_a_client_refused_too_often_gets_the_same_429(vw):
    payload = {"voter_code": "AAAAA-AAAAA", "selections": [vw.trees.pk]}
    with override_settings(VOTER_CODE_FAILURES="1/hour"):
        assert cast(vw, payload).status_code == 409
        fast, chain = both(vw, lambda: payload)
    assert fast.status_code == chain.status_code == 429
    assert fast.content == chain.content and headers(fast) == headers(chain)
    assert fast["Retry-After"]


def test_a_client_refused_too_often_gets_its_429_even_for_a_round_that_is_not_there(vw):
    payload = {"voter_code": "AAAAA-AAAAA", "selections": [vw.trees.pk]}
    with override_settings(VOTER_CODE_FAILURES="1/hour"):
        assert cast(vw, payload).status_code == 409
        fast = cast(vw, payload, pk=vw.round.pk + 1000)
        chain = cast(vw, payload, pk=vw.round.pk + 1000, app=django_application)
    assert fast.status_code == chain.status_code == 429
    assert fast.content == chain.content and headers(fast) == headers(chain)


def test_a_client_refused_too_often_gets_its_429_before_a_good_code_is_spent(vw):
    teach(vw)
    written = PendingBallot.objects.count()
    [code] = vw.codes(area=vw.north)
    with override_settings(VOTER_CODE_FAILURES="1/hour"):
        refused = cast(vw, {"voter_code": "AAAAA-AAAAA", "selections": [vw.trees.pk]})
        assert refused.status_code == 409
        blocked = cast(vw, {"voter_code": code, "selections": [vw.trees.pk]})
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert PendingBallot.objects.count() == written
    assert not Participation.objects.filter(voter_code__code_hash=voter_code_hash(code)).exists()
    assert cast(vw, {"voter_code": code, "selections": [vw.trees.pk]}).status_code == 201


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_once_the_round_is_known_a_cast_is_one_statement(clock):
    # Outside a transaction, as a server runs it: the round, the code, the participation, the
    # survey code and the pending ballot in one statement, so one commit.
    vw = VotingWorld()
    teach(vw)
    [code] = vw.codes(area=vw.north)
    with CaptureQueriesContext(connection) as queries:
        response = cast(vw, {"voter_code": code, "selections": [vw.benches.pk]})
    assert response.status_code == 201
    assert len(queries.captured_queries) == 1
    body = response.json()
    assert (body["area"], body["selections"]) == (vw.north.pk, {str(vw.benches.pk): 1})
    voted = Participation.objects.get(voter_code__code_hash=voter_code_hash(code))
    assert (voted.area, voted.channel, voted.register_entry) == (vw.north, "online", None)
    pending = PendingBallot.objects.get(receipt_hash=body["receipt_hash"])
    assert (pending.area, pending.selections) == (vw.north, {str(vw.benches.pk): 1})
    survey = SurveyCode.objects.get(code_hash=survey_code_hash(body["survey_code"]))
    assert (survey.area, survey.channel, survey.used) == (vw.north, "online", False)


def test_a_letter_code_votes_for_its_resident_and_only_once(vw):
    teach(vw)
    entry = RegisterEntry.objects.create(
        area=vw.north, name="Ann Jones", postcode="N1 1AA", birth_year=1980, match_key="ann"
    )
    [(_e, code)] = register_codes_issue(actor=None, round=vw.round, area=vw.north)
    assert cast(vw, {"voter_code": code, "selections": [vw.trees.pk]}).status_code == 201
    voted = Participation.objects.get(voter_code__code_hash=voter_code_hash(code))
    assert voted.register_entry == entry
    # Another code for the same resident (a kiosk desk's, say): refused by the constraint.
    desk = VoterCode.objects.create(
        round=vw.round,
        area=vw.north,
        register_entry=entry,
        at_desk=True,
        code_hash=voter_code_hash("K" * 10),
    )
    again = cast(vw, {"voter_code": "K" * 10, "selections": [vw.trees.pk]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "resident_already_voted"
    assert not Participation.objects.filter(voter_code=desk).exists()


def test_security_headers_are_on_the_fast_answers(vw):
    [code] = vw.codes(area=vw.north)
    response = cast(vw, {"voter_code": code, "selections": [vw.trees.pk]})
    assert response.status_code == 201
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Request-ID"]
    assert set(response["Vary"].split(", ")) == {"Accept", "Accept-Language", "Cookie"}
    assert int(response["Content-Length"]) == len(response.content)


def test_a_changed_policy_is_sent_at_once(vw):
    [code] = vw.codes(area=vw.north)
    policy = {"DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(CONTENT_SECURITY_POLICY=policy):
        response = cast(vw, {"voter_code": code, "selections": [vw.trees.pk]})
    assert response["Content-Security-Policy"] == "default-src 'none'"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_still_redirected_to_https(vw):
    [code] = vw.codes(area=vw.north)
    # The middleware read their settings when the handler was made, as at a server's start.
    app = BallotCastApp(WSGIHandler())
    response = cast(vw, {"voter_code": code, "selections": [vw.trees.pk]}, app=app)
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert not PendingBallot.objects.exists()


def test_a_host_not_allowed_is_refused_as_through_the_whole_chain(vw):
    [code] = vw.codes(area=vw.north)
    payload = {"voter_code": code, "selections": [vw.trees.pk]}
    fast, chain = both(vw, lambda: payload, HTTP_HOST="evil.example")
    assert fast.status_code == chain.status_code == 400
    assert not PendingBallot.objects.exists()


def test_the_database_down_is_the_same_503_with_retry_after(vw):
    [code] = vw.codes(area=vw.north)
    payload = {"voter_code": code, "selections": [vw.trees.pk]}
    down = OperationalError("connection refused")
    with mock.patch("pb.voting.api.ballot_cast_with_code", side_effect=down):
        fast, chain = both(vw, lambda: payload)
    assert fast.status_code == chain.status_code == 503
    assert fast.content == chain.content and headers(fast) == headers(chain)
    assert fast["Retry-After"] and fast["X-Frame-Options"] == "DENY"


def test_the_cast_that_makes_a_batch_still_enqueues_sealing(vw, django_capture_on_commit_callbacks):
    codes = vw.codes(MIN_BATCH, area=vw.north)
    with (
        mock.patch("pb.tasks.seal_ballots.delay") as seal,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for code in codes:
            assert cast(vw, {"voter_code": code, "selections": [vw.trees.pk]}).status_code == 201
    seal.assert_called_once_with(vw.round.pk)
