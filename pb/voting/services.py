"""Writes for voting on every channel: online, kiosk and paper, and the decision day.

A cast writes a ``Participation`` (who) and a ``Ballot`` (what, with no link to who) in one
transaction. Double votes are decided by the unique constraints on ``Participation`` (one per
round and account, one per voter code), never by a check-then-act, so two requests racing
with the same code store exactly one ballot. Nothing is stored when a ballot is refused.

Voter codes are short, drawn from an alphabet without look-alike characters, and stored only as
an HMAC-SHA256 under ``settings.VOTER_CODE_KEY``: a keyed hash is fast to check on the casting
path and useless to someone who steals the table without the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.accounts.models import AgeBand
from backend.errors import Conflict, DomainError, NotAllowed, NotFound
from pb import services as pb_services
from pb.models import (
    Area,
    Ballot,
    BallotType,
    Channel,
    Participation,
    Round,
    RoundStyle,
    VoterCode,
)
from pb.phases import Action, Phase, allows
from pb.voting import rules
from pb.voting.models import DecisionDay, KioskSession, PaperBallot, PaperEntry, PaperStatus
from pb.voting.selectors import BallotSpec, ballot_spec, forget_turnout

#: No 0/O, 1/I/L, 5/S or 8/B: codes are read off paper and typed by people in a hurry.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY234679"
VOTER_CODE_LENGTH = 10  # 26**10 ≈ 1.4e14 codes: unguessable for a round of any size
RECEIPT_LENGTH = 12
MAX_CODES_PER_BATCH = 100_000

#: The round fields a cast reads (phase, eligibility, and the ballot on a cache miss): the API
#: loads only these.
CASTING_FIELDS = (
    "id",
    "phase",
    "style",
    "budget",
    "currency",
    "voter_codes_enabled",
    "min_age",
    "require_residence",
    "ballot_type",
    "min_choices",
    "max_choices",
    "points_total",
    "score_max",
    "rank_k",
    "groups_score_own_bid",
)

# --- Codes and receipts ---------------------------------------------------------------------


def _random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def format_code(code: str) -> str:
    """Groups of five (voter codes) or four (receipts), for reading aloud and typing."""
    size = 5 if len(code) == VOTER_CODE_LENGTH else 4
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def normalise_code(text: str) -> str:
    """What a person typed or a scanner read, as the bare code: case, spaces and dashes ignored.

    The QR code on a printed card holds the ballot's address with ``?code=...``; a kiosk's
    scanner types that whole address into the code field, so the code is taken from it.
    """
    if "code=" in text:
        text = parse_qs(urlsplit(text.strip()).query).get("code", [""])[0]
    return "".join(ch for ch in text.upper() if ch.isalnum())


def voter_code_hash(code: str) -> str:
    key = str(settings.VOTER_CODE_KEY).encode()
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()


def receipt_hash(receipt: str) -> str:
    """SHA-256 of the bare receipt code: published next to each ballot so voters can check."""
    return hashlib.sha256(normalise_code(receipt).encode()).hexdigest()


def voter_codes_issue(
    *, actor: Any, round: Round, count: int, area: Area | None = None
) -> list[str]:
    """Make ``count`` one-time voter codes for the round (and area); returns them formatted.

    The codes themselves are never stored, only their keyed hashes, so this is the one chance
    to print them. ``actor=None`` is the command line, which needs shell access and is trusted.
    """
    if actor is not None and not rules.can_issue_voter_codes(actor, round):
        raise NotAllowed(_("Only the round's managers can make voter codes."))
    if Phase(round.phase) in (Phase.COUNTING, Phase.RESULTS, Phase.IMPLEMENTATION):
        raise NotAllowed(_("Voting has closed, so no more codes can be made."), code="wrong_phase")
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise DomainError(
            _("Make between 1 and %(max)d codes at a time.") % {"max": MAX_CODES_PER_BATCH},
            field="count",
        )
    if area is not None and not round.round_areas.filter(area=area).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    codes: dict[str, str] = {}
    while len(codes) < count:
        code = _random_code(VOTER_CODE_LENGTH)
        codes[voter_code_hash(code)] = code
    with transaction.atomic():
        VoterCode.objects.bulk_create(
            [VoterCode(round=round, area=area, code_hash=h) for h in codes], batch_size=2000
        )
        pb_services.audit(
            actor=actor,
            action="voting.codes_issued",
            round=round,
            area=area,
            details={"count": count},
        )
    return [format_code(c) for c in codes.values()]


# --- Checking a ballot ----------------------------------------------------------------------


def _invalid(message: str, code: str) -> DomainError:
    return DomainError(message, field="selections", code=code)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value.strip())
        except ValueError:  # "²" is a digit to isdigit(), and int() caps its digits at 4,300
            pass
    raise _invalid(_("Every choice must be a whole number."), "malformed")


def _raw_pairs(raw: Any) -> dict[str, int]:
    """Accept ``{"12": 1}`` or, for approval ballots, a list of ids ``[12, 15]``."""
    if isinstance(raw, Mapping):
        pairs = {str(k).strip(): _as_int(v) for k, v in raw.items()}
    elif isinstance(raw, list | tuple):
        pairs = {str(_as_int(v)): 1 for v in raw}
        if len(pairs) != len(raw):
            raise _invalid(_("A project is chosen twice."), "malformed")
    else:
        raise _invalid(_("Send the choices as a list of projects or a mapping."), "malformed")
    return {k: v for k, v in pairs.items() if v != 0}


def check_selections(spec: BallotSpec, raw: Any, *, own_bid: int | None = None) -> dict[str, int]:
    """The canonical selections for ``raw`` on this ballot, or a ``DomainError`` saying why not.

    Canonical (the contract with the count): approval ``{"12": 1}``, score and cumulative
    ``{"12": 7}``, ranking ``{"12": 1, "15": 2}`` with 1 the first choice.
    """
    pairs = _raw_pairs(raw)
    items = spec.by_id
    unknown = [k for k in pairs if k not in items]
    if unknown:
        raise _invalid(
            _("A chosen project is not on this ballot (it may be from another area or round)."),
            "unknown_project",
        )
    if any(v < 0 for v in pairs.values()):
        raise _invalid(_("Choices cannot be negative."), "malformed")
    kind = spec.ballot_type
    if kind in (BallotType.APPROVAL_BUDGET, BallotType.APPROVAL_COUNT):
        if any(v != 1 for v in pairs.values()):
            raise _invalid(_("Choose a project or leave it out."), "malformed")
        _check_count(spec, len(pairs))
        if kind == BallotType.APPROVAL_BUDGET:
            total = sum(items[k].cost for k in pairs)
            if total > spec.limit:
                from pb.money import format_money

                raise _invalid(
                    _(
                        "Your choices cost %(total)s, more than the %(limit)s to spend. "
                        "Leave something out."
                    )
                    % {
                        "total": format_money(total, spec.currency),
                        "limit": format_money(spec.limit, spec.currency),
                    },
                    "over_budget",
                )
    elif kind == BallotType.SCORE:
        _check_scores(spec, pairs, own_bid)
    elif kind == BallotType.CUMULATIVE:
        total = sum(pairs.values())
        if total != spec.points_total:
            raise _invalid(
                _("Share out exactly %(n)d points; you gave %(total)d.")
                % {"n": spec.points_total, "total": total},
                "points",
            )
    elif kind == BallotType.RANKING:
        ranks = sorted(pairs.values())
        if not ranks:
            raise _invalid(_("Put at least one project in order."), "too_few")
        if len(ranks) > spec.rank_k:
            raise _invalid(_("Rank at most %(k)d projects.") % {"k": spec.rank_k}, "too_many")
        if ranks != list(range(1, len(ranks) + 1)):
            raise _invalid(_("Number your choices 1, 2, 3… in order, each number once."), "ranking")
    return dict(sorted(pairs.items(), key=lambda kv: int(kv[0])))


def _check_count(spec: BallotSpec, n: int) -> None:
    low = min(spec.min_choices, len(spec.items))
    high = spec.max_choices
    if spec.ballot_type == BallotType.APPROVAL_COUNT and high is None:
        high = len(spec.items)
    if n < low:
        raise _invalid(
            _("Choose at least %(n)d projects.") % {"n": low}
            if low > 1
            else _("Choose at least one project."),
            "too_few",
        )
    if high is not None and n > high:
        raise _invalid(_("Choose at most %(n)d projects.") % {"n": high}, "too_many")


def _check_scores(spec: BallotSpec, pairs: dict[str, int], own_bid: int | None) -> None:
    if any(not 1 <= v <= spec.score_max for v in pairs.values()):
        raise _invalid(_("Scores go from 1 to %(top)d.") % {"top": spec.score_max}, "score_range")
    expected = set(spec.by_id)
    if own_bid is not None:
        if str(own_bid) not in expected:
            raise DomainError(_("That bid is not on this ballot."), field="own_bid")
        if not spec.groups_score_own_bid:
            if str(own_bid) in pairs:
                raise _invalid(_("Groups do not score their own bid: leave it out."), "own_bid")
            expected.discard(str(own_bid))
    missing = expected - set(pairs)
    if missing:
        raise _invalid(_("Give every bid a score."), "too_few")


# --- Casting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What the voter takes away: the receipt code (never stored, only its hash)."""

    code: str
    round_id: int
    area_id: int
    channel: str
    cast_on: dt.date
    selections: dict[str, int]


def _age_band(birth_year: int | None, today: dt.date) -> str:
    return AgeBand.for_age(today.year - birth_year).value if birth_year else ""


def _area_within(home: Area | None, area_id: int) -> bool:
    """A resident of a neighbourhood votes in the ward around it too."""
    node, seen = home, set()
    while node is not None and node.pk not in seen:
        if node.pk == area_id:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def account_eligibility(
    round_: Round, voter: Any, area_id: int | None, today: dt.date
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
    if area_id is None:
        area_id = profile.home_area_id
    if area_id is None:
        raise DomainError(_("Choose the area you are voting in."), field="area")
    if round_.require_residence and not _area_within(profile.home_area, area_id):
        raise DomainError(
            _("You can only vote for the area you live in."), field="area", code="ineligible"
        )
    return area_id, _age_band(profile.birth_year, today)


def _write(
    *,
    round_: Round,
    area_id: int,
    channel: str,
    selections: dict[str, int],
    voter: Any = None,
    code: VoterCode | None = None,
    age_band: str = "",
    today: dt.date,
) -> Receipt:
    """The participation and the ballot, in one transaction; raises ``IntegrityError`` on a
    second vote (the unique constraints decide).

    On PostgreSQL both rows go in one statement (a data-modifying ``WITH``), which is one
    transaction by itself: one round trip instead of BEGIN, two INSERTs and COMMIT. Inside an
    outer transaction it runs under a savepoint, as ``atomic()`` did, so a refused second vote
    leaves the outer transaction usable.
    """
    receipt = _random_code(RECEIPT_LENGTH)
    if connection.vendor == "postgresql":
        params = (
            round_.pk,
            area_id,
            getattr(voter, "pk", None),
            code.pk if code is not None else None,
            channel,
            age_band,
            today,
            uuid.uuid4(),
            round_.pk,
            area_id,
            channel,
            json.dumps(selections),
            receipt_hash(receipt),
            today,
        )
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_write_sql(), params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_write_sql(), params)
        return Receipt(format_code(receipt), round_.pk, area_id, channel, today, selections)
    with transaction.atomic():
        Participation.objects.create(
            round_id=round_.pk,
            area_id=area_id,
            voter=voter,
            voter_code=code,
            channel=channel,
            age_band=age_band,
            voted_on=today,
        )
        Ballot.objects.create(
            round_id=round_.pk,
            area_id=area_id,
            channel=channel,
            selections=selections,
            receipt_hash=receipt_hash(receipt),
            cast_on=today,
        )
    return Receipt(format_code(receipt), round_.pk, area_id, channel, today, selections)


def ballot_cast(
    *,
    round: Round,
    selections: Any,
    area_id: int | None = None,
    voter: Any = None,
    voter_code: str = "",
    channel: str = Channel.ONLINE,
    own_bid: int | None = None,
    _found_code: tuple[VoterCode | None] | None = None,
) -> Receipt:
    """Cast a ballot online or at a kiosk, with a signed-in account or a voter code.

    Refusals: ``NotAllowed`` outside voting; ``DomainError`` for a malformed or ineligible
    ballot or an unknown code; ``Conflict`` when this account or code has already voted.
    """
    pb_services._require_phase(round, Action.VOTE, _("Voting is not open."))
    today = timezone.localdate()
    code_row: VoterCode | None = None
    signed_in = base_rules.is_signed_in(voter)
    age_band = ""
    if voter_code.strip():
        if channel == Channel.ONLINE and not round.voter_codes_enabled:
            raise DomainError(_("This round does not take voter codes online."), field="voter_code")
        code_row = (
            _found_code[0]  # read with the round by ballot_cast_with_code
            if _found_code is not None
            else VoterCode.objects.filter(round=round, code_hash=voter_code_hash(voter_code))
            .only("pk", "area_id")
            .first()
        )
        if code_row is None:
            raise DomainError(
                _("We do not know that voter code for this round. Check it and try again."),
                field="voter_code",
                code="unknown_code",
            )
        if code_row.area_id is not None:
            if area_id is not None and area_id != code_row.area_id:
                raise DomainError(
                    _("Your voter code is for another area."), field="area", code="ineligible"
                )
            area_id = code_row.area_id
        if area_id is None:
            raise DomainError(_("Choose the area you are voting in."), field="area")
    elif channel != Channel.ONLINE:
        raise DomainError(_("Enter your voter code."), field="voter_code")
    elif signed_in:
        area_id, age_band = account_eligibility(round, voter, area_id, today)
    else:
        raise DomainError(
            _("Log in, or enter the voter code from your letter, to vote."),
            field="voter_code",
            code="ineligible",
        )
    spec = ballot_spec(round=round, area_id=area_id)
    canonical = check_selections(spec, selections, own_bid=own_bid)
    try:
        receipt = _write(
            round_=round,
            area_id=area_id,
            channel=channel,
            selections=canonical,
            voter=voter if signed_in and channel == Channel.ONLINE else None,
            code=code_row,
            age_band=age_band,
            today=today,
        )
    except IntegrityError as exc:
        if code_row is not None:
            raise Conflict(
                _("This voter code has already been used to vote."), code="already_voted"
            ) from exc
        raise Conflict(_("You have already voted in this round."), code="already_voted") from exc
    return receipt


def _columns(model: Any, names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(
        prefix + connection.ops.quote_name(model._meta.get_field(n).column) for n in names
    )


@cache
def _write_sql() -> str:
    """Participation then ballot in one PostgreSQL statement (the ballot reads the CTE, so it
    is written only after the participation was)."""
    part = ("round", "area", "voter", "voter_code", "channel", "age_band", "voted_on")
    ballot = ("id", "round", "area", "channel", "selections", "receipt_hash", "cast_on")
    qn = connection.ops.quote_name
    # Identifiers from the models' metadata; every value is a query parameter.
    return (
        f"WITH p AS (INSERT INTO {qn(Participation._meta.db_table)}"  # noqa: S608
        f" ({_columns(Participation, part)})"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING 1)"
        f" INSERT INTO {qn(Ballot._meta.db_table)} ({_columns(Ballot, ballot)})"
        " SELECT %s, %s, %s, %s, %s::jsonb, %s, %s FROM p"
    )


@cache
def _round_fields() -> tuple[str, ...]:
    """CASTING_FIELDS in the model's order, as ``Model.from_db`` reads a partial row."""
    return tuple(f.attname for f in Round._meta.concrete_fields if f.attname in CASTING_FIELDS)


@cache
def _round_and_code_sql() -> str:
    qn = connection.ops.quote_name
    round_cols = _columns(Round, _round_fields(), "r.")
    return (
        f"SELECT {round_cols}, c.{qn('id')}, c.{qn('area_id')}"  # noqa: S608
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
    query; everything else is ``ballot_cast``. ``NotFound`` when there is no such round.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _round_and_code_sql(), (voter_code_hash(voter_code), round_id, Phase.DRAFT.value)
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("Not found."))
    fields = _round_fields()
    n = len(fields)
    round_ = Round.from_db(connection.alias, list(fields), row[:n])
    code_id, code_area = row[n], row[n + 1]
    code_row = (
        None
        if code_id is None
        else VoterCode.from_db(connection.alias, ["id", "area_id"], [code_id, code_area])
    )
    return ballot_cast(
        round=round_,
        selections=selections,
        area_id=area_id,
        voter_code=voter_code,
        own_bid=own_bid,
        _found_code=(code_row,),
    )


def ballot_check(
    *,
    round: Round,
    selections: Any,
    area_id: int,
    own_bid: int | None = None,
) -> dict[str, int]:
    """The review step: check a ballot without casting it (nothing is stored)."""
    pb_services._require_phase(round, Action.VOTE, _("Voting is not open."))
    spec = ballot_spec(round=round, area_id=area_id)
    return check_selections(spec, selections, own_bid=own_bid)


# --- Kiosks ---------------------------------------------------------------------------------


def kiosk_unlock(*, actor: Any, round: Round, area: Area, label: str = "") -> KioskSession:
    """Event staff unlock a device for one round and area."""
    if not rules.can_run_event(actor, round):
        raise NotAllowed(_("Only event staff and the round's managers can unlock a kiosk."))
    if Phase(round.phase) in (Phase.COUNTING, Phase.RESULTS, Phase.IMPLEMENTATION):
        raise NotAllowed(_("Voting has closed."), code="wrong_phase")
    if not round.round_areas.filter(area=area).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    with transaction.atomic():
        kiosk = KioskSession.objects.create(
            round=round, area=area, label=label.strip()[:60], unlocked_by=actor
        )
        pb_services.audit(
            actor=actor,
            action="voting.kiosk_unlock",
            round=round,
            area=area,
            details={"kiosk": str(kiosk.pk), "label": kiosk.label},
        )
    return kiosk


def kiosk_lock(*, actor: Any, kiosk: KioskSession) -> KioskSession:
    if not rules.can_run_event(actor, kiosk.round):
        raise NotAllowed(_("Only event staff and the round's managers can lock a kiosk."))
    if kiosk.locked_at is None:
        kiosk.locked_at = timezone.now()
        kiosk.save(update_fields=["locked_at"])
        pb_services.audit(
            actor=actor,
            action="voting.kiosk_lock",
            round=kiosk.round,
            area=kiosk.area,
            details={"kiosk": str(kiosk.pk)},
        )
    return kiosk


def kiosk_cast(
    *, kiosk: KioskSession, voter_code: str, selections: Any, own_bid: int | None = None
) -> Receipt:
    """A voter casts at an unlocked kiosk with their code; the kiosk's area is the ballot's."""
    fresh = KioskSession.objects.select_related("round").get(pk=kiosk.pk)
    if not fresh.active:
        raise NotAllowed(_("This kiosk is locked. Ask a member of staff."), code="kiosk_locked")
    return ballot_cast(
        round=fresh.round,
        selections=selections,
        area_id=fresh.area_id,
        voter_code=voter_code,
        channel=Channel.KIOSK,
        own_bid=own_bid,
    )


# --- Paper ----------------------------------------------------------------------------------


def _count_paper(paper: PaperBallot, entry: PaperEntry, today: dt.date) -> None:
    """Write the participation and ballot of a paper ballot whose reading is settled."""
    _write(
        round_=paper.round,
        area_id=entry.area_id,
        channel=Channel.PAPER,
        selections=entry.selections,
        today=today,
    )
    forget_turnout(round_id=paper.round_id)


def paper_entry_add(
    *,
    actor: Any,
    round: Round,
    serial: str,
    area: Area,
    selections: Any = None,
    spoilt: bool = False,
) -> PaperBallot:
    """Key one paper ballot. The first keying waits; the second, by someone else, decides.

    Two matching keyings count the ballot (or record it spoilt); two differing keyings go to
    the reconciliation queue. The paper ballot row is locked (``select_for_update``) while the
    second keying is compared, so two people keying at once cannot both count it.
    """
    if not rules.can_run_event(actor, round):
        raise NotAllowed(_("Only event staff and the round's managers key paper ballots."))
    pb_services._require_phase(
        round,
        Action.KEY_PAPER,
        _("Paper ballots are keyed while voting is open and until the count."),
    )
    serial = serial.strip().upper()
    if not serial:
        raise DomainError(_("Type the number printed on the ballot paper."), field="serial")
    if spoilt:
        canonical: dict[str, int] = {}
        ballot_spec(round=round, area_id=area.pk)  # the area must still be in the round
    else:
        canonical = check_selections(
            ballot_spec(round=round, area_id=area.pk), selections or {}, own_bid=None
        )
    today = timezone.localdate()
    with transaction.atomic():
        paper, _created = PaperBallot.objects.get_or_create(round=round, serial=serial)
        paper = PaperBallot.objects.select_for_update().select_related("round").get(pk=paper.pk)
        entries = list(paper.entries.all())
        if paper.status != PaperStatus.WAITING:
            raise Conflict(
                _("Ballot %(serial)s has been keyed twice already (%(status)s).")
                % {"serial": serial, "status": paper.get_status_display()},
                field="serial",
            )
        if any(e.keyed_by_id == actor.pk for e in entries):
            raise Conflict(
                _(
                    "You keyed ballot %(serial)s already; a different member of staff must key "
                    "it the second time."
                )
                % {"serial": serial},
                field="serial",
            )
        entry = PaperEntry.objects.create(
            paper_ballot=paper, area=area, keyed_by=actor, selections=canonical, spoilt=spoilt
        )
        if entries:
            first = entries[0]
            if first.same_as(entry):
                paper.status = PaperStatus.SPOILT if spoilt else PaperStatus.COUNTED
                if not spoilt:
                    _count_paper(paper, entry, today)
            else:
                paper.status = PaperStatus.MISMATCH
            paper.save(update_fields=["status"])
    return paper


PAPER_DECISIONS = ("first", "second", "spoilt")


def paper_reconcile(*, actor: Any, paper: PaperBallot, decision: str, reason: str) -> PaperBallot:
    """A manager settles a paper ballot whose keyings differ: one reading, or spoilt, and why."""
    if not rules.can_reconcile(actor, paper.round):
        raise NotAllowed(_("Only the round's managers decide differing paper ballots."))
    pb_services._require_phase(
        paper.round,
        Action.KEY_PAPER,
        _("Paper ballots are settled while voting is open and until the count."),
    )
    if decision not in PAPER_DECISIONS:
        raise DomainError(_("Choose one of the two readings, or spoilt."), field="decision")
    if not reason.strip():
        raise DomainError(_("Say why; it goes in the record."), field="reason")
    today = timezone.localdate()
    with transaction.atomic():
        locked = PaperBallot.objects.select_for_update().select_related("round").get(pk=paper.pk)
        if locked.status != PaperStatus.MISMATCH:
            raise Conflict(_("This paper ballot has already been settled."))
        entries = list(locked.entries.all())
        chosen = None if decision == "spoilt" else entries[0 if decision == "first" else 1]
        if chosen is None or chosen.spoilt:
            locked.status = PaperStatus.SPOILT
        else:
            locked.status = PaperStatus.RESOLVED
            _count_paper(locked, chosen, today)
        locked.decision = decision
        locked.decision_reason = reason.strip()
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.save()
        pb_services.audit(
            actor=actor,
            action="voting.paper_reconcile",
            round=locked.round,
            reason=reason.strip(),
            details={"serial": locked.serial, "decision": decision},
        )
    return locked


# --- Decision day ---------------------------------------------------------------------------


def _decision_round(actor: Any, round_: Round, *, reveal: bool = False) -> DecisionDay:
    if round_.style != RoundStyle.DECISION_DAY:
        raise DomainError(_("This round is not a decision day."))
    if reveal:
        # Reading out the results is the event team's job on the night, as in Poulton.
        if not rules.can_run_event(actor, round_):
            raise NotAllowed(_("Only the event staff and the round's managers reveal results."))
    elif not rules.can_open_and_close(actor, round_):
        raise NotAllowed(_("Only the round's managers open and close the vote."))
    day, _created = DecisionDay.objects.get_or_create(round=round_)
    return day


def decision_day_open(*, actor: Any, round: Round) -> DecisionDay:
    """Open the vote in the hall: the round moves to voting (through the phase service)."""
    day = _decision_round(actor, round)
    if Phase(round.phase) != Phase.VOTING:
        pb_services.round_advance_phase(
            actor=actor, round=round, to_phase=Phase.VOTING, reason=_("Decision day: vote opened")
        )
    day.opened_at = day.opened_at or timezone.now()
    day.save(update_fields=["opened_at"])
    return day


def decision_day_close(*, actor: Any, round: Round) -> DecisionDay:
    """Close the vote; moving the round to counting starts the count (``pb.tasks.tally_round``)."""
    day = _decision_round(actor, round)
    if not allows(round.phase, Action.VOTE):
        raise Conflict(_("The vote is not open."))
    pb_services.round_advance_phase(
        actor=actor, round=round, to_phase=Phase.COUNTING, reason=_("Decision day: vote closed")
    )
    day.closed_at = timezone.now()
    day.save(update_fields=["closed_at"])
    forget_turnout(round_id=round.pk)
    return day


def decision_day_reveal_next(*, actor: Any, round: Round, total: int) -> DecisionDay:
    """Show one more bid on the results screen, in rank order: the top-scoring bid first."""
    day = _decision_round(actor, round, reveal=True)
    if day.closed_at is None:
        raise Conflict(_("Close the vote before revealing the results."))
    with transaction.atomic():
        locked = DecisionDay.objects.select_for_update().get(pk=day.pk)
        locked.revealed = min(locked.revealed + 1, total)
        locked.save(update_fields=["revealed"])
        pb_services.audit(
            actor=actor,
            action="voting.reveal",
            round=round,
            details={"revealed": locked.revealed},
        )
    return locked
