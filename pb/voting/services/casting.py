"""Casting a ballot online or at a kiosk, with a signed-in account or a voter code.

A cast writes a ``Participation`` (who) and a ``PendingBallot`` (what, with no link to who) in
one transaction; sealing later moves pending ballots, shuffled and in batches, to the table the
count reads (``pb.voting.sealing``, docs/secrecy.md). Double votes are decided by the unique
constraints on ``Participation`` (one per round and account, one per voter code), never by a
check-then-act, so two requests racing with the same code store exactly one ballot. Nothing
is stored when a ballot is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor, AgeBand
from backend.accounts.rules import user_or_none
from backend.errors import Conflict, DomainError, NotFound
from pb.models import BALLOT_RULE_FIELDS, Area, Channel, Participation, Round, RoundArea, VoterCode
from pb.phases import Action, Phase
from pb.services.guards import require_phase
from pb.voting import sealing
from pb.voting.models import PendingBallot
from pb.voting.selectors import ballot_spec
from pb.voting.services.checking import check_selections
from pb.voting.services.codes import (
    RECEIPT_LENGTH,
    code_shape_ok,
    format_code,
    random_code,
    receipt_hash,
    survey_code_mint,
    voter_code_hash,
)

logger = logging.getLogger(__name__)

#: The round fields a cast reads (phase, eligibility, and the ballot on a cache miss): the API
#: loads only these.
CASTING_FIELDS = ("id", "phase", "style", *BALLOT_RULE_FIELDS)


@dataclass(frozen=True)
class Receipt:
    """What the voter takes away: the receipt code (never stored, only its hash)."""

    code: str
    round_id: int
    area_id: int
    channel: str
    cast_on: dt.date
    selections: dict[str, int]
    #: A voter without an account answers the influence survey with this (empty for accounts,
    #: whose survey goes by their account).
    survey_code: str = ""


def _age_band(birth_year: int | None, today: dt.date) -> str:
    return AgeBand.for_age(today.year - birth_year).value if birth_year else ""


def round_area_for_home(taking_part: set[int], home: Area | None) -> int | None:
    """The round's area that holds ``home`` (itself or the ward around it), else ``home``'s id."""
    if home is None:
        return None
    return next((a.pk for a in home.self_and_ancestors() if a.pk in taking_part), home.pk)


def account_eligibility(
    round_: Round, voter: Actor | None, area_id: int | None, today: dt.date
) -> tuple[int, str]:
    """The area a signed-in resident votes in and their age band, from their checked profile."""
    profile = getattr(voter, "profile", None)
    if profile is None or not profile.verified:
        raise DomainError(
            _(
                "Your home area and age have not been checked yet, so you cannot vote with your "
                "account. Use the voter code from your letter, or ask the council to check your "
                "details."
            ),
            code="ineligible",
        )
    if profile.birth_year is None or today.year - profile.birth_year < round_.min_age:
        raise DomainError(
            _("You must be %(age)d or over to vote in this round.") % {"age": round_.min_age},
            code="ineligible",
        )
    taking_part = set(RoundArea.objects.filter(round=round_).values_list("area_id", flat=True))
    if area_id is None:
        area_id = round_area_for_home(taking_part, profile.home_area)
    if area_id is None:
        raise DomainError(_("Choose the area you are voting in."), field="area")
    if area_id not in taking_part:
        # Checked here, before a ballot is drawn: a home area outside the round used to reach
        # the ballot and end in a server error.
        names = ", ".join(round_.areas.order_by("name").values_list("name", flat=True))
        raise DomainError(
            _(
                "This round is for %(areas)s. Your checked home area is %(home)s, so you cannot "
                "vote in it with your account."
            )
            % {"areas": names, "home": profile.home_area or _("not set")},
            field="area",
            code="wrong_area",
        )
    # A resident of a neighbourhood votes in the ward around it too.
    home = profile.home_area
    if round_.require_residence and not (home is not None and home.lies_within(area_id)):
        raise DomainError(
            _("You can only vote for the area you live in."), field="area", code="ineligible"
        )
    return area_id, _age_band(profile.birth_year, today)


def ballot_write(
    *,
    round_: Round,
    area_id: int,
    channel: str,
    selections: dict[str, int],
    voter: Actor | None = None,
    code: VoterCode | None = None,
    age_band: str = "",
    today: dt.date,
    register_entry_id: int | None = None,
) -> Receipt:
    """The participation and the pending ballot, in one transaction; raises ``IntegrityError``
    on a second vote (the unique constraints decide: per account, per code, per register
    entry; ``is_resident_clash`` tells the last apart).

    The ballot goes to ``PendingBallot``, not to the table the count reads: written beside its
    participation it is linkable to the voter until sealing moves it, shuffled, into a batch
    (``pb.voting.sealing``). The cast that makes a batch enqueues the sealing task on commit.

    On PostgreSQL both rows go in one statement (a data-modifying ``WITH``), which is one
    transaction by itself: one round trip instead of BEGIN, two INSERTs and COMMIT. The same
    statement counts the other pending ballots of its cell (round, area and channel: sealing
    goes by cell), capped so that a backlog costs nothing more. Inside an outer transaction it
    runs under a savepoint, as ``atomic()`` did, so a refused second vote leaves the outer
    transaction usable.
    """
    receipt = random_code(RECEIPT_LENGTH)
    if connection.vendor == "postgresql":
        params = (
            round_.pk,
            area_id,
            getattr(voter, "pk", None),
            code.pk if code is not None else None,
            channel,
            age_band,
            today,
            register_entry_id,
            uuid.uuid4(),
            round_.pk,
            area_id,
            channel,
            json.dumps(selections),
            receipt_hash(receipt),
            round_.pk,
            area_id,
            channel,
        )
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_write_sql(), params)
                others = cursor.fetchone()[0]
        else:
            with connection.cursor() as cursor:
                cursor.execute(_write_sql(), params)
                others = cursor.fetchone()[0]
    else:
        with transaction.atomic():
            Participation.objects.create(
                round_id=round_.pk,
                area_id=area_id,
                voter=user_or_none(voter),
                voter_code=code,
                channel=channel,
                age_band=age_band,
                voted_on=today,
                register_entry_id=register_entry_id,
            )
            others = PendingBallot.objects.filter(
                round_id=round_.pk, area_id=area_id, channel=channel
            )[:_PENDING_CAP].count()
            PendingBallot.objects.create(
                round_id=round_.pk,
                area_id=area_id,
                channel=channel,
                selections=selections,
                receipt_hash=receipt_hash(receipt),
            )
    if others + 1 == sealing.MIN_BATCH:
        _seal_on_commit(round_.pk)
    return Receipt(format_code(receipt), round_.pk, area_id, channel, today, selections)


#: A cast counts at most this many other pending ballots of its cell: enough to see that it
#: is the one that makes a batch, and no more work when a backlog waits for the worker. Casts
#: racing past the 20th can miss it; beat seals whatever they missed within a minute.
_PENDING_CAP = sealing.MIN_BATCH


def _seal_on_commit(round_id: int) -> None:
    def enqueue() -> None:
        from pb.tasks import seal_ballots

        try:
            seal_ballots.delay(round_id)
        except Exception:  # the ballot is stored; beat's backstop seals it within a minute
            logger.warning("could not enqueue sealing for round %s", round_id, exc_info=True)

    transaction.on_commit(enqueue)


def ballot_cast(
    *,
    round: Round,
    selections: Any,
    area_id: int | None = None,
    voter: Actor | None = None,
    voter_code: str = "",
    channel: str = Channel.ONLINE,
    own_bid: int | None = None,
) -> Receipt:
    """Cast a ballot online or at a kiosk, with a signed-in account or a voter code.

    Refusals: ``NotAllowed`` outside voting; ``DomainError`` for a malformed or ineligible
    ballot or an unknown code; ``Conflict`` when this account or code has already voted.
    """

    def find_code() -> VoterCode | None:
        return (
            VoterCode.objects.filter(round=round, code_hash=voter_code_hash(voter_code))
            .annotate(used=Exists(Participation.objects.filter(voter_code=OuterRef("pk"))))
            .only("pk", "area_id", "register_entry_id")
            .first()
        )

    return _cast(
        round=round,
        selections=selections,
        area_id=area_id,
        voter=voter,
        voter_code=voter_code,
        find_code=find_code,
        channel=channel,
        own_bid=own_bid,
    )


def _cast(
    *,
    round: Round,
    selections: Any,
    area_id: int | None,
    voter: Actor | None,
    voter_code: str,
    find_code: Callable[[], VoterCode | None],
    channel: str,
    own_bid: int | None,
    area_hint: int | None = None,
    round_areas: list[int] | None = None,
) -> Receipt:
    """``ballot_cast`` with the voter code's row (and whether it has voted) read by
    ``find_code``, only once the code's shape is checked (``ballot_cast_with_code`` has read it
    with the round, and passes a usable code's area as ``area_hint`` and the round's areas as
    ``round_areas``)."""
    require_phase(round, Action.VOTE, _("Voting is not open."))
    today = timezone.localdate()
    code_row: VoterCode | None = None
    signed_in = base_rules.is_signed_in(voter)
    age_band = ""
    entry_id: int | None = None
    canonical: dict[str, int] | None = None
    if voter_code.strip():
        if channel == Channel.ONLINE and not round.voter_codes_enabled:
            raise DomainError(_("This round does not take voter codes online."), field="voter_code")
        # The ballot is checked before the code, so a bad ballot says the same whatever the
        # code: nobody learns that a code is good without spending it (issue 13).
        accepted = _ballot_for_some_area(
            round, area_id, selections, own_bid, area_hint, round_areas
        )
        code_row = _usable_code(voter_code, find_code)
        if code_row is None:
            raise code_not_accepted()
        area_id = area_id if area_id is not None else code_row.area_id
        entry_id = getattr(code_row, "register_entry_id", None)
        if area_id is None:  # an area-less code from before areas were required
            raise DomainError(_("Choose the area you are voting in."), field="area")
        if code_row.area_id not in (None, area_id) or area_id not in accepted:
            # A good code for another area, or a ballot its own area does not take: the same
            # answer as for a made-up code (the message says to check the area).
            raise code_not_accepted()
        canonical = accepted[area_id]
    elif channel != Channel.ONLINE:
        raise DomainError(_("Enter your voter code."), field="voter_code")
    elif signed_in:
        area_id, age_band = account_eligibility(round, voter, area_id, today)
        entry_id = base_rules.signed_in_user(voter).profile.register_entry_id
    else:
        raise DomainError(
            _("Log in, or enter the voter code from your letter, to vote."),
            field="voter_code",
            code="ineligible",
        )
    if canonical is None:
        spec = ballot_spec(round=round, area_id=area_id)
        canonical = check_selections(spec, selections, own_bid=own_bid)
    try:
        receipt = ballot_write(
            round_=round,
            area_id=area_id,
            channel=channel,
            selections=canonical,
            voter=voter if signed_in and channel == Channel.ONLINE else None,
            code=code_row,
            age_band=age_band,
            today=today,
            register_entry_id=entry_id,
        )
    except IntegrityError as exc:
        if is_resident_clash(exc):  # another channel voted for this resident: say so
            raise resident_voted() from exc
        if code_row is not None:  # a simultaneous cast with the same code won
            raise code_not_accepted() from exc
        raise Conflict(_("You have already voted in this round."), code="already_voted") from exc
    if code_row is not None:
        # Written after the ballot, in a statement of its own: it names no ballot or person.
        # The ballot is in by now, so a failure here must not hide the receipt behind a 500:
        # the voter keeps their receipt, without a survey code (the survey is a bonus).
        receipt = replace(receipt, survey_code=_survey_code_or_none(round.pk, area_id, channel))
    return receipt


def _survey_code_or_none(round_id: int, area_id: int, channel: str) -> str:
    """A survey code for the receipt, or "" (logged) when it could not be stored.

    Cast from a request, outside any transaction, the insert is a statement of its own, and
    one that fails leaves nothing to undo: no extra round trip on the voting path. Inside a
    caller's transaction it gets a savepoint, so a failure does not break that transaction."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                return survey_code_mint(round_id=round_id, area_id=area_id, channel=channel)
        return survey_code_mint(round_id=round_id, area_id=area_id, channel=channel)
    except DatabaseError:
        logger.exception("could not make a survey code for a ballot in round %s", round_id)
        return ""


def _ballot_for_some_area(
    round_: Round,
    area_id: int | None,
    selections: Any,
    own_bid: int | None,
    area_hint: int | None = None,
    round_areas: list[int] | None = None,
) -> dict[int, dict[str, int]]:
    """The ballot as each area that takes it would store it, before any code is looked at.

    With the area named (or the round having one), that area's check, whose refusal is raised
    as it is. With none named, every area of the round is tried: a ballot no area takes gets
    the first area's refusal, the same whatever the code; one that some area takes goes on to
    the code, whose area must be among them.

    ``area_hint``: the area of a code already known to be usable (unused, of the round, of a
    code's shape). When that area takes the ballot, the ballot is stored there whatever the
    other areas say, so only it is checked; otherwise every area is tried as above. The answer
    is the same either way, and only a cast that then succeeds is quicker, so the time taken
    tells nobody more about a code than the 201 itself does.
    """
    if area_id is None and area_hint is not None:
        try:
            spec = ballot_spec(round=round_, area_id=area_hint)
            return {area_hint: check_selections(spec, selections, own_bid=own_bid)}
        except DomainError:
            pass  # that area refuses it (or has left the round): every area decides
    if area_id is None:
        areas = (
            round_areas  # read with the round (ballot_cast_with_code), in the same order
            if round_areas is not None
            else list(
                RoundArea.objects.filter(round=round_)
                .order_by("area_id")
                .values_list("area_id", flat=True)
            )
        )
        if len(areas) == 1:
            area_id = areas[0]
    if area_id is not None:
        spec = ballot_spec(round=round_, area_id=area_id)
        return {area_id: check_selections(spec, selections, own_bid=own_bid)}
    accepted: dict[int, dict[str, int]] = {}
    first: DomainError | None = None
    for area in areas:
        try:
            spec = ballot_spec(round=round_, area_id=area)
            accepted[area] = check_selections(spec, selections, own_bid=own_bid)
        except DomainError as exc:
            first = first or exc
    if not accepted:
        raise first or DomainError(_("Choose the area you are voting in."), field="area")
    return accepted


def is_resident_clash(exc: IntegrityError) -> bool:
    """Whether the second vote was refused for the register entry (PostgreSQL names the
    constraint, SQLite its columns)."""
    text = str(exc)
    return "one_vote_per_register_entry" in text or "register_entry_id" in text


def resident_voted() -> Conflict:
    """What happened, whatever the channel: this resident's vote is already in."""
    return Conflict(
        _(
            "A vote has already been cast for this resident in this round, so this one was not "
            "counted."
        ),
        code="resident_already_voted",
    )


#: The one answer for a voter code that is unknown, used, malformed or for another area.
CODE_NOT_ACCEPTED = "code_not_accepted"


def code_not_accepted() -> Conflict:
    """The same refusal, word for word, for every code that cannot vote: a code that was used
    answered differently from one that never existed, so codes could be tested without being
    spent (issue 13). A 409 as before for a used code, the commonest case."""
    return Conflict(
        _(
            "This voter code cannot be used. Check that you typed it as printed on your letter "
            "and chose the area the letter is for. Each code votes once: if you have already "
            "voted with it, your vote is counted."
        ),
        field="voter_code",
        code=CODE_NOT_ACCEPTED,
    )


def _usable_code(voter_code: str, find: Callable[[], VoterCode | None]) -> VoterCode | None:
    """The round's code that has not voted yet, or None (unknown, used or not a code's shape):
    ``find`` reads the row with its ``used`` flag."""
    if not code_shape_ok(voter_code):
        return None
    row = find()
    if row is None or getattr(row, "used", False):
        return None
    return row


def _columns(model: Any, names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(
        prefix + connection.ops.quote_name(model._meta.get_field(n).column) for n in names
    )


@cache
def _write_sql() -> str:
    """Participation then pending ballot in one PostgreSQL statement (the ballot reads the CTE,
    so it is written only after the participation was), returning how many other ballots of
    its cell (round, area, channel) were pending (the subquery sees the statement's snapshot,
    so not this one)."""
    part = (
        "round",
        "area",
        "voter",
        "voter_code",
        "channel",
        "age_band",
        "voted_on",
        "register_entry",
    )
    ballot = ("id", "round", "area", "channel", "selections", "receipt_hash")
    qn = connection.ops.quote_name
    pending = qn(PendingBallot._meta.db_table)
    # Identifiers from the models' metadata; every value is a query parameter.
    return (
        f"WITH p AS (INSERT INTO {qn(Participation._meta.db_table)}"  # noqa: S608
        f" ({_columns(Participation, part)})"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING 1)"
        f" INSERT INTO {pending} ({_columns(PendingBallot, ballot)})"
        " SELECT %s, %s, %s, %s, %s::jsonb, %s FROM p"
        f" RETURNING (SELECT count(*) FROM (SELECT 1 FROM {pending}"
        f" WHERE {qn('round_id')} = %s AND {qn('area_id')} = %s AND {qn('channel')} = %s"
        f" LIMIT {_PENDING_CAP}) o)"
    )


@cache
def _round_fields() -> tuple[str, ...]:
    """CASTING_FIELDS in the model's order, as ``Model.from_db`` reads a partial row."""
    return tuple(f.attname for f in Round._meta.concrete_fields if f.attname in CASTING_FIELDS)


@cache
def _round_and_code_sql() -> str:
    qn = connection.ops.quote_name
    round_cols = _columns(Round, _round_fields(), "r.")
    # The round's areas too, for a ballot that names none (PostgreSQL; SQLite reads them apart).
    areas = (
        f"ARRAY(SELECT ra.{qn('area_id')} FROM {qn(RoundArea._meta.db_table)} ra"  # noqa: S608
        f" WHERE ra.{qn('round_id')} = r.{qn('id')} ORDER BY ra.{qn('area_id')})"
        if connection.vendor == "postgresql"
        else "NULL"
    )
    return (
        f"SELECT {round_cols}, c.{qn('id')}, c.{qn('area_id')}, c.{qn('register_entry_id')},"  # noqa: S608
        f" EXISTS (SELECT 1 FROM {qn(Participation._meta.db_table)} p"
        f" WHERE p.{qn('voter_code_id')} = c.{qn('id')}),"
        f" {areas}"
        f" FROM {qn(Round._meta.db_table)} r LEFT JOIN {qn(VoterCode._meta.db_table)} c"
        f" ON c.{qn('round_id')} = r.{qn('id')} AND c.{qn('code_hash')} = %s"
        f" WHERE r.{qn('id')} = %s AND r.{qn('phase')} <> %s"
    )


def ballot_cast_with_code(
    *,
    round_id: int,
    voter_code: str,
    selections: Any,
    area_id: int | None = None,
    own_bid: int | None = None,
) -> Receipt:
    """``ballot_cast`` online with a voter code and no account, as the API's hot path.

    The round (any phase but draft, whose fields a cast reads) and the code are read in one
    query; everything else is ``ballot_cast``. ``NotFound`` when there is no such round, or it
    is being prepared: nobody without an account may see it (``pb.selectors.get_visible_round``).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _round_and_code_sql(), (voter_code_hash(voter_code), round_id, Phase.DRAFT.value)
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("There is no such round."))
    fields = _round_fields()
    n = len(fields)
    round_ = Round.from_db(connection.alias, list(fields), row[:n])
    code_id, code_area, entry_id, used, round_areas = row[n : n + 5]
    code_row = (
        None
        if code_id is None
        else VoterCode.from_db(
            connection.alias,
            ["id", "area_id", "register_entry_id"],
            [code_id, code_area, entry_id],
        )
    )
    if code_row is not None:
        code_row.used = bool(used)  # type: ignore[attr-defined]
    usable = code_row is not None and not used and code_shape_ok(voter_code)
    return _cast(
        round=round_,
        selections=selections,
        area_id=area_id,
        voter=None,
        voter_code=voter_code,
        find_code=lambda: code_row,
        channel=Channel.ONLINE,
        own_bid=own_bid,
        area_hint=code_area if usable and area_id is None else None,
        round_areas=None if round_areas is None else list(round_areas),
    )
