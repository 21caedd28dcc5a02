"""Stand-in for Celery beat on the embedded defaults: moves rounds along their phase dates."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from pb.rounds.services import round_advance_due_phases


class Command(BaseCommand):
    help = "Open and close round phases on their dates, every INTERVAL seconds (embedded mode)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=30.0)
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        while True:
            moved = round_advance_due_phases()
            for round_id, phase in moved:
                self.stdout.write(f"round {round_id} moved to {phase}")
            if once:
                return
            time.sleep(interval)
