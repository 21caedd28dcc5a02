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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor, AgeBand
from backend.accounts.rules import user_or_none
from backend.errors import Conflict, DomainError, NotFound
from pb.areas.models import Area
from pb.phases import Action, Phase, phases_allowing
from pb.rounds.models import BALLOT_RULE_FIELDS, Round, RoundArea
from pb.services.guards import require_phase
from pb.voting import sealing
from pb.voting.models import (
    Channel,
    CodeRefusal,
    Participation,
    PendingBallot,
    SurveyCode,
    VoterCode,
)
from pb.voting.selectors import ballot_spec, ballot_spec_cached
from pb.voting.services.checking import check_selections, names_a_project_not_on
from pb.voting.services.codes import (
    RECEIPT_LENGTH,
    code_shape_ok,
    format_code,
    random_code,
    receipt_hash,
    survey_code_draw,
    survey_code_hash,
    survey_code_mint,
    voter_code_hash,
)
from pb.voting.throttles import CodesRefusedTooOften, RefusalWindow, refusals_stop

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

    A cast with a voter code (online or at a kiosk) also makes the survey code printed on its
    receipt (``Receipt.survey_code``). On PostgreSQL it is a third row of the same statement,
    so the cast is one commit: see ``_survey_code_sql`` for why that ties it to no ballot, and
    for what happens in the one way it can fail where the ballot would not (a clash).
    """
    receipt = random_code(RECEIPT_LENGTH)
    survey = code is not None
    if connection.vendor == "postgresql":
        params: tuple[Any, ...] = (
            round_.pk,
            area_id,
            getattr(voter, "pk", None),
            code.pk if code is not None else None,
            channel,
            age_band,
            today,
            register_entry_id,
        )
        survey_code = survey_code_draw() if survey else ""
        if survey:
            params += (uuid.uuid4(), round_.pk, area_id, channel, survey_code_hash(survey_code))
        params += (
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
        with _statement() as cursor:
            cursor.execute(_write_sql(survey), params)
            others, surveyed = cursor.fetchone()
        if survey:
            survey_code = format_code(survey_code) if surveyed else _survey_code_clashed(round_.pk)
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
        # SQLite (the demo): after the ballot, in a statement (or savepoint) of its own.
        survey_code = _survey_code_or_none(round_.pk, area_id, channel) if survey else ""
    if others + 1 == sealing.MIN_BATCH:
        _seal_on_commit(round_.pk)
    return Receipt(
        format_code(receipt), round_.pk, area_id, channel, today, selections, survey_code
    )


@contextmanager
def _statement() -> Iterator[Any]:
    """A cursor for one writing statement: by itself outside a transaction (a statement is a
    transaction), under a savepoint inside a caller's, as ``atomic()`` would, so a refused
    second vote leaves that transaction usable.

    The cursor binds its parameters on the server (PostgreSQL; Django's own cursors bind them
    in the client), so psycopg prepares the statement once a connection has run it a few times
    (``prepare_threshold``) and PostgreSQL no longer plans it on every cast: planning the
    casting statement took about 0.25 ms of the database's CPU against 0.1 ms to run it
    (docs/voting-performance.md). Every value is a parameter either way."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each ``connection.x`` is a thread-local lookup
    if db.in_atomic_block:
        with transaction.atomic(), _server_binding_cursor(db) as cursor:
            yield cursor
    else:
        with _server_binding_cursor(db) as cursor:
            yield cursor


def _server_binding_cursor(db: Any) -> Any:
    """``db.cursor()``, with psycopg's server-binding cursor where Django's backend would make
    a client-binding one (PostgreSQL with psycopg 3; else Django's cursor)."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if db.vendor != "postgresql" or not is_psycopg3:
        return db.cursor()
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        TIMESTAMPTZ_OID,
        ServerBindingCursor,
    )
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    db.ensure_connection()
    with db.wrap_database_errors:
        raw = db.connection
        cursor = ServerBindingCursor(raw)
        # As Django's create_cursor: the time zone, if the connection's is not Django's.
        if db.timezone != raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone:
            register_tzloader(db.timezone, cursor)
        db.validate_thread_sharing()
        return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


def _survey_code_clashed(round_id: int) -> str:
    """The survey code drawn for a receipt was already taken (26**8 codes): the ballot is in
    and the voter keeps their receipt, without a survey code (the survey is a bonus)."""
    logger.error("could not make a survey code for a ballot in round %s: it clashed", round_id)
    return ""


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
    return receipt


def _survey_code_or_none(round_id: int, area_id: int, channel: str) -> str:
    """A survey code for the receipt, or "" (logged) when it could not be stored (SQLite).

    Written after the ballot, which is in by now, so a failure here must not hide the receipt
    behind a 500: the voter keeps their receipt, without a survey code. Outside any
    transaction the insert is a statement of its own; inside a caller's it gets a savepoint,
    so a failure does not break that transaction."""
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


def _survey_code_sql(source: str, values: str) -> str:
    """The survey code's row as a CTE ``s`` of a casting statement, one row for each row of
    ``source`` (the participation's CTE), taking ``values`` (id, round, area, channel; the
    code's hash is a parameter).

    Written in the cast's own statement, the survey code shares its transaction number
    (``xmin``) with the participation and the pending ballot. That ties it to *who* voted,
    which the participation says anyway and which docs/secrecy.md already allowed (it was
    written just after), and to the pending ballot only while that ballot is still tied to the
    participation by the same number: sealing deletes the pending row and writes the ballot
    in a transaction of its own, and the survey opens after the count, which waits for every
    ballot to be sealed. Nothing of the survey code goes into the ballot's row. One statement
    is one commit (one WAL flush) instead of two.

    A clash with an existing survey code (the only way this insert fails where the
    participation's would not) writes no survey code and keeps the ballot: ``ON CONFLICT DO
    NOTHING``, and the statement says how many it wrote.
    """
    qn = connection.ops.quote_name
    cols = _columns(SurveyCode, ("id", "round", "area", "channel", "code_hash", "used"))
    return (
        f"s AS (INSERT INTO {qn(SurveyCode._meta.db_table)} ({cols})"  # noqa: S608
        f" SELECT {values}, %s, false FROM {source}"
        f" ON CONFLICT ({qn('code_hash')}) DO NOTHING RETURNING 1)"
    )


def _pending_count_sql(round_: str = "%s", area: str = "%s", channel: str = "%s") -> str:
    """How many other ballots of the cell (round, area, channel: SQL expressions, parameters
    unless told) are pending, at most the cap: in a casting statement, the subquery sees the
    statement's snapshot, so not this one."""
    qn = connection.ops.quote_name
    pending = qn(PendingBallot._meta.db_table)
    return (
        f"(SELECT count(*) FROM (SELECT 1 FROM {pending} o"  # noqa: S608
        f" WHERE o.{qn('round_id')} = {round_} AND o.{qn('area_id')} = {area}"
        f" AND o.{qn('channel')} = {channel} LIMIT {_PENDING_CAP}) o)"
    )


#: The online channel as an SQL literal: a constant of ours ("online"), not a value from a
#: request, and letters only, so it needs no quoting.
_ONLINE = f"'{Channel.ONLINE.value}'"


@cache
def _write_sql(survey: bool) -> str:
    """Participation then pending ballot in one PostgreSQL statement (the ballot reads the CTE,
    so it is written only after the participation was), returning how many other ballots of
    its cell (round, area, channel) were pending and how many survey codes it wrote (with
    ``survey``, the voter code's survey code too, ``_survey_code_sql``; else none)."""
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
    qn = connection.ops.quote_name
    pending = qn(PendingBallot._meta.db_table)
    survey_cte = ", " + _survey_code_sql("p", "%s, %s, %s, %s") if survey else ""
    surveyed = "(SELECT count(*) FROM s)" if survey else "0"
    # Identifiers from the models' metadata; every value is a query parameter.
    return (
        f"WITH p AS (INSERT INTO {qn(Participation._meta.db_table)}"  # noqa: S608
        f" ({_columns(Participation, part)})"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING 1){survey_cte}"
        f" INSERT INTO {pending} ({_columns(PendingBallot, _BALLOT)})"
        " SELECT %s, %s, %s, %s, %s::jsonb, %s FROM p"
        f" RETURNING {_pending_count_sql()}, {surveyed}"
    )


_BALLOT = ("id", "round", "area", "channel", "selections", "receipt_hash")


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
        f"SELECT {round_cols}, c.{qn('id')} AS code_id, c.{qn('area_id')} AS code_area,"  # noqa: S608
        f" c.{qn('register_entry_id')} AS code_entry,"
        f" EXISTS (SELECT 1 FROM {qn(Participation._meta.db_table)} p"
        f" WHERE p.{qn('voter_code_id')} = c.{qn('id')}) AS used,"
        f" {areas} AS areas"
        f" FROM {qn(Round._meta.db_table)} r LEFT JOIN {qn(VoterCode._meta.db_table)} c"
        f" ON c.{qn('round_id')} = r.{qn('id')} AND c.{qn('code_hash')} = %s"
        f" WHERE r.{qn('id')} = %s AND r.{qn('phase')} <> %s"
    )


@cache
def _cast_with_code_sql() -> str:
    """The whole anonymous voter-code cast in one PostgreSQL statement (one round trip, one
    commit): ``i`` reads the round and the code as ``_round_and_code_sql`` does; ``p`` writes
    the participation only when the round is voting and takes codes online, the code is the
    round's, unused, and its area is one of the round's whose ballot takes this one (the
    ``%s::bigint[]`` of ``CodeCast.accepted``); then the survey code (``_survey_code_sql``)
    and the pending ballot, in the code's area, as that area's check stored it. The row is
    ``i``'s (none: no such round, or a draft), then the ballot's area (NULL: nothing written),
    the survey codes written and the cell's other pending ballots, as ``_write_sql``; then
    whether the client is stopped for too many refused codes (``k``: ``pb.voting.throttles``,
    nothing is written then) and the oldest refusal in its window."""
    qn = connection.ops.quote_name
    refusals = qn(CodeRefusal._meta.db_table)
    part = ("round", "area", "voter", "voter_code", "channel", "age_band", "voted_on")
    round_, area, round_id = qn("round_id"), qn("area_id"), f"i.{qn('id')}"
    pending = qn(PendingBallot._meta.db_table)
    # Each value once: the round is i's, the channel online, the ids drawn by PostgreSQL.
    return (
        f"WITH k AS (SELECT count(*) >= %s AS stopped, min({qn('at')}) AS oldest"  # noqa: S608
        f" FROM {refusals} WHERE {qn('client')} = %s AND {qn('at')} > %s),"
        f" i AS ({_round_and_code_sql()}),"
        f" p AS (INSERT INTO {qn(Participation._meta.db_table)}"
        f" ({_columns(Participation, (*part, 'register_entry'))})"
        f" SELECT {round_id}, i.code_area, NULL, i.code_id, {_ONLINE}, '', %s, i.code_entry"
        f" FROM i WHERE i.{qn('phase')} = ANY(%s) AND i.{qn('voter_codes_enabled')}"
        " AND NOT i.used AND i.code_area = ANY(%s::bigint[]) AND i.code_area = ANY(i.areas)"
        " AND NOT (SELECT stopped FROM k)"
        f" RETURNING {round_}, {area}),"
        f" {_survey_code_sql('p', f'gen_random_uuid(), {round_}, {area}, {_ONLINE}')},"
        f" b AS (INSERT INTO {pending} ({_columns(PendingBallot, _BALLOT)})"
        f" SELECT gen_random_uuid(), {round_}, {area}, {_ONLINE},"
        f" (%s::jsonb) -> ({area}::text), %s FROM p RETURNING {area})"
        " SELECT i.*, (SELECT b.area_id FROM b), (SELECT count(*) FROM s),"
        f" {_pending_count_sql(round_id, '(SELECT b.area_id FROM b)', _ONLINE)},"
        " (SELECT stopped FROM k), (SELECT oldest FROM k) FROM i"
    )


_VOTING_PHASES = sorted(p.value for p in phases_allowing(Action.VOTE))

#: The areas each round had when this process last cast in it: a ballot that names no area is
#: checked against each before the statement (which checks the code's area is still one).
_round_areas_seen: dict[int, tuple[int, ...]] = {}


@dataclass(frozen=True)
class CodeCast:
    """An anonymous voter-code cast, checked as far as it can be before any query, by
    ``code_cast_prepare``: the API does this while the throttle's Redis read is under way."""

    round_id: int
    voter_code: str
    selections: Any
    area_id: int | None
    own_bid: int | None
    #: The ballot as each area whose ballot (from the cache) takes it would store it: the area
    #: named, or else each of the round's areas as this process last saw them. The statement
    #: writes it when the code's area is one of these; otherwise ``_cast`` decides as always.
    accepted: dict[int, dict[str, int]]
    #: The client's window for refused codes: a client stopped there is refused (429) before
    #: anything else, and nothing is written.
    refusals: RefusalWindow


def code_cast_prepare(
    *,
    round_id: int,
    voter_code: str,
    selections: Any,
    refusals: RefusalWindow,
    area_id: int | None = None,
    own_bid: int | None = None,
) -> CodeCast:
    """``ballot_cast_with_code``'s checks that need no query; refuses nothing (a ballot that no
    area takes here goes to ``_cast``, which words the refusal after checking the round)."""
    accepted: dict[int, dict[str, int]] = {}
    if connection.vendor == "postgresql" and code_shape_ok(voter_code):
        areas = (area_id,) if area_id is not None else _round_areas_seen.get(round_id, ())
        for area in areas:
            spec = ballot_spec_cached(round_id=round_id, area_id=area)
            if spec is None or names_a_project_not_on(spec, selections):
                continue
            try:
                accepted[area] = check_selections(spec, selections, own_bid=own_bid)
            except DomainError:
                continue
    return CodeCast(round_id, voter_code, selections, area_id, own_bid, accepted, refusals)


def ballot_cast_with_code(cast: CodeCast) -> Receipt:
    """``ballot_cast`` online with a voter code and no account, as the API's hot path.

    On PostgreSQL the round, the code and the writes are one statement
    (``_cast_with_code_sql``), which writes when the ballot checked before it
    (``code_cast_prepare``) goes to the code's area, as ``_cast`` would have decided: a code's
    ballot goes to the code's area, and with no area named ``_ballot_for_some_area`` stores
    it there whenever that area takes it. Otherwise (a refusal of any kind, a ballot not
    cached, a code with no area) nothing is written and ``_cast`` decides with the row the
    statement read, as before: the same refusals in the same order, or a cast of its own.

    ``NotFound`` when there is no such round, or it is being prepared: nobody without an
    account may see it (``pb.rounds.selectors.get_visible_round``).
    """
    today = timezone.localdate()
    code_hash = voter_code_hash(cast.voter_code)
    postgres = connection.vendor == "postgresql"
    receipt = random_code(RECEIPT_LENGTH)
    survey_code = survey_code_draw()
    with _statement() if postgres else connection.cursor() as cursor:
        if postgres:
            try:
                cursor.execute(
                    _cast_with_code_sql(),
                    (
                        cast.refusals.limit,
                        cast.refusals.client,
                        cast.refusals.since,
                        code_hash,
                        cast.round_id,
                        Phase.DRAFT.value,
                        today,
                        _VOTING_PHASES,
                        list(cast.accepted),
                        survey_code_hash(survey_code),
                        json.dumps({str(a): s for a, s in cast.accepted.items()}),
                        receipt_hash(receipt),
                    ),
                )
            except IntegrityError as exc:  # a simultaneous cast with this code, or resident
                raise resident_voted() if is_resident_clash(exc) else code_not_accepted() from exc
        else:
            refusals_stop(cast.refusals)
            cursor.execute(_round_and_code_sql(), (code_hash, cast.round_id, Phase.DRAFT.value))
        row = cursor.fetchone()
    if row is None:
        if postgres:  # the statement read no round, so nor the client's refusals
            refusals_stop(cast.refusals)
        raise NotFound(_("There is no such round."))
    fields = _round_fields()
    n = len(fields)
    if postgres and row[n + 8]:  # stopped: nothing was written
        raise CodesRefusedTooOften(cast.refusals.wait(row[n + 9], timezone.now()))
    code_id, code_area, entry_id, used, round_areas = row[n : n + 5]
    if round_areas is not None:
        _round_areas_seen[cast.round_id] = tuple(round_areas)
    if postgres and row[n + 5] is not None:  # written
        area, surveyed, others = row[n + 5 : n + 8]
        if others + 1 == sealing.MIN_BATCH:
            _seal_on_commit(cast.round_id)
        return Receipt(
            format_code(receipt),
            cast.round_id,
            area,
            Channel.ONLINE,
            today,
            cast.accepted[area],
            format_code(survey_code) if surveyed else _survey_code_clashed(cast.round_id),
        )
    round_ = Round.from_db(connection.alias, list(fields), row[:n])
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
    usable = code_row is not None and not used and code_shape_ok(cast.voter_code)
    return _cast(
        round=round_,
        selections=cast.selections,
        area_id=cast.area_id,
        voter=None,
        voter_code=cast.voter_code,
        find_code=lambda: code_row,
        channel=Channel.ONLINE,
        own_bid=cast.own_bid,
        area_hint=code_area if usable and cast.area_id is None else None,
        round_areas=None if round_areas is None else list(round_areas),
    )
