"""Import residents into the register: ``import_register register.csv``.

The file has the columns name, postcode, birth_year and area (the area's name or short name).
Rows that cannot be imported are listed with their line number and the reason; the rest are
stored. The command line is trusted with every area.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.errors import DomainError
from pb.services.register import MAX_BYTES, register_import


class Command(BaseCommand):
    help = "Import residents into the register from a CSV file (name, postcode, birth_year, area)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["csv_file"])
        if not path.is_file():
            raise CommandError(f"There is no file {path}.")
        try:
            with path.open("rb") as handle:
                report = register_import(actor=None, source=handle.read(MAX_BYTES + 1))
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for refusal in report.refused:
            self.stdout.write(f"line {refusal.line}: {refusal.reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.added} residents added to the register, {len(report.refused)} rows "
                "refused."
            )
        )
