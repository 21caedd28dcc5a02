"""The feedback API: results, open data and the report's figures, with the one error shape."""

from __future__ import annotations

import pytest

from feedback import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(counted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    return counted


def test_the_results_api_lists_every_project_with_its_explanation(client, reported):
    data = client.get("/api/v1/rounds/city-2027/results/").json()
    north = data["areas"][0]
    assert north["area"] == "North" and north["voters"] == 3
    lights = next(p for p in north["projects"] if p["title"] == "Brighter lights")
    assert lights["funded"] is False and lights["reason"] == "did_not_fit"
    assert data["recount_command"] == "python -m pb.tally FILE.pb --rule greedy"


def test_the_open_data_api_states_the_licence(client, reported):
    data = client.get("/api/v1/rounds/city-2027/open-data/").json()
    assert data["licence"] == "CC BY 4.0" and data["published"] is True
    assert {"tally.json", "indicators.csv"} <= {f["name"] for f in data["files"]}


def test_an_uncounted_round_answers_404_in_the_error_shape(client, db, round_factory):
    round_factory(slug="later", phase="voting")
    response = client.get("/api/v1/rounds/later/results/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_counted"


def test_the_report_api_is_for_the_rounds_councillors(client, reported):
    assert client.get("/api/v1/rounds/city-2027/report/").status_code in {401, 403}
    client.force_login(reported.outsider)
    assert client.get("/api/v1/rounds/city-2027/report/").status_code == 403
    client.force_login(reported.councillor)
    data = client.get("/api/v1/rounds/city-2027/report/").json()
    assert [a["area"] for a in data["results"]] == ["North"]
    assert data["inclusion"]["total_voters"] == 5
