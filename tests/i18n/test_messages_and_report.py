"""Messages reach people in their own language, and the councillors' report comes in any of the
four (the PDF in Welsh for a council in Wales)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from backend.accounts.models import Notification
from feedback import tasks
from pb.services import residents as resident_services
from tests.conftest import need
from tests.factories import UserFactory
from tests.feedback.conftest import counted  # noqa: F401  (a counted city round)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(counted: Any, django_capture_on_commit_callbacks: Any) -> Any:  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    return counted


def test_a_resident_is_told_in_their_own_language_by_dashboard_and_e_mail(
    vw: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rhian = UserFactory(email="rhian@example.org", language="cy")
    rhian.profile.home_area = vw.north
    rhian.profile.birth_year = 1990
    rhian.profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        resident_services.profile_verify(
            actor=vw.manager, profile=rhian.profile, confirmed=True, seen=(vw.north.pk, 1990)
        )
    note = Notification.objects.get(user=rhian)
    assert note.subject == "Mae eich manylion wedi'u gwirio"
    assert "North" in note.body and note.body.startswith("Rydyn ni wedi gwirio")
    assert mail.outbox[-1].subject == "Mae eich manylion wedi'u gwirio"
    assert mail.outbox[-1].to == ["rhian@example.org"]


def test_the_outcome_message_is_written_in_each_reader_s_language(reported: Any) -> None:
    subjects = {
        n.user.language or "en-gb": n.subject
        for n in Notification.objects.filter(subject__contains="City 2027")
    }
    assert subjects  # the pipeline told the voters
    assert all(s == "The results of City 2027" for s in subjects.values())


def test_outcome_messages_follow_each_voter_s_language(
    counted: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    polish, urdu = counted.voters[0], counted.voters[1]
    polish.language, urdu.language = "pl", "ur"
    polish.save(update_fields=["language"])
    urdu.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        tasks.outcome_pipeline.delay(counted.round.pk)
    assert Notification.objects.get(user=polish).subject == "Wyniki: City 2027"
    assert Notification.objects.get(user=urdu).subject == "City 2027 کے نتائج"
    assert "Dziękujemy za głos" in Notification.objects.get(user=polish).body


def test_the_report_page_offers_every_language_and_renders_in_the_one_asked(
    client: Any, reported: Any
) -> None:
    client.force_login(reported.councillor)
    page = client.get(reverse("outcome_report", args=["city-2027"])).content.decode()
    for code in ("en-gb", "cy", "pl", "ur"):
        assert f'href="?lang={code}" lang="{code}"' in page
    welsh = client.get(reverse("outcome_report", args=["city-2027"]) + "?lang=cy")
    assert welsh["Content-Language"] == "cy"
    text = welsh.content.decode()
    assert '<html lang="cy" dir="ltr">' in text
    assert "Adroddiad canlyniadau ar gyfer cynghorwyr" in text
    assert "1. Uniondeb" in text
    urdu = client.get(reverse("outcome_report", args=["city-2027"]) + "?lang=ur")
    assert '<html lang="ur" dir="rtl">' in urdu.content.decode()
    # The English page is not served from the Welsh one's cache.
    english = client.get(reverse("outcome_report", args=["city-2027"]) + "?lang=en-gb")
    assert "Outcome report for councillors" in english.content.decode()


def test_the_report_refuses_a_language_it_does_not_have(client: Any, reported: Any) -> None:
    client.force_login(reported.councillor)
    response = client.get(reverse("outcome_report_file", args=["city-2027", "pdf"]) + "?lang=fr")
    assert response.status_code == 400 and "not offered" in response.content.decode()


def test_the_report_pdf_in_welsh(client: Any, reported: Any, tmp_path: Any) -> None:
    need(shutil.which("pdftotext") is not None, "pdftotext (apt-get install poppler-utils)")
    client.force_login(reported.councillor)
    response = client.get(reverse("outcome_report_file", args=["city-2027", "pdf"]) + "?lang=cy")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "city-2027-report-cy.pdf" in response["Content-Disposition"]
    pdf = tmp_path / "report-cy.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ADRODDIAD CANLYNIADAU AR GYFER CYNGHORWYR" in text  # the kicker, in capitals
    assert "Yn fyr" in text  # "In short"
    assert "Prosiectau a gafodd arian" in text  # "Funded projects"
    assert "Adroddiad canlyniadau · 1 /" in text  # the page footer too
    assert "Outcome report for councillors" not in text


def test_the_report_csv_headers_in_polish(client: Any, reported: Any) -> None:
    client.force_login(reported.councillor)
    data = client.get(reverse("outcome_report_file", args=["city-2027", "csv"]) + "?lang=pl")
    rows = list(csv.reader(io.StringIO(data.content.decode())))
    assert rows[0] == ["sekcja", "wskaźnik", "wartość", "definicja"]
    assert any(r[0] == "projekt" and r[1] == "Brighter lights" and r[5] == "nie" for r in rows)
