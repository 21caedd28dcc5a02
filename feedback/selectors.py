"""Reads for outcome feedback: gather plain data from the database for the indicator functions
(``feedback.indicators``), the report's presenter (``feedback.presenter``) and the pages.
Nothing here writes.

The count's results come from the latest ``pb.Tally`` per (round, area); its ``outcome`` JSON is
the contract with ``pb.counting`` (winners, and per project: title, cost in pence as text,
score, funded, rank, reason code and a one-sentence explanation).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from backend.accounts import rules as base
from backend.accounts.models import Actor, Role, User
from deliberation.models import Contribution, ContributionKind, Room, RoomState
from feedback import indicators as ind
from feedback.models import (
    STEP_ORDER,
    DeliveryStatus,
    Milestone,
    NotificationSent,
    OutcomeReport,
    ProjectFollow,
    StepStatus,
    SurveyAnswer,
    SurveyInvitation,
)
from pb.counting.models import Tally
from pb.counting.selectors import latest_tallies, round_unspent, tally_result
from pb.counting.services import MIN_CHANNEL_CELL, recount_published
from pb.counting.wording import stored_sentence
from pb.models import AuditAction, AuditEntry
from pb.phases import RESULTS_PHASES, Phase
from pb.proposals.models import DetailsRead, Proposal, ProposalStatus
from pb.rounds.models import PhaseWindow, Round
from pb.voting.models import Channel, Participation

# --- The count ------------------------------------------------------------------------------


def count_inputs_key(tallies: Sequence[Tally]) -> str:
    """What a report is keyed by: the latest tallies' (area, inputs hash), hashed."""
    parts = sorted(f"{t.area_id or 0}:{t.inputs_hash}" for t in tallies)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def proposal_facts(*, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Title, area, theme and author role of each proposal, in one query."""
    return {
        p["pk"]: dict(p)
        for p in Proposal.objects.filter(pk__in=set(ids)).values(
            "pk", "title", "area_id", "area__name", "theme__name", "author__role"
        )
    }


def round_is_counted(*, round: Round) -> bool:
    return Tally.objects.filter(round=round).exists()


# --- Brisbane: integrity, inclusion, deliberation (fixed once counted) ------------------------


def voting_opened_at(*, round: Round) -> datetime:
    """When voting opened: the audit entry moving the round into voting, else the timetable,
    else the first day a ballot was cast, else the round's creation."""
    entry = (
        AuditEntry.objects.filter(
            round=round, action=AuditAction.PHASE_ADVANCE, details__to=Phase.VOTING
        )
        .order_by("at")
        .first()
    )
    if entry is not None:
        return entry.at
    window = PhaseWindow.objects.filter(round=round, phase=Phase.VOTING).first()
    if window is not None:
        return window.starts_at
    first = Participation.objects.filter(round=round).ballots().order_by("voted_on").first()
    if first is not None:
        return timezone.make_aware(datetime.combine(first.voted_on, time.min))
    return round.created_at


#: What the integrity figure calls the thing each of pb's audit actions touches.
AUDIT_TOPICS: dict[str, str] = {
    AuditAction.SPLIT_PUBLISH: "split",
    AuditAction.SPLIT_OVERRIDE: "allocation",
    AuditAction.SPLIT_COMPUTE: "split_result",
    AuditAction.SPLIT_CONFIGURE: "split_config",
    AuditAction.ROUND_CREATE: "round",
}


def audit_records(*, round: Round) -> list[ind.AuditRecord]:
    """The round's audit log as the integrity function reads it.

    - A round leaving the draft phase publishes its rules, budget and eligibility.
    - ``round.update`` changes each field it lists; ``split.*`` touch the budget split;
      ``split.publish`` publishes it. Other actions are passed through by name.
    """
    records: list[ind.AuditRecord] = []
    for entry in AuditEntry.objects.filter(round=round).select_related("actor").order_by("at"):
        actor = str(entry.actor) if entry.actor else ""
        details = entry.details if isinstance(entry.details, dict) else {}
        if entry.action == AuditAction.PHASE_ADVANCE:
            if details.get("from") == Phase.DRAFT:
                for topic in ind.TOPICS:
                    records.append(
                        ind.AuditRecord(entry.at, ind.PUBLISH, topic, entry.reason, actor)
                    )
            continue
        if entry.action == AuditAction.ROUND_UPDATE:
            for field in (details.get("after") or {}) or {"rules": None}:
                records.append(
                    ind.AuditRecord(entry.at, AuditAction.ROUND_UPDATE, field, entry.reason, actor)
                )
            continue
        what = AUDIT_TOPICS.get(entry.action, entry.action)
        records.append(ind.AuditRecord(entry.at, entry.action, what, entry.reason, actor))
    return records


def identified_ballots(*, round: Round) -> dict[str, int]:
    """Ballots by how their voter was identified (``feedback.indicators.IDENTIFICATION_KINDS``),
    counted from the participations, which say who voted and how, never what.

    A paper ballot carries no name: the papers of residents ticked at a paper desk are among
    the keyed papers, so as many keyed papers as there were paper ticks count as ticked (a
    ticked voter may still have spoilt their paper) and the rest as untracked. A kiosk desk's
    tick is its code, counted when it votes.
    """
    ballot = Q(desk_tick=False)
    account = ballot & Q(voter__isnull=False)
    code = ballot & Q(voter_code__isnull=False)
    paper = ballot & Q(voter__isnull=True, voter_code__isnull=True, channel=Channel.PAPER)
    counts = Participation.objects.filter(round=round).aggregate(
        account_on_register=Count("id", filter=account & Q(register_entry__isnull=False)),
        account_checked=Count("id", filter=account & Q(register_entry__isnull=True)),
        desk_code=Count("id", filter=code & Q(voter_code__at_desk=True)),
        letter_code=Count(
            "id", filter=code & Q(voter_code__at_desk=False, register_entry__isnull=False)
        ),
        anonymous_code=Count("id", filter=code & Q(register_entry__isnull=True)),
        paper=Count("id", filter=paper),
        paper_ticks=Count("id", filter=Q(desk_tick=True, channel=Channel.PAPER)),
    )
    ticked_papers = min(counts["paper_ticks"], counts["paper"])
    return {
        "account_on_register": counts["account_on_register"],
        "account_checked": counts["account_checked"],
        "letter_code": counts["letter_code"],
        "desk_ticked": counts["desk_code"] + ticked_papers,
        "anonymous_code": counts["anonymous_code"],
        "paper_untracked": counts["paper"] - ticked_papers,
    }


def integrity_report(*, round: Round, tallies: Sequence[Tally]) -> ind.IntegrityReport:
    """The integrity figures, with the published ballot files counted again: their winners
    against the stored winners of the same tallies (a tampered stored result shows here)."""
    stored = [w for t in tallies for w in tally_result(t).winners]
    recounted = [w for t in tallies for w in recount_published(round=round, area=t.area)]
    return ind.integrity_indicators(
        audit_records(round=round),
        voting_opened_at=voting_opened_at(round=round),
        publish_actions=ind.PUBLISH_ACTIONS | {AuditAction.SPLIT_PUBLISH},
        stored_winners=stored,
        recounted_winners=recounted,
        identified=identified_ballots(round=round),
        min_cell=MIN_CHANNEL_CELL,
    )


def _census(areas: Sequence[Any], question: str) -> dict[str, int]:
    """People per group over the round's areas, or ``{}`` unless every area has the figures
    (a group compared with part of the population would be flagged wrongly)."""
    total: Counter[str] = Counter()
    for area in areas:
        groups = (area.census or {}).get(question)
        if not groups:
            return {}
        total.update(groups)
    return dict(total)


def inclusion_report(*, round: Round) -> ind.InclusionReport:
    """Turnout by area, age band and channel, and voluntary profile answers against the
    areas' census figures where every area has them (``Area.census``)."""
    participations = Participation.objects.filter(round=round).ballots()
    by_area = dict(participations.values_list("area_id").annotate(n=Count("id")))
    areas = [
        ind.GroupCount(
            key=ra.area.name,
            voters=by_area.get(ra.area_id, 0),
            population=ra.area.population or None,
        )
        for ra in round.round_areas.select_related("area").order_by("area__name")
    ]
    round_areas = [ra.area for ra in round.round_areas.select_related("area")]
    band_population = _census(round_areas, "age_band")
    bands = participations.exclude(age_band="").values_list("age_band").annotate(n=Count("id"))
    channels = dict(participations.values_list("channel").annotate(n=Count("id")))
    demographics = []
    voters_with_account = participations.filter(voter__isnull=False)
    for question in ("gender", "ethnicity", "disability"):
        answers = dict(
            voters_with_account.values_list(f"voter__profile__{question}").annotate(n=Count("id"))
        )
        not_answered = answers.pop("", 0) + answers.pop(None, 0)
        demographics.append(
            ind.DemographicQuestion(
                question=question,
                answers=answers,
                population=_census(round_areas, question),
                not_answered=not_answered,
            )
        )
    return ind.inclusion_indicators(
        areas=areas,
        age_bands=[
            ind.GroupCount(key=b, voters=n, population=band_population.get(b))
            for b, n in sorted(bands)
        ],
        channels=channels,
        demographics=demographics,
    )


def deliberation_report(*, round: Round) -> ind.DeliberationReport:
    """Rooms, contributions and arguments, and how many voters read details before voting.

    Reading is only known for people signed in, so that share is over the voters who voted
    with an account; a voter code leaves no trace to compare. ``voted_on`` is a day (ballot
    secrecy), so "before voting" means on or before the day they voted.
    """
    account_voters = Participation.objects.filter(round=round, voter__isnull=False)
    readers = account_voters.filter(
        Exists(
            DetailsRead.objects.filter(
                round=round, user=OuterRef("voter"), first_read_at__date__lte=OuterRef("voted_on")
            )
        )
    ).count()

    rooms = []
    shown = Contribution.objects.filter(hidden=False)
    authors: dict[int, set[str]] = defaultdict(set)
    counts: Counter[int] = Counter()
    for room_id, author_id in shown.filter(room__round=round).values_list("room_id", "author_id"):
        authors[room_id].add(str(author_id))
        counts[room_id] += 1
    for room in Room.objects.filter(round=round):
        rooms.append(
            ind.RoomActivity(
                room_id=str(room.pk),
                held=room.state != RoomState.SCHEDULED or room.closed_at is not None,
                participant_ids=frozenset(authors[room.pk]),
                contributions=counts[room.pk],
            )
        )
    per_proposal = (
        Proposal.objects.filter(round=round, status=ProposalStatus.FEASIBLE)
        .annotate(
            n=Count("contributions", filter=Q(contributions__hidden=False)),
            pro=Count(
                "contributions",
                filter=Q(contributions__hidden=False, contributions__kind=ContributionKind.FOR),
            ),
            con=Count(
                "contributions",
                filter=Q(contributions__hidden=False, contributions__kind=ContributionKind.AGAINST),
            ),
        )
        .order_by("title")
        .values_list("pk", "title", "n", "pro", "con")
    )
    return ind.deliberation_indicators(
        rooms=rooms,
        proposals=[
            ind.ProposalDiscussion(str(pk), title, n, pro, con)
            for pk, title, n, pro, con in per_proposal
        ],
        voters=account_voters.count(),
        voters_who_opened_details=readers,
    )


# --- Influence (changes as projects are delivered and residents answer the survey) ----------


def delivery_by_proposal(*, proposal_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The latest milestone per project (status, date, spend, note): one query."""
    latest: dict[int, dict[str, Any]] = {}
    for m in Milestone.objects.filter(proposal_id__in=list(proposal_ids)).order_by("date", "id"):
        latest[m.proposal_id] = {
            "status": m.status,
            "status_label": DeliveryStatus(m.status).label,
            "date": m.date,
            "spend": m.spend,
            "note": m.note,
            "delay_reason": m.delay_reason,
        }
    return latest


def survey_responses(*, round: Round) -> list[ind.SurveyResponse]:
    return [
        ind.SurveyResponse(influence=i or None, satisfaction=s, area_id=a)
        for i, s, a in SurveyAnswer.objects.filter(round=round)
        .values_list("influence", "satisfaction", "area__name")
        .order_by("area__name", "id")
    ]


def influence_report(*, round: Round, figures: dict[str, Any]) -> ind.InfluenceReport:
    results = figures["results"]
    ids = [
        int(p["id"]) for a in results for p in a["projects"] if p["funded"] and p["id"].isdigit()
    ]
    delivery = delivery_by_proposal(proposal_ids=ids)
    projects = [
        ind.ProjectOutcome(
            project_id=p["id"],
            title=p["title"],
            cost=p["cost"],
            funded=p["funded"],
            explanation=stored_sentence(p),
            status=delivery.get(int(p["id"]) if p["id"].isdigit() else 0, {}).get(
                "status", DeliveryStatus.PLANNED
            ),
        )
        for a in results
        for p in a["projects"]
    ]
    submitted = Proposal.objects.filter(round=round, author__role=Role.RESIDENT).exclude(
        status__in=[ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN]
    )
    decided = min(sum(a["budget"] for a in results), round.budget)
    return ind.influence_indicators(
        total_budget=round.budget,
        resident_decided=decided,
        projects=projects,
        proposals_submitted=submitted.count(),
        proposals_on_ballot=submitted.filter(status=ProposalStatus.FEASIBLE).count(),
        survey=survey_responses(round=round),
    )


# --- Reports and the pipeline ---------------------------------------------------------------


def reports_readable_by(*, user: Actor, limit: int = 10) -> list[Round]:
    """Counted rounds whose outcome report this person may read (``rules.can_read_report``):
    every one for an admin, else those of the areas they manage or represent; newest first."""
    if not base.is_signed_in(user):
        return []
    rounds = Round.objects.filter(phase__in=RESULTS_PHASES)
    if not base.is_admin(user):
        rounds = rounds.filter(areas__in=[*user.represented_areas.all(), *user.managed_areas.all()])
    return list(rounds.distinct().order_by("-created_at")[:limit])


def report_current(*, round: Round) -> OutcomeReport | None:
    """The report for the round's latest count, built or not (``None``: never started)."""
    return OutcomeReport.objects.filter(round=round).order_by("-created_at", "-id").first()


def report_latest_built(*, round: Round) -> OutcomeReport | None:
    return (
        OutcomeReport.objects.filter(round=round, figures__isnull=False)
        .order_by("-created_at", "-id")
        .first()
    )


def visible_area_ids(*, user: Actor, round: Round) -> set[int] | None:
    """Areas whose detail a person may read in the report: ``None`` means every area."""
    from backend.accounts import rules as base

    if base.is_admin(user):
        return None
    areas = list(round.areas.all())
    if any(base.manages_area(user, a) for a in areas):
        return None
    return {a.pk for a in areas if base.represents_area(user, a)}


# --- People to tell -------------------------------------------------------------------------


def outcome_recipients(*, round: Round) -> QuerySet[User]:
    """Everyone who voted with an account in the round or put forward a proposal in it, once.

    Voters with only a voter code have no account, so nothing can reach them here; their
    receipt code checks their ballot in the published file.
    """
    voters = Participation.objects.filter(round=round, voter__isnull=False).values("voter_id")
    authors = (
        Proposal.objects.filter(round=round, author__isnull=False)
        .exclude(status=ProposalStatus.DRAFT)
        .values("author_id")
    )
    return (
        User.objects.filter(Q(pk__in=voters) | Q(pk__in=authors))
        .select_related("profile")
        .order_by("pk")
    )


def recipients_pending(*, round: Round, after_id: int = 0, limit: int = 1000) -> list[User]:
    sent = NotificationSent.objects.filter(round=round).values("user_id")
    return list(
        outcome_recipients(round=round).filter(pk__gt=after_id).exclude(pk__in=sent)[:limit]
    )


def voter_areas(*, round: Round, user_ids: Sequence[int]) -> dict[int, int]:
    return dict(
        Participation.objects.filter(round=round, voter_id__in=user_ids).values_list(
            "voter_id", "area_id"
        )
    )


def proposals_by_author(*, round: Round, user_ids: Sequence[int]) -> dict[int, list[Proposal]]:
    mine: dict[int, list[Proposal]] = defaultdict(list)
    for p in Proposal.objects.filter(round=round, author_id__in=user_ids).exclude(
        status=ProposalStatus.DRAFT
    ):
        assert p.author_id is not None
        mine[p.author_id].append(p)
    return mine


def followers(*, proposal: Proposal) -> Iterator[User]:
    for follow in ProjectFollow.objects.filter(proposal=proposal).select_related("user__profile"):
        yield follow.user


def is_following(*, user: Actor, proposal: Proposal) -> bool:
    return bool(
        isinstance(user, User)
        and ProjectFollow.objects.filter(user=user, proposal=proposal).exists()
    )


#: The influence survey stays open this long after the round's first outcome report is built;
#: what is still pending then is sealed, however few (feedback.services.survey_answers_seal).
SURVEY_DAYS = 28


def survey_closed(*, round: Round) -> bool:
    first_built = (
        OutcomeReport.objects.filter(round=round, built_at__isnull=False)
        .order_by("built_at")
        .values_list("built_at", flat=True)
        .first()
    )
    return first_built is not None and timezone.now() > first_built + timedelta(days=SURVEY_DAYS)


def survey_invitation_for(*, user: Actor, round: Round) -> SurveyInvitation | None:
    if not isinstance(user, User):
        return None
    return SurveyInvitation.objects.filter(user=user, round=round).first()


def took_part(*, user: Actor, round: Round) -> Participation | None:
    if not isinstance(user, User):
        return None
    return Participation.objects.filter(round=round, voter=user).first()


def milestones_for(*, proposal: Proposal) -> QuerySet[Milestone]:
    return Milestone.objects.filter(proposal=proposal).order_by("date", "id")


def funded_proposal_ids(*, round: Round) -> set[int]:
    """Proposals the count funded, in their area's count or in the second pass across areas
    (``Round.unspent_money``): each has a delivery page, followers and milestones."""
    tallies = latest_tallies(round=round)
    ids: set[int] = set()
    for tally in tallies:
        ids.update(int(pid) for pid in tally_result(tally).winners if pid.isdigit())
    unspent = round_unspent(round=round, tallies=tallies)
    if unspent is not None:
        ids.update(int(pid) for pid in unspent.funded_ids if pid.isdigit())
    return ids


def delivered_elsewhere(*, exclude_round: Round, limit: int = 5) -> list[dict[str, Any]]:
    """Projects delivered in other rounds, newest first: shown to recommend a later round."""
    delivered = (
        Milestone.objects.filter(status=DeliveryStatus.DELIVERED)
        .exclude(proposal__round=exclude_round)
        .select_related("proposal__round", "proposal__area")
        .order_by("-date", "-id")[: limit * 3]
    )
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for m in delivered:
        if m.proposal_id in seen:
            continue
        seen.add(m.proposal_id)
        out.append({"proposal": m.proposal, "date": m.date})
        if len(out) == limit:
            break
    return out


# --- What the report pages show -------------------------------------------------------------


def report_stamp(*, report: OutcomeReport) -> str:
    """Changes whenever what the report shows changes (delivery, survey, commentary)."""
    from django.db.models import Max

    latest_milestone = Milestone.objects.filter(proposal__round_id=report.round_id).aggregate(
        m=Max("id")
    )["m"]
    answers = SurveyAnswer.objects.filter(round_id=report.round_id).count()
    commentary = hashlib.sha256(report.commentary.encode()).hexdigest()[:12]
    return f"{latest_milestone or 0}-{answers}-{commentary}-{report.built_at or ''}"


# --- Work left undone (beat's sweeper, ``services.outcome_resume_stalled``) ------------------


def rounds_counted_without_report(*, counted_before: datetime) -> list[int]:
    """Rounds past counting whose latest count, made before ``counted_before``, has no report."""
    rounds = Round.objects.filter(phase__in=RESULTS_PHASES, tallies__isnull=False).distinct()
    stalled = []
    for round_ in rounds.order_by("pk"):
        tallies = latest_tallies(round=round_)
        if max(t.created_at for t in tallies) >= counted_before:
            continue
        key = count_inputs_key(tallies)
        if not OutcomeReport.objects.filter(round=round_, inputs_key=key).exists():
            stalled.append(round_.pk)
    return stalled


def reports_stalled(*, untouched_since: datetime) -> list[tuple[int, str]]:
    """(report, first unfinished step) of each round's current report whose first step not
    done has not moved since ``untouched_since``: waiting after the step before it finished,
    running since, or failed since."""
    current = OutcomeReport.objects.filter(round=OuterRef("round")).order_by("-created_at", "-id")
    reports = (
        OutcomeReport.objects.filter(pk=Subquery(current.values("pk")[:1]))
        .filter(steps__status__in=[StepStatus.PENDING, StepStatus.RUNNING, StepStatus.FAILED])
        .distinct()
        .prefetch_related("steps")
        .order_by("pk")
    )
    stalled = []
    for report in reports:
        steps = {s.name: s for s in report.steps.all()}
        since = report.created_at
        for name in STEP_ORDER:
            step = steps.get(name)
            if step is None:
                break
            if step.status == StepStatus.DONE:
                since = step.finished_at or since
                continue
            moved = step.started_at if step.status == StepStatus.RUNNING else step.finished_at
            if max(since, moved or since) < untouched_since:
                stalled.append((report.pk, name))
            break
    return stalled


def outcome_emails_stalled(*, created_before: datetime, claimed_before: datetime) -> list[int]:
    """E-mail copies never claimed since before ``created_before`` (their task was lost) or
    claimed before ``claimed_before`` and still not sent (their worker died)."""
    return list(
        NotificationSent.objects.filter(wants_email=True, emailed_at__isnull=True)
        .filter(
            Q(claimed_at__isnull=True, created_at__lt=created_before)
            | Q(claimed_at__lt=claimed_before)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
