"""The register: importing residents from a CSV file, by service, command and page."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from backend.errors import DomainError, NotAllowed
from pb.models import AuditEntry
from pb.services import register
from pb.services.register import match_key, register_import
from pb.voting.models import RegisterEntry
from tests.factories import UserFactory
from tests.pb.conftest import World

TODAY = dt.date(2027, 3, 1)
GOOD = "name,postcode,birth_year,area\nAnn Jones,N1 1AA,1980,north\nBob Smith,n11ab,1990,North\n"


def test_rows_become_entries_with_a_case_and_space_insensitive_key(world: World) -> None:
    report = register_import(actor=world.manager, source=GOOD.encode(), today=TODAY)
    assert report.added == 2 and report.refused == []
    entry = RegisterEntry.objects.get(name="Bob Smith")
    assert entry.area == world.north and entry.postcode == "N11AB" and entry.birth_year == 1990
    assert entry.match_key == match_key("  bob   SMITH ", "N1 1AB", 1990)
    assert AuditEntry.objects.filter(action="register.imported", actor=world.manager).exists()


def test_each_refused_row_says_its_line_and_why(world: World) -> None:
    text = (
        "Name, Postcode ,Birth year,Area,notes\n"  # headers in any case/spacing, extra ignored
        ",N1 1AA,1980,north,\n"
        "Cy,,1980,north,\n"
        "Di,N1 1AA,19x0,north,\n"
        "Ed,N1 1AA,1850,north,\n"
        "Flo,N1 1AA,1980,atlantis,\n"
        "Gil,N1 1AA,1980,south,\n"  # not this manager's area
        "Hal,N1 1AA,1980,north,\n"
        "hal ,n1 1aa,1980,North,\n"  # the same person again
        "\n"
        "Ivy,N1 1AA,1981,north,\n"
    )
    report = register_import(actor=world.manager, source=text.encode(), today=TODAY)
    reasons = {r.line: r.reason for r in report.refused}
    assert report.added == 2  # Hal and Ivy
    assert reasons == {
        2: "no name",
        3: "no postcode",
        4: "the birth year 19x0 is not a year between 1900 and 2027",
        5: "the birth year 1850 is not a year between 1900 and 2027",
        6: "there is no area called atlantis",
        7: "you do not manage South",
        9: "the same person is on an earlier line",
    }
    again = register_import(actor=world.manager, source=text.encode(), today=TODAY)
    assert again.added == 0
    assert {r.line: r.reason for r in again.refused}[8] == "this person is already in the register"
    assert RegisterEntry.objects.count() == 2


def test_an_admin_imports_for_every_area_and_a_resident_for_none(world: World) -> None:
    from backend.accounts.models import Role

    admin = UserFactory(role=Role.ADMIN)
    text = "name,postcode,birth_year,area\nGil,S1 1AA,1980,south\nAnn,N1 1AA,1980,north\n"
    assert register_import(actor=admin, source=text.encode(), today=TODAY).added == 2
    with pytest.raises(NotAllowed):
        register_import(actor=world.resident, source=text.encode(), today=TODAY)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "The file is empty."),
        (b"  \n\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file."),
        (b"who,where\nAnn,N1\n", "this file lacks name, postcode, birth_year, area"),
        (b"name;postcode;birth_year;area\nAnn;N1;1980;north\n", "this file lacks"),
    ],
)
def test_a_file_that_is_not_a_register_is_refused_whole(
    world: World, data: bytes, says: str
) -> None:
    with pytest.raises(DomainError) as refused:
        register_import(actor=world.manager, source=data, today=TODAY)
    assert says in refused.value.message and refused.value.fields["file"]
    assert not RegisterEntry.objects.exists()


def test_a_huge_file_is_refused_before_it_is_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(register, "MAX_BYTES", 100)
    with pytest.raises(DomainError, match="too big"):
        register_import(actor=world.manager, source=(GOOD * 5).encode(), today=TODAY)
    assert not RegisterEntry.objects.exists()


def test_the_command_imports_and_lists_refusals(world: World, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(GOOD + "Zed,S1,1980,nowhere\n", encoding="utf-8")
    out = StringIO()
    call_command("import_register", str(path), stdout=out)
    assert "line 4: there is no area called nowhere" in out.getvalue()
    assert "2 residents added to the register, 1 rows refused." in out.getvalue()
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        call_command("import_register", str(path), stdout=out)


def _upload(data: bytes, name: str = "register.csv") -> Any:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_the_page_imports_and_reports(client: Any, world: World) -> None:
    client.force_login(world.manager)
    assert reverse("register_import") in client.get(reverse("dashboard")).content.decode()
    text = GOOD + "Gil,S1 1AA,1980,south\n"
    page = client.post(reverse("register_import"), {"file": _upload(text.encode())})
    body = page.content.decode()
    assert page.status_code == 200
    assert "2 residents added to the register." in body and "you do not manage South" in body
    assert RegisterEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "The submitted file is empty."),
        (b"\x00\x01\x02binary", "This is not a CSV file."),
        (b"a,b\n1,2\n", "this file lacks"),
    ],
)
def test_the_page_answers_bad_files_with_a_field_error(
    client: Any, world: World, data: bytes, says: str
) -> None:
    client.force_login(world.manager)
    page = client.post(reverse("register_import"), {"file": _upload(data)})
    assert page.status_code == 400 and says in page.content.decode()


def test_the_page_refuses_a_huge_file(
    client: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(register, "MAX_BYTES", 50)
    client.force_login(world.manager)
    page = client.post(reverse("register_import"), {"file": _upload((GOOD * 3).encode())})
    assert page.status_code == 400 and "too big" in page.content.decode()
    assert not RegisterEntry.objects.exists()


def test_residents_cannot_open_the_page(client: Any, world: World) -> None:
    client.force_login(world.resident)
    assert client.get(reverse("register_import")).status_code == 403
    assert (
        client.post(reverse("register_import"), {"file": _upload(GOOD.encode())}).status_code == 403
    )
