"""Operations: liveness and readiness, the answer while the database is unavailable, request
ids in JSON logs, and the Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from typing import Any

import pytest
from django.core.cache import cache
from django.db import OperationalError, ProgrammingError
from django.test import Client

from backend import views
from tests.factories import RoundFactory
from tests.reliability.private import free_port

pytestmark = pytest.mark.django_db


# --- Liveness and readiness ----------------------------------------------------------------


def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readiness_checks_the_database_and_redis(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    if settings.REDIS_URL:
        assert checks["redis"] == "ok"


def test_readiness_says_which_dependency_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    body = response.json()
    assert body["ready"] is False
    assert body["checks"]["broker"].startswith("unavailable")
    assert body["checks"]["database"] == "ok"


# --- The database unavailable --------------------------------------------------------------


def database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_a_page_while_the_database_is_down_asks_to_try_again_in_a_minute(monkeypatch):
    monkeypatch.setattr(views.round_selectors, "round_list_public", database_down)
    response = Client(raise_request_exception=False).get("/")
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "Please try again in a minute" in body
    assert "css/site.css" in body  # styled like every page
    assert "Traceback" not in body and "OperationalError" not in body


def test_the_api_while_the_database_is_down_answers_503_json(monkeypatch):
    from pb.rounds import selectors as round_selectors

    monkeypatch.setattr(round_selectors, "round_list_visible", database_down)
    response = Client(raise_request_exception=False).get("/api/v1/rounds/")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "unavailable"
    assert "try again in a minute" in response.json()["error"]["detail"]


def test_a_fault_in_our_own_query_is_still_a_500_not_hidden_as_an_outage(monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ProgrammingError('column "nonsense" does not exist')

    monkeypatch.setattr(views.round_selectors, "round_list_public", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500


# --- Request ids in JSON logs --------------------------------------------------------------


def test_every_response_has_a_request_id_and_a_sensible_given_one_is_kept(client):
    fresh = client.get("/healthz")["X-Request-ID"]
    assert len(fresh) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="nginx-0123456789abcdef")["X-Request-ID"] == (
        "nginx-0123456789abcdef"
    )
    odd = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert odd != "<script>" and len(odd) == 32


def test_production_logs_are_json_lines_carrying_the_request_id(settings, client):
    config = dict(settings.LOGGING)
    formatter = config["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logging.Filter())
    from pythonjsonlogger.json import JsonFormatter

    from backend.request_id import RequestIdFilter

    handler.setFormatter(JsonFormatter(formatter["fmt"], rename_fields=formatter["rename_fields"]))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-abcdef123456")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == "req-abcdef123456"
    assert line["level"] == "WARNING" and line["logger"] == "django.request"
    assert "/no-such-page/" in line["message"]


def test_json_is_the_default_log_format_without_debug():
    import subprocess
    import sys

    env = {"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.org", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; import django; "
         "django.setup(); print(s.LOGGING['handlers']['console']['formatter'])"],
        env={**env, "DJANGO_SETTINGS_MODULE": "backend.settings"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "json"


# --- Metrics -------------------------------------------------------------------------------


def test_metrics_need_the_token(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "scrape-secret"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_metrics_give_ballots_cast_queue_lengths_and_room_connections(client, settings):
    from deliberation.hub import presence_key
    from deliberation.models import RoomState
    from pb.voting.models import Participation
    from tests.deliberation.conftest import make_scene
    from tests.factories import AreaFactory

    settings.METRICS_TOKEN = "scrape-secret"
    round_ = RoundFactory(slug="city-2027", phase="voting")
    area = AreaFactory()
    for i in range(3):
        Participation.objects.create(
            round=round_, area=area, channel="online", voted_on="2027-05-01", age_band=str(i)
        )
    scene = make_scene()
    assert scene.room.state == RoomState.OPEN
    cache.set(presence_key(scene.room.pk), 7)
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    finally:
        cache.delete(presence_key(scene.room.pk))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'commonpurse_ballots_cast_total{round="city-2027"} 3.0' in text
    assert f'commonpurse_room_connections{{room="{scene.room.pk}"}} 7.0' in text
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert 'commonpurse_queue_length{queue="tally"}' in text
