"""Voter codes and receipts: making, formatting, reading back and hashing them.

Voter codes are short, drawn from an alphabet without look-alike characters, and stored only as
an HMAC-SHA256 under ``settings.VOTER_CODE_KEY``: a keyed hash is fast to check on the casting
path and useless to someone who steals the table without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor
from backend.errors import DomainError, NotAllowed
from backend.exports import csv_writer
from pb.areas.models import Area
from pb.models import AuditAction
from pb.phases import is_closed, is_frozen
from pb.rounds.models import Round
from pb.services.audit import audit
from pb.voting import rules
from pb.voting.alphabet import CODE_ALPHABET, random_code
from pb.voting.models import Channel, RegisterEntry, SurveyCode, VoterCode

VOTER_CODE_LENGTH = 10  # 26**10 ≈ 1.4e14 codes: unguessable for a round of any size
RECEIPT_LENGTH = 12
#: 26**8 ≈ 2e11: a one-time code that only answers a survey, short enough to copy off a slip.
SURVEY_CODE_LENGTH = 8
MAX_SURVEY_SLIPS = 1_000
MAX_CODES_PER_BATCH = 100_000


_ALPHABET = frozenset(CODE_ALPHABET)


def format_code(code: str) -> str:
    """Groups of five (voter codes) or four (receipts, survey codes), for reading aloud."""
    size = 5 if len(code) == VOTER_CODE_LENGTH else 4
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def normalise_code(text: str) -> str:
    """What a person typed or a scanner read, as the bare code: case, spaces and dashes ignored.

    The QR code on a printed card holds the ballot's address with ``#code=...``; a kiosk's
    scanner types that whole address into the code field, so the code is taken from it (from
    the query too, as cards printed before the fragment held it).
    """
    if "code=" in text:
        parts = urlsplit(text.strip())
        found = parse_qs(parts.fragment).get("code") or parse_qs(parts.query).get("code")
        text = (found or [""])[0]
    return "".join(filter(str.isalnum, text.upper()))  # filter: one C loop, on every cast


def code_shape_ok(text: str) -> bool:
    """Whether ``text`` could be a voter code at all (length and alphabet), before any lookup."""
    code = normalise_code(text)
    return len(code) == VOTER_CODE_LENGTH and not set(code) - _ALPHABET


def voter_code_hash(code: str) -> str:
    key = str(settings.VOTER_CODE_KEY).encode()
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()


def survey_code_hash(code: str) -> str:
    """The survey code's keyed hash (a voter code's key, another domain: never equal to one)."""
    key = str(settings.VOTER_CODE_KEY).encode()
    return hmac.new(key, b"survey:" + normalise_code(code).encode(), hashlib.sha256).hexdigest()


def survey_code_draw() -> str:
    """A new survey code, bare (``format_code`` for the receipt, ``survey_code_hash`` to store)."""
    return random_code(SURVEY_CODE_LENGTH)


def survey_code_mint(*, round_id: int, area_id: int, channel: str) -> str:
    """One survey code for a voter without an account, printed on their receipt (formatted).

    Only its keyed hash is stored, with the round, area and channel; see ``SurveyCode``."""
    code = survey_code_draw()
    SurveyCode.objects.create(
        round_id=round_id, area_id=area_id, channel=channel, code_hash=survey_code_hash(code)
    )
    return format_code(code)


def survey_slips_issue(*, actor: Actor, round: Round, area: Area, count: int) -> list[str]:
    """Survey codes for slips handed out with paper ballots, one per ballot paper, so paper
    voters can answer the influence survey once too. Event staff and the area's managers make
    them while voting is open; like voter codes, this is the one chance to print them. Each
    batch is in the audit log with its count (never its codes), so the slips printed can be
    set against the paper ballots handed out."""
    if not rules.can_run_event(actor, round, area):
        raise NotAllowed(_("Only event staff and this area's managers can print survey slips."))
    if is_closed(round.phase):
        raise NotAllowed(
            _("Voting has closed, so no more paper ballots are handed out."), code="wrong_phase"
        )
    if not is_frozen(round.phase):
        raise NotAllowed(
            _(
                "Voting has not opened yet. Print survey slips once it has, with the paper "
                "ballots they go with."
            ),
            code="wrong_phase",
        )
    if not round.round_areas.filter(area=area).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    if not 1 <= count <= MAX_SURVEY_SLIPS:
        raise DomainError(
            ngettext(
                "Print between 1 and %(max)d slip at a time.",
                "Print between 1 and %(max)d slips at a time.",
                MAX_SURVEY_SLIPS,
            )
            % {"max": MAX_SURVEY_SLIPS},
            field="count",
        )
    codes: dict[str, str] = {}
    while len(codes) < count:
        code = random_code(SURVEY_CODE_LENGTH)
        codes[survey_code_hash(code)] = code
    with transaction.atomic():
        SurveyCode.objects.bulk_create(
            SurveyCode(round=round, area=area, channel=Channel.PAPER, code_hash=h) for h in codes
        )
        audit(
            actor=actor,
            action=AuditAction.VOTING_SURVEY_SLIPS,
            round=round,
            area=area,
            details={"count": count, "area": area.pk, "phase": round.phase},
        )
    return [format_code(c) for c in codes.values()]


def receipt_hash(receipt: str) -> str:
    """SHA-256 of the bare receipt code: published next to each ballot so voters can check."""
    return hashlib.sha256(normalise_code(receipt).encode()).hexdigest()


def voter_codes_issue(
    *,
    actor: Actor | None,
    round: Round,
    count: int,
    area: Area | None = None,
    reason: str = "",
    entries: list[RegisterEntry] | None = None,
) -> list[str]:
    """Make ``count`` one-time voter codes for the round (and area); returns them formatted.

    The codes themselves are never stored, only their keyed hashes, so this is the one chance
    to print them. In a round of several areas every code is for one area (an area-less code
    would vote in any of them). While voting is open a new code is a new vote, so only an admin
    makes one, with a reason; the audit entry names the codes by their hashes, the area and the
    person. ``actor=None`` is the command line, which needs shell access and is trusted with
    the phase, not with the area.

    ``entries``: one code for each of these register entries, in their order (``count`` is
    their number); the code then votes as that resident, so no other channel can vote for them
    too (``register_codes_issue``). Without them the codes are anonymous (for nobody in
    particular, to hand out at an event's door), which only a round that says so takes
    (``Round.anonymous_codes``): an anonymous code is a vote the register cannot hold to one
    per person.
    """
    _require_issuer(actor, round, area, reason)
    if entries is None and not round.anonymous_codes:
        raise anonymous_codes_off()
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise DomainError(
            ngettext(
                "Make between 1 and %(max)d code at a time.",
                "Make between 1 and %(max)d codes at a time.",
                MAX_CODES_PER_BATCH,
            )
            % {"max": MAX_CODES_PER_BATCH},
            field="count",
        )
    codes: dict[str, str] = {}
    while len(codes) < count:
        code = random_code(VOTER_CODE_LENGTH)
        codes[voter_code_hash(code)] = code
    if entries is not None and len(entries) != count:
        raise ValueError("one code per entry")
    with transaction.atomic():
        VoterCode.objects.bulk_create(
            [
                VoterCode(
                    round=round,
                    area=area,
                    code_hash=h,
                    register_entry=entries[i] if entries is not None else None,
                )
                for i, h in enumerate(codes)
            ],
            batch_size=2000,
        )
        # The record names each code by its keyed hash (useless without the key), so a code
        # that votes can be traced to the batch, the area and the person that made it.
        audit(
            actor=actor,
            action=AuditAction.VOTING_CODES_ISSUED,
            round=round,
            area=area,
            reason=reason.strip(),
            details={
                "count": count,
                "area": area.pk if area else None,
                "phase": round.phase,
                "code_hashes": sorted(codes),
                "from_register": entries is not None,
            },
        )
    return [format_code(c) for c in codes.values()]


def _require_issuer(actor: Actor | None, round: Round, area: Area | None, reason: str) -> None:
    """The phase, the area and the person (``actor=None``: the command line) for making
    codes; refusals as ``voter_codes_issue`` says."""
    if is_closed(round.phase):
        raise NotAllowed(_("Voting has closed, so no more codes can be made."), code="wrong_phase")
    if area is not None and not round.round_areas.filter(area=area).exists():
        raise DomainError(_("That area is not taking part in this round."), field="area")
    if area is None and rules.codes_need_area(round):
        raise DomainError(
            _("Choose the area the codes are for: this round has several areas."), field="area"
        )
    if actor is None:
        return
    if rules.codes_need_admin(round) and not base_rules.is_admin(actor):
        raise NotAllowed(
            _(
                "Voting is open, so only an administrator can make more codes, and they "
                "must say why."
            ),
            code="voting_open",
        )
    if not rules.can_issue_voter_codes(actor, round, area):
        raise NotAllowed(_("Only the managers of this area can make its voter codes."))
    if rules.codes_need_admin(round) and not reason.strip():
        raise DomainError(
            _("Say why codes are needed while voting is open; it goes in the record."),
            field="reason",
        )


def anonymous_codes_off() -> DomainError:
    return DomainError(
        _(
            "This round does not take codes for nobody in particular: make codes for residents "
            "on the register instead, or allow codes handed out at the door in the round's "
            "rules."
        ),
        field="count",
        code="anonymous_codes_off",
    )


def register_codes_issue(
    *, actor: Actor | None, round: Round, area: Area, reason: str = ""
) -> list[tuple[RegisterEntry, str]]:
    """One voter code for each resident on the area's register (its neighbourhoods' too) who
    has none for this round yet, for letters by mail merge; returns (entry, formatted code)
    pairs in postcode order. Running it again makes codes only for residents added since.
    Whether the person may make the area's codes is checked first, so nobody learns about a
    register they do not keep.
    """
    _require_issuer(actor, round, area, reason)
    entries = list(
        RegisterEntry.objects.filter(Q(area=area) | Q(area__parent=area))
        .exclude(voter_codes__round=round)
        .order_by("postcode", "name", "pk")
    )
    if not entries:
        raise DomainError(
            _("Every resident on this area's register already has a code for this round."),
            field="area",
        )
    codes = voter_codes_issue(
        actor=actor, round=round, count=len(entries), area=area, reason=reason, entries=entries
    )
    return list(zip(entries, codes, strict=True))


LETTER_COLUMNS = ("round", "area", "name", "postcode", "voter_code")


def letters_csv(*, round: Round, area: Area, pairs: list[tuple[RegisterEntry, str]]) -> str:
    """The mail-merge file: one line per resident, their name, postcode and code, through the
    writer that keeps a name like ``=HYPERLINK(...)`` as text in a spreadsheet."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(LETTER_COLUMNS)
    for entry, code in pairs:
        writer.writerow([round.slug, area.slug, entry.name, entry.postcode, code])
    return out.getvalue()
