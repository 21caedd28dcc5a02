"""Make one-time voter codes for a round: ``issue_voter_codes ROUND_ID --count N --out codes.csv``,
or one per resident on an area's register, for letters by mail merge:
``issue_voter_codes ROUND_ID --register --area SLUG --out letters.csv``.

Only the keyed hashes are stored; the CSV written here is the one copy of the codes themselves,
for the printer of the letters. Keep it safe and delete it once the letters are printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.errors import DomainError
from backend.exports import csv_writer
from pb.areas.models import Area
from pb.rounds.models import Round
from pb.voting.services.codes import letters_csv, register_codes_issue, voter_codes_issue


class Command(BaseCommand):
    help = "Make one-time voter codes for a round and write them to a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("round_id", type=int)
        parser.add_argument("--count", type=int, help="How many anonymous codes to make")
        parser.add_argument(
            "--register",
            action="store_true",
            help="One code per resident on the area's register, with name and postcode",
        )
        parser.add_argument("--out", required=True, help="CSV file to write the codes to")
        parser.add_argument("--area", default="", help="Slug of the area the codes are for")

    def handle(self, *args: Any, **options: Any) -> None:
        round_ = Round.objects.filter(pk=options["round_id"]).first()
        if round_ is None:
            raise CommandError(f"There is no round {options['round_id']}.")
        area = None
        if options["area"]:
            area = Area.objects.filter(slug=options["area"]).first()
            if area is None:
                raise CommandError(f"There is no area {options['area']!r}.")
        if options["register"]:
            self._letters(round_, area, options["out"])
            return
        if options["count"] is None:
            raise CommandError("Say how many codes (--count N), or --register.")
        try:
            codes = voter_codes_issue(actor=None, round=round_, count=options["count"], area=area)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        with open(options["out"], "w", newline="", encoding="utf-8") as handle:
            writer = csv_writer(handle)
            writer.writerow(["round", "area", "voter_code"])
            for code in codes:
                writer.writerow([round_.slug, area.slug if area else "", code])
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(codes)} voter codes for {round_.name} written to {options['out']}."
            )
        )

    def _letters(self, round_: Round, area: Area | None, out: str) -> None:
        """The mail-merge file: one line per resident, their name, postcode and code."""
        if area is None:
            raise CommandError("Say which area's register (--area SLUG).")
        try:
            pairs = register_codes_issue(actor=None, round=round_, area=area)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        with open(out, "w", newline="", encoding="utf-8") as handle:
            handle.write(letters_csv(round=round_, area=area, pairs=pairs))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(pairs)} voter codes for residents of {area.name} written to {out}."
            )
        )
