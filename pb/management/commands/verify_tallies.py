"""Count every round again from its stored ballots and compare with its stored tallies.

Run after restoring a backup into a database (docs/operations.md): it exits 0 when every
round's latest tallies come out with the same inputs hash and winners, 1 otherwise.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from pb.counting.selectors import latest_tallies
from pb.counting.services import tally_verify
from pb.rounds.models import Round


class Command(BaseCommand):
    help = "Recount every counted round from its ballots and compare with the stored tallies."

    def handle(self, *args: Any, **options: Any) -> None:
        checked = differ = 0
        for round_ in Round.objects.filter(tallies__isnull=False).distinct().order_by("pk"):
            for tally in latest_tallies(round=round_):
                checked += 1
                where = f"{round_.slug} / {tally.area.name if tally.area else 'whole round'}"
                problems = tally_verify(tally=tally)
                if problems:
                    differ += 1
                    self.stdout.write(f"DIFFERS {where}: {'; '.join(problems)}")
                else:
                    self.stdout.write(f"same    {where}: {tally.inputs_hash}")
        self.stdout.write(f"{checked} tallies recounted, {differ} differ.")
        if differ:
            raise CommandError(f"{differ} of {checked} tallies differ from a recount.")
