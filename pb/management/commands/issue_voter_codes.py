"""Make one-time voter codes for a round: ``issue_voter_codes ROUND_ID --count N --out codes.csv``.

Only the keyed hashes are stored; the CSV written here is the one copy of the codes themselves,
for the printer of the letters. Keep it safe and delete it once the letters are printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.errors import DomainError
from backend.exports import csv_writer
from pb.models import Area, Round
from pb.voting.services.codes import voter_codes_issue


class Command(BaseCommand):
    help = "Make one-time voter codes for a round and write them to a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("round_id", type=int)
        parser.add_argument("--count", type=int, required=True)
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
