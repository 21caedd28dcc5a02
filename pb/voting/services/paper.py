"""Paper ballots keyed twice by different staff; differing keyings settled by a manager; the
keyings cleared once the round is counted (``paper_keyings_clear``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts import rules as base_rules
from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.errors import Conflict, DomainError, NotAllowed
from pb.areas.models import Area
from pb.counting.models import Tally
from pb.models import AuditAction
from pb.phases import RESULTS_PHASES, Action, allows
from pb.rounds.models import Round
from pb.services.audit import audit
from pb.services.guards import require_phase
from pb.voting import rules
from pb.voting.models import Channel, PaperBallot, PaperEntry, PaperStatus
from pb.voting.sealing import shuffled
from pb.voting.selectors import ballot_spec, forget_turnout
from pb.voting.services.casting import ballot_write
from pb.voting.services.checking import check_selections


def _count_paper(paper: PaperBallot, entry: PaperEntry, today: dt.date) -> None:
    """Write the participation and ballot of a paper ballot whose reading is settled."""
    ballot_write(
        round_=paper.round,
        area_id=entry.area_id,
        channel=Channel.PAPER,
        selections=entry.selections,
        today=today,
    )
    forget_turnout(round_id=paper.round_id)


def _forget_readings(paper: PaperBallot) -> None:
    """A settled paper's keyings keep who keyed it and when, no longer what they read: that is
    now in its (pending, then sealed) ballot, and the keyings, in the order they were made,
    could be lined up with the names ticked at the desk (docs/secrecy.md)."""
    _secure_delete()
    PaperEntry.objects.filter(paper_ballot=paper).exclude(selections={}).update(selections={})


def _secure_delete() -> None:
    """On SQLite (the single-machine demo), overwrite what is deleted or rewritten, as sealing
    does: its bytes are otherwise left in the file's free pages."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


def paper_entry_add(
    *,
    actor: Actor,
    round: Round,
    serial: str,
    area: Area,
    selections: Any = None,
    spoilt: bool = False,
) -> PaperBallot:
    """Key one paper ballot. The first keying waits; the second, by someone else, decides.

    Two matching keyings count the ballot (or record it spoilt); two differing keyings go to
    the reconciliation queue. The round row is locked first (``_round_still_keying``), so two
    people keying at once take turns and cannot both count it, and a count cannot end between
    this keying's phase check and its commit. Once two keyings match, neither keeps what was
    read (``_forget_readings``): only a keying waiting for its second, or a pair in dispute,
    holds a paper's choices.
    """
    if not rules.can_run_event(actor, round, area):
        raise NotAllowed(_("Only event staff and the area's managers key its paper ballots."))
    require_phase(
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
        _round_still_keying(
            round, _("Paper ballots are keyed while voting is open and until the count.")
        )
        paper, _created = PaperBallot.objects.get_or_create(round=round, serial=serial)
        # No lock of its own: every keying, settling and clearing of the round's papers holds
        # the round's, so the status and keyings read here stay as read until the commit.
        paper = PaperBallot.objects.select_related("round").get(pk=paper.pk)
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
        entry = PaperEntry(
            paper_ballot=paper,
            area=area,
            keyed_by=signed_in_user(actor),
            selections=canonical,
            spoilt=spoilt,
        )
        matched = bool(entries) and entries[0].same_as(entry)
        if matched and not spoilt:
            _count_paper(paper, entry, today)
        if matched:
            entry.selections = {}  # written without the reading it matched (``_forget_readings``)
        entry.save()
        if entries:
            if matched:
                paper.status = PaperStatus.SPOILT if spoilt else PaperStatus.COUNTED
                _forget_readings(paper)
            else:
                paper.status = PaperStatus.MISMATCH
            paper.save(update_fields=["status"])
    return paper


PAPER_DECISIONS = ("first", "second", "spoilt")


def _require_reconciler(
    actor: Actor, paper: PaperBallot, entries: list[PaperEntry] | None = None
) -> None:
    if entries is None:
        entries = list(paper.entries.select_related("area"))
    if base_rules.is_signed_in(actor) and any(e.keyed_by_id == actor.pk for e in entries):
        raise NotAllowed(
            _(
                "You keyed this ballot, so a different manager must settle it: two people "
                "look at every disputed paper."
            ),
            code="same_person",
        )
    areas = list({e.area_id: e.area for e in entries}.values())
    if not rules.can_reconcile(actor, paper.round, areas, [e.keyed_by_id for e in entries]):
        raise NotAllowed(_("Only the managers of the ballot's area decide differing papers."))


def _round_still_keying(round_: Round, message: str) -> None:
    """Lock the round row and read its phase again, first thing in a keying's or settling's
    transaction: a desk holding the round as it was (a page opened during counting) is refused
    once the count has moved it on.

    ``round_count`` checks, under the round's lock, that no paper was keyed or settled after its
    seal, then moves the round to results. Read without the lock, the phase could still say
    counting while the count's last step ran, and a keying committed then was left out: a paper
    waiting in a counted round, or a pending ballot sealed after the result. Under the lock a
    keying either commits before the count's check (which then counts again, or stops with the
    reason) or waits for the count's commit and is refused here.

    ``FOR NO KEY UPDATE``, as sealing and ``paper_keyings_clear`` take it: online casts (whose
    foreign key takes only ``FOR KEY SHARE``) go on, while keyings, settlings, sealing, the
    count and the clearing of one round take turns (during counting a keying may wait for one
    area's tally). The round is locked before any paper row is read or written, everywhere, so
    the locks are taken in one order and cannot deadlock.
    """
    current = Round.objects.select_for_update(no_key=True).only("phase").get(pk=round_.pk)
    require_phase(current, Action.KEY_PAPER, message)


def paper_reconcile(*, actor: Actor, paper: PaperBallot, decision: str, reason: str) -> PaperBallot:
    """A manager settles a paper ballot whose keyings differ: one reading, or spoilt, and why.

    The manager must manage every area the keyings name, and must not have keyed the ballot
    themselves: a dispute is settled by a second pair of eyes. Once settled, the keyings no
    longer keep what was read (``_forget_readings``); the reason stays in the audit log.
    """
    _require_reconciler(actor, paper)
    require_phase(
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
        _round_still_keying(
            paper.round, _("Paper ballots are settled while voting is open and until the count.")
        )
        # Read under the round's lock (``_round_still_keying``): no other settling or keying of
        # this paper can commit in between.
        locked = PaperBallot.objects.select_related("round").get(pk=paper.pk)
        if locked.status != PaperStatus.MISMATCH:
            raise Conflict(_("This paper ballot has already been settled."))
        entries = list(locked.entries.select_related("area"))
        _require_reconciler(actor, locked, entries)
        chosen = None if decision == "spoilt" else entries[0 if decision == "first" else 1]
        if chosen is None or chosen.spoilt:
            locked.status = PaperStatus.SPOILT
        else:
            locked.status = PaperStatus.RESOLVED
            _count_paper(locked, chosen, today)
        locked.decision = decision
        locked.decision_reason = reason.strip()
        locked.decided_by = signed_in_user(actor)
        locked.decided_at = timezone.now()
        locked.save()
        _forget_readings(locked)
        audit(
            actor=actor,
            action=AuditAction.VOTING_PAPER_RECONCILE,
            round=locked.round,
            reason=reason.strip(),
            details={"serial": locked.serial, "decision": decision},
        )
    return locked


# --- After the count -----------------------------------------------------------------------

#: Papers settled one way or the other: their keyings are no longer needed once counted.
SETTLED = (PaperStatus.COUNTED, PaperStatus.RESOLVED, PaperStatus.SPOILT)


def _day(moment: dt.datetime) -> dt.datetime:
    """The start of ``moment``'s local day: when, to the day, and nothing finer."""
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def paper_keyings_clear(*, round_id: int) -> int:
    """Once a round is counted, delete its paper keyings and write its settled papers again in
    a random order, with only the day; returns how many papers were cleared (0 the second time).

    Why: a name ticked at a paper desk is a participation in the order of ticking, with the time
    in the audit log; each keying (``PaperEntry``) holds what a paper said, in the order and at
    the time it was keyed. Where papers are keyed in about the order they were handed out (a
    desk that keys each paper as it comes back), a database reader lines the two lists up and
    reads each ticked resident's choices. The sealed ``Ballot`` rows are all the count needs;
    the keyings served only to settle papers, and the count waits until every paper is settled.

    So, in one transaction: every keying of the round's settled papers is deleted, and the
    papers themselves (serial, status and a manager's decision, kept for the turnout, the paper
    counts and an audit of the paper count against the papers) are deleted and written again in
    an order drawn from the OS's random source, so their ids and places on disk no longer follow
    the keying, with their times cut to the day. How many keyings each member of staff made goes
    in the round's audit log, as counts. Then both tables are vacuumed so the deleted rows'
    bytes do not stay in the live table (docs/secrecy.md: WAL and backups).

    Only once the count is stored and no paper can be keyed any more (the round is in results
    or later; ``pb.counting.services.round_count`` calls this after moving it there, and beat's
    sealing backstop catches a round whose clearing was missed). A paper still waiting or in
    dispute then (a round moved on by hand) keeps its keyings. Safe to run twice or at once:
    the round row is locked and a cleared paper has no keyings left.
    """
    with transaction.atomic():
        round_ = Round.objects.select_for_update(no_key=True).filter(pk=round_id).first()
        if round_ is None or round_.phase not in RESULTS_PHASES:
            return 0
        if (
            allows(round_.phase, Action.KEY_PAPER)
            or not Tally.objects.filter(round=round_).exists()
        ):
            return 0
        papers = list(
            PaperBallot.objects.filter(round=round_, status__in=SETTLED, entries__isnull=False)
            .distinct()
            .order_by()
        )
        if not papers:
            return 0
        keyings = PaperEntry.objects.filter(paper_ballot__in=papers)
        by_staff = {
            str(user_id): n
            for user_id, n in keyings.values_list("keyed_by_id").annotate(n=Count("id")).order_by()
        }
        _secure_delete()
        keyings.delete()
        PaperBallot.objects.filter(pk__in=[p.pk for p in papers]).delete()
        # One INSERT, in shuffled order: fresh ids from the sequence and places on disk in that
        # order, unrelated to the order of keying.
        PaperBallot.objects.bulk_create(
            [
                PaperBallot(
                    round_id=round_id,
                    serial=p.serial,
                    status=p.status,
                    decided_by_id=p.decided_by_id,
                    decision=p.decision,
                    decision_reason=p.decision_reason,
                    decided_at=_day(p.decided_at) if p.decided_at else None,
                    created_at=_day(p.created_at),
                )
                for p in shuffled(papers)
            ]
        )
        audit(
            actor=None,
            action=AuditAction.VOTING_PAPER_KEYINGS_CLEARED,
            round=round_,
            reason="Paper keyings deleted after the count, so none can be tied to a ticked name.",
            details={
                "papers": dict(sorted(Counter(str(p.status) for p in papers).items())),
                "keyings": sum(by_staff.values()),
                "keyed_by": by_staff,
            },
        )
    _paper_vacuum()
    return len(papers)


def paper_keyings_clear_due() -> int:
    """Clear the keyings of every counted round that still has some (beat's backstop, every
    minute with sealing); how many papers were cleared."""
    due = (
        PaperEntry.objects.filter(
            paper_ballot__round__phase__in=RESULTS_PHASES, paper_ballot__status__in=SETTLED
        )
        .values_list("paper_ballot__round_id", flat=True)
        .distinct()
        .order_by()
    )
    return sum(paper_keyings_clear(round_id=round_id) for round_id in list(due))


def _paper_vacuum() -> None:
    """``VACUUM`` the paper tables on PostgreSQL (not inside a transaction, where it cannot
    run): the deleted keyings' bytes are otherwise left in the live table's pages until
    autovacuum gets round to it."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = ", ".join(
        connection.ops.quote_name(m._meta.db_table) for m in (PaperEntry, PaperBallot)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {tables}")
