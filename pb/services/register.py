"""The register: residents as the council knows them, imported from a CSV file.

A manager imports the electoral roll (or the council's own list) for the areas they manage, an
admin for any area; the command line (``import_register``) is trusted with every area. Each row
either becomes a ``RegisterEntry`` or is refused with its line number and the reason, so the
person importing can fix the file and import it again (rows already in the register are refused
as such, so importing twice adds nothing). A file that cannot be read at all (empty, not text,
the wrong columns, too big) is refused as a whole and nothing is stored.

The register holds no link to ballots: participations point to it (who voted), ballots never
do (docs/secrecy.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import IO

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts import selectors as account_selectors
from backend.accounts.models import Actor, Profile
from backend.errors import DomainError, NotAllowed
from pb import rules
from pb.areas.models import Area
from pb.models import AuditAction
from pb.services.audit import audit
from pb.services.residents import tell_checked
from pb.voting.models import RegisterEntry

#: A register of a large council (300,000 residents at about 40 bytes a row) fits; a file
#: bigger than this is not a register and is refused before it is read.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 500_000
#: The columns a register file must have (any order, case and spaces ignored; more are ignored).
COLUMNS = ("name", "postcode", "birth_year", "area")
OLDEST = 1900


def normalise_name(name: str) -> str:
    return " ".join(name.casefold().split())


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.upper().split())


def match_key(name: str, postcode: str, birth_year: int) -> str:
    """What an account and an entry must share to match: case and spaces ignored."""
    return f"{normalise_name(name)}|{normalise_postcode(postcode)}|{birth_year}"


@dataclass
class Refusal:
    line: int
    reason: str


@dataclass
class ImportReport:
    added: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _column(header: str) -> str:
    return re.sub(r"[\s_-]+", "_", header.strip().strip("\ufeff").casefold())


def check_size(size: int) -> None:
    """Refuse a file bigger than a register can be, before reading it."""
    if size > MAX_BYTES:
        raise DomainError(
            _("The file is too big: a register file can be at most %(mb)d MB.")
            % {"mb": MAX_BYTES // (1024 * 1024)},
            field="file",
        )


def _read_text(source: IO[bytes] | bytes) -> str:
    data = source if isinstance(source, bytes) else source.read(MAX_BYTES + 1)
    check_size(len(data))
    if not data.strip():
        raise DomainError(_("The file is empty."), field="file")
    if b"\x00" in data:
        raise DomainError(
            _("This is not a CSV file. Save the register as CSV (comma separated) and try again."),
            field="file",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise DomainError(
                _(
                    "This is not a CSV file. Save the register as CSV (comma separated) and "
                    "try again."
                ),
                field="file",
            ) from None


def _areas_by_label() -> dict[str, Area]:
    found: dict[str, Area] = {}
    for area in Area.objects.all():
        found.setdefault(area.name.casefold().strip(), area)
        found[area.slug.casefold()] = area
    return found


def register_import(
    *, actor: Actor | None, source: IO[bytes] | bytes, today: dt.date | None = None
) -> ImportReport:
    """Add the rows of a register CSV file (columns name, postcode, birth_year, area: the
    area's name or its short name). ``actor=None`` is the command line.

    Raises ``DomainError`` (nothing stored) for a file that cannot be read as a register;
    otherwise every good row is stored and the rest are in the report with their reasons.
    """
    if actor is not None and not rules.keeps_any_register(actor):
        raise NotAllowed(_("Only managers and administrators can import the register."))
    text = _read_text(source)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        columns = [_column(h) for h in header]
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise DomainError(
                _("The first line must name the columns %(columns)s; this file lacks %(missing)s.")
                % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing)},
                field="file",
            )
        at = {c: columns.index(c) for c in COLUMNS}
        rows = list(reader)
    except csv.Error as exc:
        raise DomainError(
            _("This is not a CSV file. Save the register as CSV (comma separated) and try again."),
            field="file",
        ) from exc
    if len(rows) > MAX_ROWS:
        raise DomainError(
            ngettext(
                "The file has more than %(max)d row: split it by area.",
                "The file has more than %(max)d rows: split it by area.",
                MAX_ROWS,
            )
            % {"max": MAX_ROWS},
            field="file",
        )
    year_now = (today or dt.date.today()).year
    areas = _areas_by_label()
    allowed: dict[int, bool] = {}
    report = ImportReport()
    new: dict[tuple[int, str], tuple[int, RegisterEntry]] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a spreadsheet's trailing ones) are not rows
        values = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        reason = ""
        birth_year = 0
        area = areas.get(values["area"].casefold())
        if not values["name"]:
            reason = _("no name")
        elif not values["postcode"]:
            reason = _("no postcode")
        elif len(normalise_postcode(values["postcode"])) > 8:
            reason = _("the postcode %(postcode)s is too long") % {"postcode": values["postcode"]}
        elif not values["birth_year"].isdigit() or not (
            OLDEST <= int(values["birth_year"]) <= year_now
        ):
            reason = _("the birth year %(year)s is not a year between %(first)d and %(last)d") % {
                "year": values["birth_year"] or "''",
                "first": OLDEST,
                "last": year_now,
            }
        elif area is None:
            reason = _("there is no area called %(area)s") % {"area": values["area"] or "''"}
        else:
            birth_year = int(values["birth_year"])
            if area.pk not in allowed:
                allowed[area.pk] = actor is None or rules.can_keep_register(actor, area)
            if not allowed[area.pk]:
                reason = _("you do not manage %(area)s") % {"area": area.name}
        if reason:
            report.refused.append(Refusal(line, reason))
            continue
        assert area is not None
        key = match_key(values["name"], values["postcode"], birth_year)
        if (area.pk, key) in new:
            report.refused.append(Refusal(line, _("the same person is on an earlier line")))
            continue
        new[(area.pk, key)] = (
            line,
            RegisterEntry(
                area=area,
                name=" ".join(values["name"].split())[:200],
                postcode=values["postcode"].upper()[:10],
                birth_year=birth_year,
                match_key=key,
            ),
        )
    known = set(
        RegisterEntry.objects.filter(match_key__in={k for _a, k in new}).values_list(
            "area_id", "match_key"
        )
    )
    to_add = []
    for pair, (line, entry) in new.items():
        if pair in known:
            report.refused.append(Refusal(line, _("this person is already in the register")))
        else:
            to_add.append(entry)
    report.refused.sort(key=lambda r: r.line)
    with transaction.atomic():
        RegisterEntry.objects.bulk_create(to_add, batch_size=2000, ignore_conflicts=True)
        report.added = len(to_add)
        audit(
            actor=actor,
            action=AuditAction.REGISTER_IMPORTED,
            details={"added": report.added, "refused": len(report.refused)},
        )
    return report


@dataclass
class MatchReport:
    matched: int = 0
    #: Waiting residents left for the manual check (no match, several, or details missing).
    unmatched: int = 0


def _near(a: Area | None, b: Area) -> bool:
    """The same area, or one is the ward around the other (a resident may give either)."""
    return a is not None and (a.pk == b.pk or a.parent_id == b.pk or b.parent_id == a.pk)


def register_match(*, actor: Actor) -> MatchReport:
    """Check the waiting accounts of the actor's areas against the register at once.

    An account matches an entry with the same name, postcode and birth year (case and spaces
    ignored) in its home area (or the ward around it, or a neighbourhood in it) that no other
    account holds: it is marked checked and linked to the entry, which is then the resident
    it votes as on every channel. No match, or more than one, leaves the account for the
    manual check. Each account is updated only if its details are still the ones matched.
    """
    if not rules.keeps_any_register(actor):
        raise NotAllowed(_("Only managers and administrators can match accounts."))
    waiting = [
        p
        for p in account_selectors.profiles_to_check(user=actor).select_related("home_area", "user")
        if p.birth_year and p.postcode and p.user.display_name.strip()
    ]
    report = MatchReport(
        unmatched=account_selectors.profiles_to_check(user=actor).count() - len(waiting)
    )
    keys = {p.pk: match_key(p.user.display_name, p.postcode, p.birth_year or 0) for p in waiting}
    entries: dict[str, list[RegisterEntry]] = {}
    for entry in RegisterEntry.objects.filter(
        match_key__in=set(keys.values()), profile__isnull=True
    ).select_related("area"):
        entries.setdefault(entry.match_key, []).append(entry)
    matched: list[tuple[Profile, RegisterEntry]] = []
    for profile in waiting:
        found = [
            e
            for e in entries.get(keys[profile.pk], [])
            if _near(profile.home_area, e.area) and rules.can_keep_register(actor, e.area)
        ]
        if len(found) != 1 or any(found[0] is e for _p, e in matched):
            report.unmatched += 1
            continue
        entry = found[0]
        try:
            with transaction.atomic():
                done = Profile.objects.filter(
                    pk=profile.pk,
                    verified=False,
                    home_area_id=profile.home_area_id,
                    birth_year=profile.birth_year,
                    postcode=profile.postcode,
                ).update(verified=True, register_entry=entry)
        except IntegrityError:  # another manager's matching took the entry meanwhile
            done = 0
        if done:
            matched.append((profile, entry))
        else:
            report.unmatched += 1
    report.matched = len(matched)
    if matched:
        audit(
            actor=actor,
            action=AuditAction.RESIDENT_MATCHED,
            details={"users": sorted(p.user_id for p, _e in matched)},
        )
        for profile, entry in matched:
            tell_checked(profile, entry.area)
    return report
