"""Load the demo council's deliberation rooms (idempotent): run by ``load_demo`` after the
rounds exist. A live room with a history (agenda, arguments, a question, a raised hand, a poll)
and a planned one, made through the room services, so ``make run`` shows deliberation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from deliberation import services as rooms
from deliberation.models import Room
from pb.areas.models import Area
from pb.proposals.models import Proposal
from pb.rounds.models import Round


class Command(BaseCommand):
    help = "Load the demo council's deliberation rooms (run by load_demo)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        people = {u.email: u for u in User.objects.filter(email__endswith="@example.org")}
        city = Round.objects.filter(slug="city-2027").first()
        if city is None or Room.objects.filter(round=city).exists():
            return
        facilitator = people["facilitator@example.org"]
        resident = people["resident@example.org"]
        manager = people["manager@example.org"]
        poulton = Area.objects.get(slug="poulton")
        now = timezone.now()
        crossing = Proposal.objects.get(round=city, title="Safer crossing on Station Road")
        room = rooms.room_create(
            actor=facilitator,
            round=city,
            title="Poulton evening: the Station Road crossing",
            starts_at=now - dt.timedelta(minutes=40),
            ends_at=now + dt.timedelta(hours=1, minutes=20),
            area=poulton,
            proposal=crossing,
            agenda=[
                "Welcome and how the room works",
                "The Station Road crossing: for and against",
                "Should it go forward to the council's review?",
            ],
        )
        rooms.room_open(room=room, actor=facilitator)
        rooms.agenda_step(room=room, actor=facilitator, step=1)
        rooms.contribution_say(
            room=room,
            actor=facilitator,
            kind="message",
            text="Welcome! Raise your hand to speak; arguments for and against are kept for "
            "voters to read.",
        )
        rooms.agenda_step(room=room, actor=facilitator, step=2)
        said_for = rooms.contribution_say(
            room=room,
            actor=resident,
            kind="for",
            text="Children cross here twice a day and cars do not slow down by the gates.",
        )
        rooms.contribution_say(
            room=room,
            actor=manager,
            kind="against",
            text="The road may be rebuilt in 2028; a crossing now could be dug up again.",
            reply_to=said_for.pk,
        )
        rooms.contribution_say(
            room=room,
            actor=resident,
            kind="question",
            text="Could a temporary crossing patrol cover the school run until then?",
        )
        rooms.contribution_pin(room=room, actor=facilitator, contribution=said_for.pk)
        rooms.hand_raise(room=room, actor=resident)
        poll = rooms.poll_open(
            room=room,
            actor=facilitator,
            question="Should the crossing go forward to the council's review?",
            options=["Yes", "No", "Not sure yet"],
        )
        first_option = poll.options.order_by("position").first()
        assert first_option is not None
        rooms.poll_vote(room=room, actor=resident, poll=poll.pk, option=first_option.pk)
        rooms.room_create(
            actor=facilitator,
            round=Round.objects.get(slug="harbour-green-2026"),
            title="Harbour green ideas: an evening at the library",
            starts_at=now + dt.timedelta(days=5),
            ends_at=now + dt.timedelta(days=5, hours=2),
            agenda=["What the council found in its review", "Questions to the council"],
        )
