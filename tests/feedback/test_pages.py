"""The feedback pages through the Django client: residents, councillors, managers, bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback import services, tasks
from feedback.models import Milestone, OutcomeReport, PendingSurveyAnswer, PipelineStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(counted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    return counted


def test_the_results_page_shows_winners_money_the_rule_and_why_not(client, counted):
    page = client.get(reverse("round_results", args=["city-2027"]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "New benches" in text and "Funded" in text
    assert "it cost more than the money left" in text
    assert "Projects were taken in order of votes" in text
    assert "python -m pb.tally FILE.pb --rule greedy" in text
    assert reverse("ballots_file", kwargs={"slug": "city-2027", "fmt": "pb"}) in text
    assert "<caption>" in text


def test_the_results_page_shows_voters_without_an_account_the_survey_by_code(client, counted):
    page = client.get(reverse("round_results", args=["city-2027"])).content.decode()
    assert reverse("outcome_survey_code", args=["city-2027"]) in page
    assert "Voted with a code, at a kiosk or on paper? Tell us how it went" in page


def test_a_round_not_counted_yet_says_so(client, db, round_factory, counted):
    round_ = round_factory(slug="later", phase="voting")
    for name in ("round_results", "open_data"):
        page = client.get(reverse(name, args=[round_.slug]))
        assert page.status_code == 200 and b"not been counted yet" in page.content
    client.force_login(counted.manager)
    round_.areas.add(counted.north)
    page = client.get(reverse("outcome_report", args=[round_.slug]))
    assert b"not been counted yet" in page.content


def test_a_counted_round_whose_report_is_still_building_says_so(client, counted):
    client.force_login(counted.councillor)
    page = client.get(reverse("outcome_report", args=["city-2027"]))
    assert page.status_code == 200 and b"being prepared" in page.content


def test_the_councillor_reads_the_report_for_their_ward(client, reported):
    client.force_login(reported.councillor)
    page = client.get(reverse("outcome_report", args=["city-2027"]))
    text = page.content.decode()
    assert page.status_code == 200
    assert text.index("In short") < text.index("1. Integrity") < text.index("2. Inclusion")
    assert text.index("3. Deliberation") < text.index("4. Influence")
    assert "<svg" in text and 'role="img"' in text
    assert "New benches" in text and "Brighter lights" in text
    # South's projects are not this councillor's ward
    assert "Clean the pond" not in text
    assert "Area detail is shown for your wards: North" in text


def test_the_manager_sees_every_area_and_their_commentary(client, reported):
    report = OutcomeReport.objects.get()
    services.report_set_commentary(actor=reported.manager, report=report, text="Turnout was up.")
    client.force_login(reported.manager)
    text = client.get(reverse("outcome_report", args=["city-2027"])).content.decode()
    assert "Clean the pond" in text and "Turnout was up." in text


@pytest.mark.parametrize("who", ["outsider", "voter"])
def test_others_may_not_read_the_report(client, reported, who):
    user = reported.outsider if who == "outsider" else reported.voters[0]
    client.force_login(user)
    for fmt in ("html", "pdf", "csv"):
        page = client.get(reverse("outcome_report_file", args=["city-2027", fmt]))
        assert page.status_code == 403


def test_anonymous_readers_are_sent_to_log_in(client, reported):
    page = client.get(reverse("outcome_report", args=["city-2027"]))
    assert page.status_code == 302 and "/log-in/" in page.url


def test_the_report_as_pdf_and_csv(client, reported):
    client.force_login(reported.councillor)
    pdf = client.get(reverse("outcome_report_file", args=["city-2027", "pdf"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    data = client.get(reverse("outcome_report_file", args=["city-2027", "csv"]))
    rows = list(csv.reader(io.StringIO(data.content.decode())))
    assert rows[0] == ["section", "indicator", "value", "definition"]
    assert any(r[0] == "project" and r[1] == "Brighter lights" and r[5] == "no" for r in rows)
    assert not any(r[0] == "project" and r[1] == "Clean the pond" for r in rows)


def test_an_unknown_report_format_is_not_found(client, reported):
    client.force_login(reported.manager)
    assert client.get("/rounds/city-2027/report.docx").status_code == 404


def test_the_manager_sees_the_steps_and_re_runs_a_failed_one(
    client, reported, django_capture_on_commit_callbacks
):
    step = PipelineStep.objects.get(name="open_data")
    PipelineStep.objects.filter(pk=step.pk).update(status="failed", error="disk full")
    client.force_login(reported.manager)
    page = client.get(reverse("outcome_manage", args=["city-2027"]))
    assert b"disk full" in page.content and b"again" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("outcome_manage", args=["city-2027"]), {"rerun": "open_data"})
    assert done.status_code == 302
    step.refresh_from_db()
    assert step.status == "done" and step.attempts == 2


def test_only_managers_see_the_steps(client, reported):
    client.force_login(reported.councillor)
    assert client.get(reverse("outcome_manage", args=["city-2027"])).status_code == 403


def test_the_manager_writes_the_commentary(client, reported):
    client.force_login(reported.manager)
    page = client.post(
        reverse("outcome_manage", args=["city-2027"]), {"commentary": "A good round."}
    )
    assert page.status_code == 302
    assert OutcomeReport.objects.get().commentary == "A good round."


def test_the_survey_is_answered_once(client, reported):
    voter = reported.voters[0]
    client.force_login(voter)
    url = reverse("outcome_survey", args=["city-2027"])
    form = client.get(url)
    assert form.status_code == 200 and b"<fieldset" in form.content and b"<legend>" in form.content
    answer = {"influence": "tend_to_agree", "satisfaction": "4", "comment": "More benches"}
    assert client.post(url, answer).status_code == 200
    again = client.post(url, {"influence": "definitely_disagree"})
    assert again.status_code == 409 and b"kept your first answer" in again.content
    assert PendingSurveyAnswer.objects.get().influence == "tend_to_agree"


def test_a_voter_sees_first_that_they_voted_and_how_to_check_their_receipt(client, reported):
    client.force_login(reported.voters[0])
    page = client.get(reverse("round_results", args=["city-2027"])).content.decode()
    first = page.split("</h1>", 1)[1].split("</div>", 1)[0]
    assert "You voted in this round" in first
    assert f'href="{reverse("round_tally", args=["city-2027"])}#check-receipt"' in first
    client.force_login(reported.author)  # who did not vote is not told they did
    page = client.get(reverse("round_results", args=["city-2027"])).content.decode()
    assert "#check-receipt" not in page


def test_a_bad_survey_answer_shows_the_error(client, reported):
    client.force_login(reported.voters[0])
    page = client.post(reverse("outcome_survey", args=["city-2027"]), {"influence": "maybe"})
    assert page.status_code == 400 and b"There is a problem" in page.content
    assert not PendingSurveyAnswer.objects.exists()


def test_people_who_did_not_vote_are_told_the_survey_is_not_for_them(client, reported):
    client.force_login(reported.author)
    page = client.get(reverse("outcome_survey", args=["city-2027"]))
    assert page.status_code == 403


def test_a_manager_records_progress_and_residents_see_it(client, reported):
    url = reverse("project_delivery", args=[reported.bench.pk])
    client.force_login(reported.manager)
    today = timezone.localdate().isoformat()
    bad = client.post(url, {"status": "in_progress", "date": "2001-01-01", "spend": "-5"})
    assert bad.status_code == 400
    assert b"before the round began" in bad.content and b"cannot be negative" in bad.content
    ok = client.post(
        url,
        {"status": "in_progress", "date": today, "spend": "1,250.50", "note": "Benches ordered"},
    )
    assert ok.status_code == 302
    assert Milestone.objects.get().spend == 125_050
    client.logout()
    page = client.get(reverse("round_results", args=["city-2027"]))
    assert b"In progress" in page.content
    detail = client.get(url)
    assert b"Benches ordered" in detail.content and b"Record progress" not in detail.content


def test_a_resident_cannot_record_progress_and_unfunded_projects_have_no_page(client, reported):
    client.force_login(reported.voters[0])
    url = reverse("project_delivery", args=[reported.bench.pk])
    today = timezone.localdate().isoformat()
    assert client.post(url, {"status": "planned", "date": today}).status_code == 403
    assert client.get(reverse("project_delivery", args=[reported.lights.pk])).status_code == 404


def test_a_resident_follows_a_project(client, reported):
    client.force_login(reported.voters[0])
    client.post(reverse("project_follow", args=[reported.bench.pk]), {"follow": "1"})
    page = client.get(reverse("project_delivery", args=[reported.bench.pk]))
    assert b"Stop following" in page.content


def test_the_open_data_page_lists_files_with_the_licence(client, reported):
    page = client.get(reverse("open_data", args=["city-2027"]))
    text = page.content.decode()
    assert "CC BY 4.0" in text and "tally.json" in text
    data = client.get(reverse("open_data_file", args=["city-2027", "tally.json"]))
    body = b"".join(data.streaming_content)
    assert data.status_code == 200 and b'"licence": "CC BY 4.0"' in body
    assert client.get(reverse("open_data_file", args=["city-2027", "x.csv"])).status_code == 404


def test_the_open_data_links_to_ballot_files_that_download(
    counted, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    files = {f["name"]: f for f in OutcomeReport.objects.get().open_data}
    assert {"ballots-north.pb", "ballots-north.csv", "ballots-south.pb"} <= set(files)

    csv_text = client.get(files["ballots-north.csv"]["url"]).content.decode()
    assert csv_text.splitlines()[1] == "area,channel,choices"
    assert len(csv_text.splitlines()) == 5  # comment, header and North's three ballots
    pb_text = client.get(files["ballots-north.pb"]["url"]).content.decode()
    assert "VOTES" in pb_text and "voter" not in csv_text.splitlines()[1]


def test_councillors_find_their_reports_on_their_page_and_residents_find_results(client, reported):
    reported.round.phase = "results"
    reported.round.save()
    client.force_login(reported.councillor)
    page = client.get(reverse("dashboard"))
    assert reverse("outcome_report", args=["city-2027"]).encode() in page.content
    client.force_login(reported.outsider)
    assert (
        reverse("outcome_report", args=["city-2027"]).encode()
        not in client.get(reverse("dashboard")).content
    )
    detail = client.get(reverse("round_detail", args=["city-2027"]))
    assert reverse("round_results", args=["city-2027"]).encode() in detail.content


def test_the_results_page_runs_a_fixed_number_of_queries(
    client, reported, django_assert_max_num_queries
):
    # 13: the page also carries the report's plain summary, whose influence line (delivery and
    # survey answers) is read fresh; still a fixed number whatever the number of projects.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("round_results", args=["city-2027"]))
    # A refusal or an error page would run few queries too: the results must have been shown.
    assert response.status_code == 200
    assert "New benches" in response.content.decode()
