"""Load the demo council: areas with population, themes, a person for every role, rounds.

Safe to run twice: it finds what it made before instead of making it again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import Profile, Role, User
from pb.areas.models import Area, AreaKind, AreaNeed, Theme
from pb.models import AuditAction
from pb.phases import Phase
from pb.proposals.comments import comment_create
from pb.proposals.models import Proposal
from pb.proposals.services import proposal_create
from pb.rounds.models import BallotType, PhaseWindow, Round, RoundArea, RoundStyle
from pb.rounds.services import round_advance_phase
from pb.split import formula as split
from pb.split.services import split_compute, split_configure, split_publish

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo, never for production

WARDS = [
    # name, population, neighbourhoods (name, population)
    ("Poulton", 31_200, [("Poulton North", 14_800), ("Poulton South", 16_400)]),
    ("Harbour", 52_700, [("Old Harbour", 21_900), ("Marina", 30_800)]),
    ("Westgate", 18_400, []),
    ("Torrisholme", 96_300, []),
]
THEMES = ["Roads and paths", "Parks and green spaces", "Young people", "Safety", "Culture"]
PEOPLE = [
    ("resident@example.org", "Rosa Resident", Role.RESIDENT),
    ("manager@example.org", "Mo Manager", Role.MANAGER),
    ("facilitator@example.org", "Fay Facilitator", Role.FACILITATOR),
    ("staff@example.org", "Sam Staff", Role.EVENT_STAFF),
    ("councillor@example.org", "Cllr Chris Cole", Role.COUNCILLOR),
    ("admin@example.org", "Ada Admin", Role.ADMIN),
]


class Command(BaseCommand):
    help = "Load the demo council (idempotent) and print the demo log-ins."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        people = {role: self._person(email, name, role) for email, name, role in PEOPLE}
        areas = self._areas(people)
        themes = [
            Theme.objects.get_or_create(name=n, defaults={"slug": _slug(n)})[0] for n in THEMES
        ]
        for i, area in enumerate(areas.values()):
            for j, theme in enumerate(themes):
                AreaNeed.objects.get_or_create(
                    area=area, theme=theme, defaults={"need_index": (17 * i + 29 * j) % 101}
                )
        profile = people[Role.RESIDENT].profile
        if profile.home_area is None:
            profile.home_area = areas["poulton"]
            profile.birth_year = 1985
            profile.verified = True
            profile.save()
        self._rounds(areas, people)
        codes = self._voting_round(areas, people)
        self._counted_round(areas, people)
        # The demo's rooms are deliberation's, loaded by its own command: pb must not import
        # deliberation, which is built on it.
        call_command("load_demo_rooms", stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS("Demo council loaded. Log in at /accounts/log-in/ as:")
        )
        for email, _name, role in PEOPLE:
            self.stdout.write(f"  {role.label:<22} {email:<28} password: {DEMO_PASSWORD}")
        self.stdout.write(
            "Voting is open in “Westgate small grants 2026” (/rounds/westgate-grants-2026/vote/). "
            "Fresh one-time voter codes: " + ", ".join(codes)
        )
        self.stdout.write(
            "Counted and reported: “Westgate small grants 2025” (results at "
            "/rounds/westgate-grants-2025/results/, report at "
            "/rounds/westgate-grants-2025/report/)."
        )

    def _person(self, email: str, name: str, role: Role) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=DEMO_PASSWORD,
                display_name=name,
                role=role,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
        Profile.objects.get_or_create(user=user)
        return user

    def _areas(self, people: dict[Role, User]) -> dict[str, Area]:
        areas: dict[str, Area] = {}
        for name, population, children in WARDS:
            ward, _ = Area.objects.get_or_create(
                slug=_slug(name),
                defaults={
                    "name": name,
                    "population": population,
                    "kind": AreaKind.WARD,
                    "census": _census(population),
                },
            )
            areas[ward.slug] = ward
            for child_name, child_pop in children:
                child, _ = Area.objects.get_or_create(
                    slug=_slug(child_name),
                    defaults={
                        "name": child_name,
                        "population": child_pop,
                        "kind": AreaKind.NEIGHBOURHOOD,
                        "parent": ward,
                        "census": _census(child_pop),
                    },
                )
                areas[child.slug] = child
        areas["poulton"].managers.add(people[Role.MANAGER])
        areas["harbour"].managers.add(people[Role.MANAGER])
        # The demo manager also runs Westgate's grants round, so one log-in can close its vote;
        # the demo councillor represents Poulton and Westgate, so both reports are theirs.
        areas["westgate"].managers.add(people[Role.MANAGER])
        areas["poulton"].councillors.add(people[Role.COUNCILLOR])
        areas["westgate"].councillors.add(people[Role.COUNCILLOR])
        return areas

    def _rounds(self, areas: dict[str, Area], people: dict[Role, User]) -> None:
        now = timezone.now()
        specs: list[dict[str, Any]] = [
            {
                "slug": "city-2027",
                "name": "City budget 2027",
                "description": "£1 million shared between the wards by the published formula; "
                "each ward then votes on its own projects.",
                "style": RoundStyle.CITY,
                "budget": 100_000_000,
                "phase": Phase.INTAKE,
                "areas": ["poulton", "harbour", "westgate", "torrisholme"],
                "start": now - dt.timedelta(days=3),
            },
            {
                "slug": "harbour-green-2026",
                "name": "Harbour green fund 2026",
                "description": "Ideas for greener streets in Harbour, now with the council.",
                "style": RoundStyle.CITY,
                "budget": 15_000_000,
                "phase": Phase.REVIEW,
                "areas": ["old-harbour", "marina"],
                "start": now - dt.timedelta(days=30),
            },
            {
                "slug": "poulton-in-your-hands",
                "name": "Poulton: In your hands",
                "description": "Community groups bid for £25,000; everyone at the event scores "
                "every bid and the results are read out the same evening.",
                "style": RoundStyle.DECISION_DAY,
                "budget": 2_500_000,
                "phase": Phase.INTAKE,
                "areas": ["poulton"],
                "start": now - dt.timedelta(days=1),
                "ballot_type": BallotType.SCORE,
            },
        ]
        for spec in specs:
            round_, created = Round.objects.get_or_create(
                slug=spec["slug"],
                defaults={
                    "name": spec["name"],
                    "description": spec["description"],
                    "style": spec["style"],
                    "budget": spec["budget"],
                    "phase": spec["phase"],
                    "ballot_type": spec.get("ballot_type", BallotType.APPROVAL_BUDGET),
                    "created_by": people[Role.MANAGER],
                },
            )
            if not created:
                continue
            for slug in spec["areas"]:
                RoundArea.objects.create(round=round_, area=areas[slug])
            self._fill(round_, spec, people)
            start: dt.datetime = spec["start"]
            for i, phase in enumerate(
                [Phase.INTAKE, Phase.REVIEW, Phase.PRIORITIES, Phase.VOTING, Phase.COUNTING]
            ):
                PhaseWindow.objects.create(
                    round=round_,
                    phase=phase,
                    starts_at=start + dt.timedelta(days=14 * i),
                    ends_at=start + dt.timedelta(days=14 * (i + 1)),
                )

    def _voting_round(self, areas: dict[str, Area], people: dict[Role, User]) -> list[str]:
        """A round in its voting phase, with a shortlist, and three new voter codes to try."""
        from pb.proposals.models import Proposal, ProposalStatus
        from pb.voting.services.codes import voter_codes_issue

        round_, created = Round.objects.get_or_create(
            slug="westgate-grants-2026",
            defaults={
                "name": "Westgate small grants 2026",
                "description": "Choose the projects Westgate should fund, up to £20,000.",
                "budget": 2_000_000,
                "phase": Phase.DRAFT,
                "voter_codes_enabled": True,
                # The demo hands out codes without a register (make run prints three).
                "anonymous_codes": True,
                "created_by": people[Role.MANAGER],
            },
        )
        if created:
            RoundArea.objects.create(round=round_, area=areas["westgate"], allocation=2_000_000)
            for title, pounds in [
                ("Benches by the library", 6_000),
                ("Bulb planting on the green", 3_500),
                ("Youth club laptops", 9_000),
                ("Lighting on Ferry Path", 12_000),
            ]:
                Proposal.objects.create(
                    round=round_,
                    area=areas["westgate"],
                    author=people[Role.RESIDENT],
                    title=title,
                    description=f"{title}, proposed by residents and costed by the council.",
                    estimated_cost=pounds * 100,
                    status=ProposalStatus.FEASIBLE,
                )
            # Published six weeks ago, voting opened two days ago and closes in twelve days.
            _run_timetable(round_, people[Role.MANAGER], intake_days_ago=42, voting_days_ago=2)
        return voter_codes_issue(actor=None, round=round_, count=3)

    def _counted_round(self, areas: dict[str, Area], people: dict[Role, User]) -> None:
        """Last year's Westgate round, voted and closed, so results and reports are there to read.

        The vote is closed through the same service a manager uses; the count and the outcome
        feedback run after this command's transaction commits (inline on the embedded
        defaults, on the workers under ``make stack``).
        """
        import random

        from pb.proposals.models import Proposal, ProposalStatus
        from pb.voting.services.casting import ballot_cast
        from pb.voting.services.codes import voter_codes_issue

        round_, created = Round.objects.get_or_create(
            slug="westgate-grants-2025",
            defaults={
                "name": "Westgate small grants 2025",
                "description": "Last year's grants: counted, reported and being delivered.",
                "budget": 1_500_000,
                "phase": Phase.DRAFT,
                "voter_codes_enabled": True,
                # The demo hands out codes without a register (make run prints three).
                "anonymous_codes": True,
                "created_by": people[Role.MANAGER],
            },
        )
        if not created:
            return
        westgate = areas["westgate"]
        RoundArea.objects.create(round=round_, area=westgate, allocation=1_500_000)
        bids = [
            Proposal.objects.create(
                round=round_,
                area=westgate,
                author=people[Role.RESIDENT],
                title=title,
                description=f"{title}, proposed by residents and costed by the council.",
                estimated_cost=pounds * 100,
                status=ProposalStatus.FEASIBLE,
            )
            for title, pounds in [
                ("Defibrillator at the community centre", 2_500),
                ("Repaint the play area", 5_000),
                ("Cycle stands by the shops", 3_000),
                ("Wildflower verges", 4_000),
                ("Noticeboard for the allotments", 800),
            ]
        ]
        # A well-run round: rules published four months ago, voting for the fortnight that
        # ended today, so delivery milestones from the last months are accepted.
        _run_timetable(round_, people[Role.MANAGER], intake_days_ago=120, voting_days_ago=14)
        # Weights give a clear order; a fixed seed gives the same demo every time.
        weights = [9, 6, 5, 4, 2]
        rng = random.Random(2025)
        for code in voter_codes_issue(actor=None, round=round_, count=60, area=westgate):
            chosen: list[Proposal] = []
            for bid, weight in zip(bids, weights, strict=True):
                spent = sum(p.estimated_cost for p in chosen)
                if rng.random() < weight / 10 and spent + bid.estimated_cost <= 1_500_000:
                    chosen.append(bid)
            ballot_cast(
                round=round_, selections=[str(p.pk) for p in chosen or bids[:1]], voter_code=code
            )
        round_advance_phase(
            actor=people[Role.MANAGER],
            round=round_,
            to_phase=Phase.COUNTING,
            reason="Polls closed (demo data)",
        )

    def _fill(self, round_: Round, spec: dict[str, Any], people: dict[Role, User]) -> None:
        """Give each demo round something to show, made through the real services."""
        manager, resident = people[Role.MANAGER], people[Role.RESIDENT]
        target = round_.phase
        round_.phase = Phase.INTAKE
        round_.save(update_fields=["phase"])
        if round_.style == RoundStyle.CITY and spec["slug"] == "city-2027":
            split_configure(
                actor=manager,
                round=round_,
                criteria=split.criteria_to_config(split.PORTO_ALEGRE_ROUND_PRESET),
            )
            split_compute(actor=manager, round=round_)
            split_publish(actor=manager, round=round_)
        ideas = DEMO_PROPOSALS.get(spec["slug"], [])
        themes = {t.name: t for t in Theme.objects.all()}
        group: dict[str, Any] = (
            {"group_name": "Poulton Friends"} if round_.style == RoundStyle.DECISION_DAY else {}
        )
        for area_slug, title, description, pounds, theme in ideas:
            where = DEMO_LOCATIONS.get(title)
            place: dict[str, Any] = {"latitude": where[0], "longitude": where[1]} if where else {}
            proposal_create(
                author=resident,
                round=round_,
                area=Area.objects.get(slug=area_slug),
                title=title,
                description=description,
                estimated_cost=pounds * 100,
                theme=themes[theme],
                **group,
                **place,
            )
        if spec["slug"] == "city-2027" and ideas:
            # A discussion under the first idea, so a proposal's page shows comments.
            first = Proposal.objects.filter(round=round_, title=ideas[0][1]).first()
            if first is not None:
                comment_create(
                    author=resident,
                    proposal=first,
                    text="I cross here every day with my children: it is not safe now.",
                    stance="for",
                    language="en-gb",
                )
        # Where the ideas are, so the round page's map has something to show.
        for title, (lat, lng) in DEMO_PLACES.items():
            Proposal.objects.filter(round=round_, title=title).update(latitude=lat, longitude=lng)
        round_.phase = target
        round_.save(update_fields=["phase"])


DEMO_PLACES: dict[str, tuple[float, float]] = {
    "Safer crossing on Station Road": (54.0727, -2.8653),
    "Skate park refresh": (54.0741, -2.8796),
    "Street trees on Quay Lane": (54.0712, -2.8741),
    "Pocket park by the marina": (54.0695, -2.8822),
    "Planters on the promenade": (54.0730, -2.8770),
}

# Where the city round's ideas are, so the round page shows its map of proposals.
DEMO_LOCATIONS: dict[str, tuple[Decimal, Decimal]] = {
    "Safer crossing on Station Road": (Decimal("54.06962"), Decimal("-2.86871")),
    "Skate park refresh": (Decimal("54.07470"), Decimal("-2.87950")),
}

DEMO_PROPOSALS: dict[str, list[tuple[str, str, str, int, str]]] = {
    "city-2027": [
        (
            "poulton",
            "Safer crossing on Station Road",
            "A zebra crossing by the school gates.",
            18_000,
            "Safety",
        ),
        (
            "harbour",
            "Skate park refresh",
            "New ramps and lighting at the harbour skate park.",
            42_000,
            "Young people",
        ),
    ],
    "harbour-green-2026": [
        (
            "old-harbour",
            "Street trees on Quay Lane",
            "Twelve trees with guards and watering.",
            24_000,
            "Parks and green spaces",
        ),
        (
            "marina",
            "Pocket park by the marina",
            "Turn the empty corner into a small garden.",
            55_000,
            "Parks and green spaces",
        ),
        (
            "marina",
            "Planters on the promenade",
            "Twenty planters cared for by volunteers.",
            6_500,
            "Parks and green spaces",
        ),
    ],
    "poulton-in-your-hands": [
        (
            "poulton",
            "Lunch club kitchen",
            "New oven and fridge for the over-60s lunch club.",
            4_500,
            "Culture",
        ),
        (
            "poulton",
            "Youth football kit",
            "Kit and goals for the under-12s team.",
            2_800,
            "Young people",
        ),
    ],
}


#: Shares of a typical English district's residents (per thousand), for the demo's census.
CENSUS_PER_THOUSAND = {
    "age_band": {
        "under_18": 200,
        "18_24": 80,
        "25_34": 130,
        "35_44": 120,
        "45_54": 130,
        "55_64": 130,
        "65_plus": 210,
    },
    "gender": {"woman": 508, "man": 486, "non_binary": 3, "other": 3},
}


def _run_timetable(
    round_: Round, manager: User, *, intake_days_ago: int, voting_days_ago: int
) -> None:
    """Give a demo round dates that hang together, relative to today so they never go stale:
    a timetable, and the record of publishing its rules (leaving the draft) and opening the
    vote on those dates, as the integrity report reads them."""
    from pb.models import AuditEntry

    now = timezone.now()
    opened = now - dt.timedelta(days=voting_days_ago)
    published = now - dt.timedelta(days=intake_days_ago)
    PhaseWindow.objects.create(
        round=round_, phase=Phase.INTAKE, starts_at=published, ends_at=opened
    )
    PhaseWindow.objects.create(
        round=round_, phase=Phase.VOTING, starts_at=opened, ends_at=opened + dt.timedelta(days=14)
    )
    for phase, reason, at in [
        (Phase.INTAKE, "Rules, budget and eligibility published", published),
        (Phase.VOTING, "Voting opens on the published date", opened),
    ]:
        round_advance_phase(actor=manager, round=round_, to_phase=phase, reason=reason)
        AuditEntry.objects.filter(
            round=round_, action=AuditAction.PHASE_ADVANCE, details__to=phase
        ).update(at=at)
    Round.objects.filter(pk=round_.pk).update(created_at=published - dt.timedelta(days=7))


def _census(population: int) -> dict[str, dict[str, int]]:
    return {
        question: {group: population * share // 1000 for group, share in groups.items()}
        for question, groups in CENSUS_PER_THOUSAND.items()
    }


def _slug(name: str) -> str:
    from django.utils.text import slugify

    return slugify(name)
