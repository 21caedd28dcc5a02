"""Writes for rounds, proposals, reviews, priorities and the budget split.

Every function checks the phase table (``pb.phases``) and the permission predicates
(``pb.rules``) itself, so no view, API call or consumer can bypass them. Staff actions leave an
audit entry; notifications go out after the change commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from backend.accounts.services import notify
from backend.errors import Conflict, DomainError, NotAllowed
from pb import rules
from pb.models import (
    Area,
    AuditEntry,
    DetailsRead,
    PhaseWindow,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    Round,
    RoundArea,
    RoundStyle,
    Support,
    Theme,
    ThemeRanking,
)
from pb.money import format_money
from pb.phases import ORDER, Action, Phase, allows, is_frozen

# --- Audit ----------------------------------------------------------------------------------


def audit(
    *,
    actor: Any,
    action: str,
    round: Round | None = None,
    proposal: Proposal | None = None,
    area: Area | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        round=round,
        proposal=proposal,
        area=area,
        reason=reason,
        details=details or {},
    )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise NotAllowed(message)


def _require_phase(round_: Round, action: Action, message: str) -> None:
    if not allows(round_.phase, action):
        raise NotAllowed(
            f"{message} The round is now in the “{round_.get_phase_display()}” phase.",
            code="wrong_phase",
        )


# --- Rounds ---------------------------------------------------------------------------------

RULE_FIELDS = (
    "budget",
    "currency",
    "min_age",
    "require_residence",
    "voter_codes_enabled",
    "ballot_type",
    "min_choices",
    "max_choices",
    "points_total",
    "score_max",
    "rank_k",
    "groups_score_own_bid",
    "rule",
    "min_share",
)


def round_create(
    *,
    actor: Any,
    name: str,
    budget: int,
    areas: Sequence[Area],
    description: str = "",
    style: str = RoundStyle.CITY,
    slug: str = "",
    **rules_fields: Any,
) -> Round:
    """A manager creates a round for areas they manage; it starts in preparation (draft)."""
    _require(bool(areas), "Choose at least one area for the round.")
    for area in areas:
        _require(rules.can_manage_area(actor, area), f"You do not manage {area.name}.")
    if not name.strip():
        raise DomainError("Give the round a name.", field="name")
    if budget <= 0:
        raise DomainError("The budget must be more than zero.", field="budget")
    unknown = set(rules_fields) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    base = slugify(slug or name)[:40] or "round"
    candidate, n = base, 1
    while Round.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    with transaction.atomic():
        round_ = Round.objects.create(
            name=name.strip(),
            slug=candidate,
            description=description,
            style=style,
            budget=budget,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **rules_fields,
        )
        RoundArea.objects.bulk_create(RoundArea(round=round_, area=a) for a in areas)
        audit(actor=actor, action="round.create", round=round_, details={"budget": budget})
    return round_


def round_update_rules(*, actor: Any, round: Round, reason: str = "", **changes: Any) -> Round:
    """Change budget, rules or eligibility. Refused once voting has opened (integrity)."""
    _require(rules.can_manage_round(actor, round), "Only the round's managers can change it.")
    if is_frozen(round.phase):
        raise NotAllowed(
            "Voting has opened, so the budget, rules and eligibility are fixed and can no "
            "longer change.",
            code="frozen",
        )
    unknown = set(changes) - set(RULE_FIELDS) - {"name", "description"}
    if unknown:
        raise DomainError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "budget" in changes and int(changes["budget"]) <= 0:
        raise DomainError("The budget must be more than zero.", field="budget")
    before = {k: _jsonable(getattr(round, k)) for k in changes}
    with transaction.atomic():
        for key, value in changes.items():
            setattr(round, key, value)
        round.save()
        audit(
            actor=actor,
            action="round.update",
            round=round,
            reason=reason,
            details={"before": before, "after": {k: _jsonable(v) for k, v in changes.items()}},
        )
    return round


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, int | str | bool | type(None)) else str(value)


def round_set_phase_windows(
    *,
    actor: Any,
    round: Round,
    windows: Iterable[tuple[str, dt.datetime, dt.datetime]],
) -> list[PhaseWindow]:
    _require(rules.can_manage_round(actor, round), "Only the round's managers can change it.")
    if is_frozen(round.phase):
        raise NotAllowed("Voting has opened, so the timetable is fixed.", code="frozen")
    rows = sorted(windows, key=lambda w: ORDER.index(Phase(w[0])))
    for phase, starts, ends in rows:
        if ends <= starts:
            raise DomainError(
                f"The {Phase(phase).label} phase must end after it starts.", field=phase
            )
    for (p1, _, e1), (p2, s2, _) in pairwise(rows):
        if s2 < e1:
            raise DomainError(f"{Phase(p2).label} starts before {Phase(p1).label} ends.", field=p2)
    with transaction.atomic():
        round.phase_windows.all().delete()
        created = PhaseWindow.objects.bulk_create(
            PhaseWindow(round=round, phase=p, starts_at=s, ends_at=e) for p, s, e in rows
        )
        audit(
            actor=actor,
            action="round.timetable",
            round=round,
            details={p: [s.isoformat(), e.isoformat()] for p, s, e in rows},
        )
    return created


def _after_phase_change(round_id: int, previous: str, target: str) -> None:
    """Closing the vote starts the count, once the phase change has committed."""
    closes_vote = ORDER.index(Phase(previous)) < ORDER.index(Phase.COUNTING)
    if closes_vote and ORDER.index(Phase(target)) >= ORDER.index(Phase.COUNTING):
        from pb.tasks import tally_round  # the tasks module imports this one

        transaction.on_commit(lambda: tally_round.delay(round_id))


def round_advance_phase(*, actor: Any, round: Round, to_phase: str, reason: str) -> Round:
    """A manager moves a round forward by hand; it needs a written reason for the record."""
    _require(rules.can_manage_round(actor, round), "Only the round's managers can do this.")
    if not reason.strip():
        raise DomainError(
            "Say why you are moving the round on; it goes in the record.", field="reason"
        )
    target = Phase(to_phase)
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if ORDER.index(target) <= ORDER.index(Phase(locked.phase)):
            raise Conflict(
                f"The round is already in the “{locked.get_phase_display()}” phase; phases "
                "only move forward.",
                field="to_phase",
            )
        previous = locked.phase
        locked.phase = target
        locked.save(update_fields=["phase"])
        audit(
            actor=actor,
            action="phase.advance",
            round=locked,
            reason=reason,
            details={"from": previous, "to": target, "by_hand": True},
        )
        _after_phase_change(locked.pk, previous, target)
    round.phase = target
    return locked


def round_advance_due_phases(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """Move every round whose dated phase has started into that phase.

    A round only moves forward, to the latest phase whose window has opened. Each round is
    locked (``select_for_update``) while it moves, so beat and a manager cannot both move it.
    """
    now = now or timezone.now()
    moved: list[tuple[int, str]] = []
    due = (
        PhaseWindow.objects.filter(starts_at__lte=now).values_list("round_id", flat=True).distinct()
    )
    for round_id in due:
        with transaction.atomic():
            round_ = Round.objects.select_for_update().get(pk=round_id)
            started = [Phase(w.phase) for w in round_.phase_windows.filter(starts_at__lte=now)]
            target = max(started, key=ORDER.index)
            if ORDER.index(target) <= ORDER.index(Phase(round_.phase)):
                continue
            previous = round_.phase
            round_.phase = target
            round_.save(update_fields=["phase"])
            audit(
                actor=None,
                action="phase.advance",
                round=round_,
                reason="Scheduled date reached",
                details={"from": previous, "to": target},
            )
            _after_phase_change(round_.pk, previous, target)
            moved.append((round_.pk, str(target)))
    return moved


# --- Proposals ------------------------------------------------------------------------------


def _validate_proposal_fields(
    *, round: Round, area: Area, title: str, description: str, cost: int
) -> None:
    fields: dict[str, list[str]] = {}
    if not title.strip():
        fields["title"] = ["Give your proposal a title."]
    if not description.strip():
        fields["description"] = ["Describe what the project would do."]
    if cost <= 0:
        fields["estimated_cost"] = ["The cost must be more than zero."]
    elif cost > round.budget:
        fields["estimated_cost"] = [
            f"The cost is more than the round's whole budget of "
            f"{format_money(round.budget, round.currency)}."
        ]
    if not round.round_areas.filter(area=area).exists():
        fields["area"] = [f"{area.name} is not taking part in this round."]
    if fields:
        first = next(iter(fields.values()))[0]
        raise DomainError(first, fields=fields)


def _event(proposal: Proposal, text: str) -> None:
    ProposalEvent.objects.create(proposal=proposal, status=proposal.status, text=text)


def proposal_create(
    *,
    author: Any,
    round: Round,
    area: Area,
    title: str,
    description: str,
    estimated_cost: int,
    theme: Theme | None = None,
    submit: bool = True,
    **extra: Any,
) -> Proposal:
    """A resident (or a group, for a decision day) puts forward a proposal, or saves a draft."""
    _require(rules.is_signed_in(author), "Log in to put forward a proposal.")
    _require_phase(round, Action.SUBMIT, "Proposals are not being taken now.")
    _validate_proposal_fields(
        round=round, area=area, title=title, description=description, cost=estimated_cost
    )
    if round.style == RoundStyle.DECISION_DAY and submit and not extra.get("group_name"):
        raise DomainError("Give the name of the group making the bid.", field="group_name")
    allowed_extra = {"latitude", "longitude", "image", "image_alt", "group_name", "group_contact"}
    unknown = set(extra) - allowed_extra
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        proposal = Proposal.objects.create(
            round=round,
            area=area,
            theme=theme,
            author=author,
            title=title.strip(),
            description=description.strip(),
            estimated_cost=estimated_cost,
            status=ProposalStatus.SUBMITTED if submit else ProposalStatus.DRAFT,
            submitted_at=timezone.now() if submit else None,
            **extra,
        )
        _event(proposal, "Submitted." if submit else "Saved as a draft.")
    return proposal


def proposal_update(
    *, actor: Any, proposal: Proposal, submit: bool = False, **changes: Any
) -> Proposal:
    """The author edits their proposal, until the council's review starts."""
    _require(rules.is_author(actor, proposal), "Only the author can change this proposal.")
    _require_phase(
        proposal.round,
        Action.EDIT_OWN,
        "Proposals can no longer be changed: the council's review has started.",
    )
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise NotAllowed("This proposal can no longer be changed.", code="wrong_status")
    editable = {
        "title",
        "description",
        "estimated_cost",
        "area",
        "theme",
        "latitude",
        "longitude",
        "image",
        "image_alt",
        "group_name",
        "group_contact",
    }
    unknown = set(changes) - editable
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    merged = {
        "title": changes.get("title", proposal.title),
        "description": changes.get("description", proposal.description),
        "cost": changes.get("estimated_cost", proposal.estimated_cost),
        "area": changes.get("area", proposal.area),
    }
    _validate_proposal_fields(round=proposal.round, **merged)
    with transaction.atomic():
        for key, value in changes.items():
            setattr(proposal, key, value)
        note = "Edited by the author."
        if submit and proposal.status == ProposalStatus.DRAFT:
            proposal.status = ProposalStatus.SUBMITTED
            proposal.submitted_at = timezone.now()
            note = "Submitted."
        proposal.save()
        _event(proposal, note)
    return proposal


def proposal_withdraw(*, actor: Any, proposal: Proposal, reason: str = "") -> Proposal:
    """The author withdraws their proposal, any time until voting opens."""
    _require(rules.is_author(actor, proposal), "Only the author can withdraw this proposal.")
    _require_phase(
        proposal.round, Action.WITHDRAW, "Proposals cannot be withdrawn once voting has opened."
    )
    if proposal.status in (ProposalStatus.WITHDRAWN, ProposalStatus.MERGED):
        raise Conflict("This proposal has already been withdrawn or merged.")
    with transaction.atomic():
        proposal.status = ProposalStatus.WITHDRAWN
        proposal.save(update_fields=["status", "updated_at"])
        _event(proposal, "Withdrawn by the author." + (f" {reason}" if reason else ""))
    return proposal


def details_read_record(*, user: Any, round: Round) -> None:
    """Note, once per round, that a signed-in resident opened a proposal's details.

    Only reading before the vote closes matters to the deliberation figure, so later visits
    write nothing. One ``INSERT ... ON CONFLICT DO NOTHING``: a second reader or a second tab
    cannot fail or duplicate.
    """
    if not getattr(user, "is_authenticated", False):
        return
    if ORDER.index(Phase(round.phase)) >= ORDER.index(Phase.COUNTING):
        return
    DetailsRead.objects.bulk_create([DetailsRead(round=round, user=user)], ignore_conflicts=True)


def proposal_support(*, user: Any, proposal: Proposal) -> Proposal:
    """One person, one support; the count moves with ``F()`` so concurrent clicks add up."""
    _require(rules.is_signed_in(user), "Log in to support a proposal.")
    _require_phase(
        proposal.round, Action.SUPPORT, "Support is only collected while proposals are being taken."
    )
    if proposal.status != ProposalStatus.SUBMITTED or proposal.hidden:
        raise NotAllowed("This proposal cannot be supported.", code="wrong_status")
    try:
        with transaction.atomic():
            Support.objects.create(proposal=proposal, user=user)
            Proposal.objects.filter(pk=proposal.pk).update(support_count=F("support_count") + 1)
    except IntegrityError as exc:
        raise Conflict("You already support this proposal.") from exc
    proposal.refresh_from_db(fields=["support_count"])
    return proposal


REVIEW_DECISIONS = {
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
    ProposalStatus.MERGED,
}


def proposal_review(
    *,
    actor: Any,
    proposal: Proposal,
    decision: str,
    reason: str,
    council_cost: int | None = None,
    merged_into: Proposal | None = None,
) -> Proposal:
    """Record the council's feasibility decision, with a reason written for the public.

    The proposal row is locked (``select_for_update``) and must still be awaiting review, so
    when two managers decide at once one wins and the other gets a ``Conflict``.
    """
    _require(
        rules.can_review(actor, proposal),
        f"Only managers of {proposal.area.name} can review this proposal.",
    )
    _require_phase(proposal.round, Action.REVIEW, "Proposals are not being reviewed now.")
    fields: dict[str, list[str]] = {}
    if decision not in REVIEW_DECISIONS:
        fields["decision"] = ["Choose feasible, not feasible or merged."]
    if not reason.strip():
        fields["reason"] = ["Write the reason residents will see."]
    if decision == ProposalStatus.FEASIBLE:
        if council_cost is None:
            fields["council_cost"] = ["Give the council's cost estimate."]
        elif council_cost <= 0:
            fields["council_cost"] = ["The cost must be more than zero."]
        elif council_cost > proposal.round.budget:
            fields["council_cost"] = ["The cost is more than the round's whole budget."]
    if decision == ProposalStatus.MERGED:
        if merged_into is None:
            fields["merged_into"] = ["Choose the proposal it is merged into."]
        elif merged_into.pk == proposal.pk or merged_into.round_id != proposal.round_id:
            fields["merged_into"] = ["Choose another proposal of the same round."]
    if fields:
        raise DomainError(next(iter(fields.values()))[0], fields=fields)

    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.status != ProposalStatus.SUBMITTED:
            raise Conflict(
                f"Someone else has already reviewed this proposal: it is now "
                f"“{locked.get_status_display()}”.",
            )
        locked.status = decision
        locked.public_reason = reason.strip()
        locked.council_cost = council_cost if decision == ProposalStatus.FEASIBLE else None
        locked.merged_into = merged_into if decision == ProposalStatus.MERGED else None
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.save()
        text = f"Council review: {locked.get_status_display()}. {locked.public_reason}"
        if locked.council_cost is not None:
            text += f" Council's cost estimate: {format_money(locked.council_cost)}."
        if merged_into is not None:
            text += f" Merged into “{merged_into.title}”."
        _event(locked, text)
        audit(
            actor=actor,
            action="proposal.review",
            round=locked.round,
            proposal=locked,
            area=locked.area,
            reason=reason,
            details={
                "decision": decision,
                "council_cost": locked.council_cost,
                "merged_into": merged_into.pk if merged_into else None,
            },
        )
        if locked.author is not None:
            author = locked.author
            transaction.on_commit(
                lambda: notify(
                    user=author,
                    subject=f"Your proposal “{locked.title}”: {locked.get_status_display()}",
                    body=text,
                    url=f"/proposals/{locked.pk}/",
                )
            )
    return locked


def proposal_hide(
    *, actor: Any, proposal: Proposal, reason: str, image_only: bool = False
) -> Proposal:
    """Moderation: hide a proposal (or only its image) with a reason shown in its place."""
    _require(rules.can_moderate(actor, proposal), "Only the area's managers can moderate.")
    if not reason.strip():
        raise DomainError("Write the reason that will be shown instead.", field="reason")
    with transaction.atomic():
        if image_only:
            proposal.image_hidden = True
        else:
            proposal.hidden = True
        proposal.hidden_reason = reason.strip()
        proposal.save(update_fields=["hidden", "image_hidden", "hidden_reason", "updated_at"])
        what = "image" if image_only else "proposal"
        _event(proposal, f"The {what} was hidden by a moderator: {reason.strip()}")
        audit(
            actor=actor,
            action=f"moderation.hide_{what}",
            round=proposal.round,
            proposal=proposal,
            area=proposal.area,
            reason=reason,
        )
        if proposal.author is not None:
            author = proposal.author
            transaction.on_commit(
                lambda: notify(
                    user=author,
                    subject=f"Your proposal “{proposal.title}” was moderated",
                    body=f"A moderator hid your {what}. The reason: {reason.strip()}",
                    url=f"/proposals/{proposal.pk}/",
                )
            )
    return proposal


# --- Thematic priorities (Porto Alegre) ------------------------------------------------------

DEFAULT_PRIORITY_POINTS = (4, 3, 2, 1)


def themes_rank(*, user: Any, round: Round, themes: Sequence[Theme]) -> list[ThemeRanking]:
    """A resident ranks themes for their area (1st, 2nd, ...); ranking again replaces it."""
    _require(rules.is_signed_in(user), "Log in to rank the priorities.")
    _require_phase(round, Action.RANK_THEMES, "Priorities are not being ranked now.")
    profile = getattr(user, "profile", None)
    area = profile.home_area if profile else None
    if area is None or not round.round_areas.filter(area=area).exists():
        raise NotAllowed(
            "Only residents of the round's areas can rank its priorities. Set "
            "where you live on your details page.",
            code="not_eligible",
        )
    if not themes:
        raise DomainError("Choose at least one theme.", field="themes")
    if len({t.pk for t in themes}) != len(themes):
        raise DomainError("Each theme can only be ranked once.", field="themes")
    points = round.priority_points or list(DEFAULT_PRIORITY_POINTS)
    if len(themes) > len(points):
        raise DomainError(f"Rank at most {len(points)} themes.", field="themes")
    with transaction.atomic():
        ThemeRanking.objects.filter(round=round, user=user).delete()
        return ThemeRanking.objects.bulk_create(
            ThemeRanking(round=round, area=area, user=user, theme=t, position=i + 1)
            for i, t in enumerate(themes)
        )


# --- The Porto Alegre split ----------------------------------------------------------------

SPLIT_CRITERIA = ("population", "need", "priority")


def split_area_values(*, round: Round, theme: Theme | None) -> dict[int, dict[str, int]]:
    """The raw figure of every criterion for every area of the round.

    - population: the area's population.
    - need: the area's need index for the theme (0-100); for the round as a whole, the mean
      of its need indexes over all themes, rounded down (0 when none is recorded).
    - priority (per theme only): the theme's position in the area's own ranking, from the
      points its residents gave each theme (1 = first; 0 = nobody ranked it).
    """
    from pb import split
    from pb.models import AreaNeed
    from pb.selectors import theme_priorities

    points = theme_priorities(round=round)
    themes = list(Theme.objects.values_list("pk", flat=True))
    needs: dict[int, dict[int, int]] = {}
    for need in AreaNeed.objects.filter(area__in=round.areas.all()):
        needs.setdefault(need.area_id, {})[need.theme_id] = need.need_index
    values: dict[int, dict[str, int]] = {}
    for area in round.areas.all():
        area_needs = needs.get(area.pk, {})
        row = {"population": area.population}
        if theme is not None:
            row["need"] = area_needs.get(theme.pk, 0)
            positions = split.priority_positions(
                {str(t): points.get(area.pk, {}).get(t, 0) for t in themes}
            )
            row["priority"] = positions[str(theme.pk)]
        else:
            indexes = list(area_needs.values())
            row["need"] = sum(indexes) // len(indexes) if indexes else 0
        values[area.pk] = row
    return values


def _split_inputs(round_: Round) -> tuple[Any, list[Any], Theme | None]:
    from pb import split

    config = round_.split_config or {}
    if not config.get("criteria"):
        raise DomainError("Choose the split's criteria first.", field="criteria")
    theme_id = config.get("theme")
    theme = Theme.objects.filter(pk=theme_id).first() if theme_id is not None else None
    criteria = split.criteria_from_config(config["criteria"])
    values = split_area_values(round=round_, theme=theme)
    inputs = [
        split.AreaInput(area_id=str(area.pk), name=area.name, values=values[area.pk])
        for area in round_.areas.order_by("pk")
    ]
    return criteria, inputs, theme


def split_configure(
    *,
    actor: Any,
    round: Round,
    criteria: list[dict[str, Any]],
    theme: Theme | None = None,
) -> Round:
    """Store the split's criteria, bands and weights (validated by the pure module)."""
    from pb import split

    _require(rules.can_manage_round(actor, round), "Only the round's managers can do this.")
    _require_phase(round, Action.SPLIT, "The split is fixed once voting opens.")
    try:
        parsed = split.criteria_from_config(criteria)
    except split.SplitError as exc:
        raise DomainError(str(exc), field="criteria") from exc
    if not parsed:
        raise DomainError("Use at least one criterion.", field="criteria")
    keys = {c.key for c in parsed}
    unknown = keys - set(SPLIT_CRITERIA)
    if unknown:
        raise DomainError(f"Unknown criteria: {', '.join(sorted(unknown))}.", field="criteria")
    if "priority" in keys and theme is None:
        raise DomainError(
            "Residents rank priorities per theme: choose a theme to use the priority criterion.",
            field="theme",
        )
    with transaction.atomic():
        round.split_config = {
            "theme": theme.pk if theme else None,
            "criteria": split.criteria_to_config(parsed),
        }
        round.split_result = None
        round.split_published_at = None
        round.save(update_fields=["split_config", "split_result", "split_published_at"])
        audit(actor=actor, action="split.configure", round=round, details=round.split_config)
    return round


def _store_split(round_: Round, result: Any) -> dict[str, Any]:
    table = result.to_dict()
    round_.split_result = table
    round_.split_published_at = None
    round_.save(update_fields=["split_result", "split_published_at"])
    for row in result.rows:
        RoundArea.objects.filter(round=round_, area_id=int(row.area_id)).update(
            allocation=row.amount, override_reason=row.reason if row.overridden else ""
        )
    return table


def split_compute(*, actor: Any, round: Round) -> dict[str, Any]:
    """Compute the split from the stored settings and give every area its amount."""
    from pb import split

    _require(rules.can_manage_round(actor, round), "Only the round's managers can do this.")
    _require_phase(round, Action.SPLIT, "The split is fixed once voting opens.")
    criteria, inputs, theme = _split_inputs(round)
    try:
        result = split.compute_split(
            round.budget,
            criteria,
            inputs,
            currency=round.currency,
            theme=theme.name if theme else None,
        )
    except split.SplitError as exc:
        raise DomainError(str(exc), field="criteria") from exc
    with transaction.atomic():
        table = _store_split(round, result)
        audit(
            actor=actor,
            action="split.compute",
            round=round,
            details={r["area_name"]: r["amount"] for r in table["rows"]},
        )
    return table


def split_override(
    *, actor: Any, round: Round, area: Area, amount: int, reason: str
) -> dict[str, Any]:
    """Change one area's amount, with a public reason; the rest is shared out again."""
    from pb import split

    _require(rules.can_manage_round(actor, round), "Only the round's managers can do this.")
    _require_phase(round, Action.SPLIT, "The split is fixed once voting opens.")
    if not reason.strip():
        raise DomainError("Write the public reason for changing this amount.", field="reason")
    if round.split_result is None:
        raise DomainError("Compute the split before changing an area's amount.")
    overrides = {
        str(r["area_id"]): (r["amount"], r["reason"])
        for r in round.split_result["rows"]
        if r.get("overridden")
    }
    overrides[str(area.pk)] = (amount, reason.strip())
    criteria, inputs, theme = _split_inputs(round)
    try:
        base = split.compute_split(
            round.budget,
            criteria,
            inputs,
            currency=round.currency,
            theme=theme.name if theme else None,
        )
        result = split.apply_overrides(
            base,
            {k: v[0] for k, v in overrides.items()},
            reasons={k: v[1] for k, v in overrides.items()},
        )
    except split.SplitError as exc:
        raise DomainError(str(exc), field="amount") from exc
    with transaction.atomic():
        table = _store_split(round, result)
        audit(
            actor=actor,
            action="split.override",
            round=round,
            area=area,
            reason=reason,
            details={"amount": amount},
        )
    return table


def split_publish(*, actor: Any, round: Round) -> Round:
    """Publish the split table on the round's page; it must happen before voting opens."""
    _require(rules.can_manage_round(actor, round), "Only the round's managers can do this.")
    _require_phase(round, Action.SPLIT, "The split is fixed once voting opens.")
    if round.split_result is None:
        raise DomainError("Compute the split before publishing it.")
    round.split_published_at = timezone.now()
    round.save(update_fields=["split_published_at"])
    audit(actor=actor, action="split.publish", round=round)
    return round
