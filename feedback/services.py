"""Writes for outcome feedback: the report pipeline, messages, the survey and delivery tracking.

The pipeline has three steps per report (build, notify, open data). Each step function is safe
to call again at any moment: it locks its ``PipelineStep`` row, does nothing when the step is
done, and commits its work in transactions that leave no half-written result behind.
Tasks (``feedback.tasks``) are thin adapters around these functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor, Notification, User
from backend.accounts.rules import signed_in_user
from backend.accounts.services import notify, user_language
from backend.errors import Conflict, DomainError, NotAllowed
from backend.exports import csv_writer
from feedback import presenter, selectors
from feedback.models import (
    STEP_ORDER,
    DeliveryStatus,
    Milestone,
    NI4Answer,
    NotificationSent,
    OutcomeReport,
    PendingSurveyAnswer,
    PipelineStep,
    ProjectFollow,
    StepName,
    StepStatus,
    SurveyAnswer,
    SurveyInvitation,
)
from pb import rules as pb_rules
from pb.counting import selectors as counting_selectors
from pb.counting.models import Tally
from pb.counting.wording import stored_sentence
from pb.money import format_money
from pb.phases import has_results
from pb.proposals.models import Proposal
from pb.rounds.models import Round
from pb.voting.models import SurveyCode
from pb.voting.sealing import MIN_BATCH, shuffled
from pb.voting.services.codes import normalise_code, survey_code_hash

DATA_LICENCE = "CC BY 4.0"
DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
NOTIFY_BATCH = 1000


def _on_commit(task_path: str, *args: Any) -> None:
    """Enqueue a feedback task once the surrounding transaction commits (never inside it)."""

    def send() -> None:
        from feedback import tasks

        getattr(tasks, task_path).delay(*args)

    transaction.on_commit(send)


# --- Starting the pipeline ------------------------------------------------------------------


def report_start(*, round_id: int) -> OutcomeReport | None:
    """The report for the round's latest count, created with its steps if new.

    ``None`` when the round has no tally yet, or no longer exists. Keyed by (round, inputs
    key): running this twice for the same count returns the same report; the manager's
    commentary carries over to the report of a later count.
    """
    round_ = Round.objects.filter(pk=round_id).first()
    if round_ is None:  # deleted since the count: nothing to report, nothing to retry
        return None
    tallies = counting_selectors.latest_tallies(round=round_)
    if not tallies:
        return None
    key = selectors.count_inputs_key(tallies)
    previous = selectors.report_current(round=round_)
    with transaction.atomic():
        report, _created = OutcomeReport.objects.get_or_create(
            round=round_,
            inputs_key=key,
            defaults={
                "tally_ids": [t.pk for t in tallies],
                "commentary": previous.commentary if previous else "",
                "commentary_by": previous.commentary_by if previous else None,
            },
        )
        PipelineStep.objects.bulk_create(
            [PipelineStep(report=report, name=name) for name in STEP_ORDER],
            ignore_conflicts=True,
        )
    return report


def _step_begin(report_id: int, name: str) -> PipelineStep | None:
    """Mark a step running (one more attempt), or ``None`` when it is already done."""
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(report_id=report_id, name=name)
        if step.status == StepStatus.DONE:
            return None
        step.status = StepStatus.RUNNING
        step.attempts += 1
        step.error = ""
        step.started_at = timezone.now()
        step.save(update_fields=["status", "attempts", "error", "started_at"])
    return step


def _step_done(step: PipelineStep, **fields: Any) -> None:
    step.status = StepStatus.DONE
    step.finished_at = timezone.now()
    for key, value in fields.items():
        setattr(step, key, value)
    step.save(update_fields=["status", "finished_at", *fields])


def step_fail(*, report_id: int, name: str, error: str) -> None:
    """Record a step's failure for the manager's page (the task retries it with backoff)."""
    PipelineStep.objects.filter(report_id=report_id, name=name).exclude(
        status=StepStatus.DONE
    ).update(status=StepStatus.FAILED, error=error[:2000], finished_at=timezone.now())


def step_rerun(*, actor: Actor, report: OutcomeReport, name: str) -> PipelineStep:
    """A manager runs a failed step again; the steps after it follow when it succeeds."""
    if not pb_rules.can_manage_round(actor, report.round):
        raise NotAllowed(_("Only the round's managers can re-run its outcome steps."))
    if name not in STEP_ORDER:
        raise DomainError(_("There is no such step."), field="step")
    with transaction.atomic():
        step = PipelineStep.objects.select_for_update().get(report=report, name=name)
        if step.status == StepStatus.DONE:
            raise Conflict(_("This step has already finished; there is nothing to re-run."))
        if step.status == StepStatus.RUNNING:
            raise Conflict(_("This step is running now. Wait for it to finish or fail."))
        earlier = [n for n in STEP_ORDER[: STEP_ORDER.index(name)]]
        if report.steps.filter(name__in=earlier).exclude(status=StepStatus.DONE).exists():
            raise Conflict(_("An earlier step has not finished: re-run that one first."))
        step.status = StepStatus.PENDING
        step.error = ""
        step.save(update_fields=["status", "error"])
        _on_commit("run_steps", report.pk, name)
    return step


# --- Step 1: build the report ---------------------------------------------------------------


def report_build(*, report_id: int) -> OutcomeReport:
    """Compute the report's fixed figures and store them in one write.

    The figures appear all at once: pages show "being prepared" until then, never half a report.
    """
    report = OutcomeReport.objects.select_related("round").get(pk=report_id)
    step = _step_begin(report_id, StepName.REPORT)
    if step is None:
        return report
    tallies = list(Tally.objects.filter(pk__in=report.tally_ids).select_related("area"))
    tallies.sort(key=lambda t: (t.area.name if t.area else "", t.area_id or 0))
    figures = presenter.report_figures(round=report.round, tallies=tallies)
    # No row lock on the report: the write is one UPDATE of these two columns only, so a
    # commentary saved meanwhile is kept, and nothing is read here that another writer could
    # change. Two workers that both begin the step (see _step_begin) compute the same figures
    # from the same fixed tallies; whichever writes last, the report is the same. A lock would
    # only queue the second write behind the first, which the UPDATE does by itself.
    with transaction.atomic():
        report.figures = figures
        report.built_at = timezone.now()
        report.save(update_fields=["figures", "built_at"])
        _step_done(step)
    return report


# --- Step 2: tell every participant ---------------------------------------------------------


def _message_for(
    *,
    report: OutcomeReport,
    user: User,
    area_id: int | None,
    proposals: Sequence[Proposal],
) -> tuple[str, str]:
    figures = report.figures or {}
    round_ = figures.get("round", {})
    currency = round_.get("currency", "GBP")
    results = figures.get("results", [])
    by_id = {p["id"]: p for a in results for p in a["projects"]}
    lines: list[str] = []
    round_name = round_.get("name") or _("the round")
    if area_id is not None:
        area = next((a for a in results if a["area_id"] == area_id), None)
        if area is None and len(results) == 1:
            area = results[0]
        lines.append(_("Thank you for voting in %(round)s.") % {"round": round_name})
        if area is not None:
            funded = [p for p in area["projects"] if p["funded"]]
            lines.append(
                ngettext(
                    "In %(area)s, %(voters)s people voted and %(n)d project will be funded:",
                    "In %(area)s, %(voters)s people voted and %(n)d projects will be funded:",
                    len(funded),
                )
                % {
                    "area": area["area"],
                    "voters": number_format(area["voters"], force_grouping=True),
                    "n": len(funded),
                }
            )
            lines += [f"- {p['title']} ({format_money(p['cost'], currency)})" for p in funded]
            others = [p for p in area["projects"] if not p["funded"]]
            if others:
                lines.append(_("Not funded this time:"))
                lines += [
                    f"- {p['title']}: {stored_sentence(p) or _(p['reason_label'] or '')}"
                    for p in others
                ]
        lines.append(
            _(
                "Your vote is secret, so we cannot tell you here what you chose: your receipt "
                "code finds your ballot in the published ballot file."
            )
        )
    for proposal in proposals:
        project = by_id.get(str(proposal.pk))
        if project is None:
            reason = proposal.public_reason or proposal.get_status_display()
            lines.append(
                _("Your proposal “%(title)s” was not on the ballot: %(reason)s.")
                % {"title": proposal.title, "reason": reason}
            )
        elif project["funded"]:
            lines.append(
                _("Your proposal “%(title)s” will be funded (%(cost)s).")
                % {"title": proposal.title, "cost": format_money(project["cost"], currency)}
                + f" {stored_sentence(project)}"
            )
        else:
            lines.append(
                _("Your proposal “%(title)s” was not funded.") % {"title": proposal.title}
                + f" {stored_sentence(project)}"
            )
    if area_id is not None:
        lines.append(
            _(
                "What happens next: the council plans the funded projects and posts their "
                "progress on the results page. You can follow a project there to hear when it "
                "moves on, and tell us whether you feel you can influence local decisions in a "
                "two-minute survey."
            )
        )
    else:
        # The survey is for voters: inviting an author who did not vote led to a refusal.
        lines.append(
            _(
                "What happens next: the council plans the funded projects and posts their "
                "progress on the results page. You can follow a project there to hear when it "
                "moves on."
            )
        )
    subject = _("The results of %(round)s") % {"round": round_name}
    return subject, "\n".join(lines)


def report_notify(*, report_id: int, batch: int = NOTIFY_BATCH) -> int:
    """Put one outcome message on each participant's and author's dashboard, and queue e-mail
    copies for those who want them. Returns the number of messages made in this call.

    Each batch locks the step row and re-reads who is still waiting, so two workers never
    message the same person; ``NotificationSent`` (unique per person and round) and the
    dashboard message are written in the same transaction, so a worker killed mid-way leaves
    either both or neither. E-mails are sent after commit by ``send_outcome_emails``.
    """
    report = OutcomeReport.objects.select_related("round").get(pk=report_id)
    if not report.is_built:
        raise Conflict(_("The report is not built yet, so there is nothing to tell people."))
    step = _step_begin(report_id, StepName.NOTIFY)
    if step is None:
        return 0
    round_ = report.round
    total = selectors.outcome_recipients(round=round_).count()
    PipelineStep.objects.filter(pk=step.pk).update(total_count=total)
    url = reverse("round_results", args=[round_.slug])
    made = 0
    last_id = 0
    while True:
        with transaction.atomic():
            PipelineStep.objects.select_for_update().get(pk=step.pk)
            users = selectors.recipients_pending(round=round_, after_id=last_id, limit=batch)
            if not users:
                break
            last_id = users[-1].pk
            ids = [u.pk for u in users]
            areas = selectors.voter_areas(round=round_, user_ids=ids)
            authored = selectors.proposals_by_author(round=round_, user_ids=ids)
            notes = []
            for user in users:
                # Written in the reader's language; the e-mail copy reuses this text.
                with translation.override(user_language(user)):
                    subject, body = _message_for(
                        report=report,
                        user=user,
                        area_id=areas.get(user.pk),
                        proposals=authored.get(user.pk, []),
                    )
                notes.append(Notification(user=user, subject=subject, body=body, url=url))
            Notification.objects.bulk_create(notes)
            sent = NotificationSent.objects.bulk_create(
                [
                    NotificationSent(
                        round=round_,
                        user=user,
                        notification=note,
                        wants_email=_wants_email(user),
                    )
                    for user, note in zip(users, notes, strict=True)
                ]
            )
            SurveyInvitation.objects.bulk_create(
                [
                    SurveyInvitation(round=round_, user_id=uid, area_id=area_id)
                    for uid, area_id in areas.items()
                ],
                ignore_conflicts=True,
            )
            email_ids = [s.pk for s in sent if s.wants_email]
            if email_ids:
                _on_commit("send_outcome_emails", email_ids)
            made += len(users)
            # Progress for the manager's page; the exact count is written when the step ends.
            PipelineStep.objects.filter(pk=step.pk).update(done_count=F("done_count") + len(users))
    _step_done(step, done_count=NotificationSent.objects.filter(round=round_).count())
    return made


def _wants_email(user: User) -> bool:
    profile = getattr(user, "profile", None)
    return bool(user.email) and (profile is None or profile.email_notifications)


#: An e-mail copy claimed this long ago and still not sent was lost with its worker (or the
#: mail server refused it) and may be claimed again. Far longer than sending one batch takes.
EMAIL_CLAIM_DEADLINE = dt.timedelta(minutes=30)


def outcome_emails_send(
    *, sent_ids: Sequence[int], claim_deadline: dt.timedelta = EMAIL_CLAIM_DEADLINE
) -> int:
    """E-mail copies of outcome messages, once each; returns how many were sent.

    Rows are claimed (``claimed_at`` set, ``skip_locked``) and committed before sending, so two
    workers never send the same copy; each row is marked ``emailed_at`` as soon as the mail
    server accepted its message. A copy whose claim is older than ``claim_deadline`` with no
    ``emailed_at`` (its worker died, or the server refused it) is claimed again by the next
    call, which beat's sweeper makes (``outcome_emails_stalled``). The one case that can send a
    copy twice is a worker killed in the instant between the server's acceptance and the mark.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            NotificationSent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=list(sent_ids), emailed_at__isnull=True, wants_email=True)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_deadline))
            .select_related("user", "notification")
        )
        NotificationSent.objects.filter(pk__in=[r.pk for r in rows]).update(claimed_at=now)
    sent = 0
    with get_connection(fail_silently=True) as connection:
        for r in rows:
            if r.notification is None:
                continue
            message = EmailMessage(
                r.notification.subject,
                r.notification.body + f"\n\n{settings.SITE_URL}{r.notification.url}",
                None,
                [r.user.email],
                connection=connection,
            )
            if message.send():
                NotificationSent.objects.filter(pk=r.pk).update(emailed_at=timezone.now())
                sent += 1
    return sent


def outcome_resume_stalled(*, older_than: dt.timedelta) -> dict[str, list[int]]:
    """Beat's sweeper for the outcome feedback: start again what a lost task left undone.

    - a round counted more than ``older_than`` ago with no report for its latest count gets
      its pipeline (the count's ``outcome_pipeline`` task was lost);
    - a current report with a step not done and untouched for ``older_than`` resumes from
      that step (a step's task was lost, or its retries ran out);
    - e-mail copies never claimed for ``older_than``, or claimed and unsent past the claim
      deadline, are sent.

    Everything it starts is keyed and idempotent, so a step that was merely slow is not done
    twice. Returns what it started, for the log.
    """
    cutoff = timezone.now() - older_than
    started: dict[str, list[int]] = {"pipelines": [], "reports": [], "emails": []}
    for round_id in selectors.rounds_counted_without_report(counted_before=cutoff):
        _on_commit("outcome_pipeline", round_id)
        started["pipelines"].append(round_id)
    for report_id, step in selectors.reports_stalled(untouched_since=cutoff):
        _on_commit("run_steps", report_id, step)
        started["reports"].append(report_id)
    ids = selectors.outcome_emails_stalled(
        created_before=cutoff, claimed_before=timezone.now() - EMAIL_CLAIM_DEADLINE
    )
    for at in range(0, len(ids), NOTIFY_BATCH):
        _on_commit("send_outcome_emails", ids[at : at + NOTIFY_BATCH])
    started["emails"] = ids
    return started


# --- Step 3: open data ----------------------------------------------------------------------


def indicators_csv(*, report: OutcomeReport) -> str:
    """Every indicator as (indicator, value, definition), influence as of now."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["indicator", "value", "definition"])
    writer.writerows(presenter.indicator_rows(report=report))
    return out.getvalue()


def ballot_file_links(round_: Round, figures: dict[str, Any]) -> list[dict[str, str]]:
    """Links to ``pb.counting``'s ballot files (pabulib and CSV) for each counted area."""
    links = []
    for area in figures.get("results", []):
        suffix = f"?area={area['area_slug']}" if area["area_slug"] else ""
        for fmt, label in (("pb", "pabulib .pb"), ("csv", "CSV")):
            url = reverse("ballots_file", kwargs={"slug": round_.slug, "fmt": fmt})
            links.append(
                {
                    "name": f"ballots-{area['area_slug'] or 'all'}.{fmt}",
                    "title": _("Anonymised ballots, %(area)s (%(format)s)")
                    % {"area": area["area"], "format": label},
                    "format": fmt,
                    "url": url + suffix,
                }
            )
    return links


def report_publish_open_data(*, report_id: int) -> OutcomeReport:
    """Write the round's open data files to storage and list them on the report.

    Files go under a path keyed by the count, written whole before the list is saved, so a
    reader never finds a listed file half-written; writing again replaces them.
    """
    report = OutcomeReport.objects.select_related("round").get(pk=report_id)
    if not report.is_built:
        raise Conflict(_("The report is not built yet, so there is nothing to publish."))
    step = _step_begin(report_id, StepName.OPEN_DATA)
    if step is None:
        return report
    round_ = report.round
    figures = report.figures or {}
    folder = f"open-data/{round_.slug}/{report.inputs_key[:16]}"
    files: list[dict[str, Any]] = []

    def put(name: str, title: str, fmt: str, text: str) -> None:
        data = text.encode()
        path = f"{folder}/{name}"
        if default_storage.exists(path):
            default_storage.delete(path)
        default_storage.save(path, ContentFile(data))
        files.append(
            {
                "name": name,
                "title": title,
                "format": fmt,
                "path": path,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )

    tally = {
        "round": figures.get("round"),
        "licence": DATA_LICENCE,
        "results": figures.get("results"),
        "recount": presenter.RECOUNT_COMMAND.format(rule=round_.rule),
    }
    put(
        "tally.json",
        "The count with an explanation per project",
        "json",
        json.dumps(tally, indent=1),
    )
    put(
        "indicators.csv",
        "Brisbane indicators with their definitions",
        "csv",
        indicators_csv(report=report),
    )
    # The ballots themselves are served by pb.counting, built from the stored rows on request.
    links = ballot_file_links(round_, figures)
    # No row lock on the report, as in report_build: one UPDATE of these two columns, the same
    # files from the same figures whichever worker writes last.
    with transaction.atomic():
        report.open_data = files + links
        report.published_at = timezone.now()
        report.save(update_fields=["open_data", "published_at"])
        _step_done(step, done_count=len(files) + len(links), total_count=len(files) + len(links))
    return report


STEP_FUNCTIONS: dict[str, Callable[..., Any]] = {
    StepName.REPORT: report_build,
    StepName.NOTIFY: report_notify,
    StepName.OPEN_DATA: report_publish_open_data,
}


# --- The manager's commentary ---------------------------------------------------------------


def report_set_commentary(*, actor: Actor, report: OutcomeReport, text: str) -> OutcomeReport:
    if not pb_rules.can_manage_round(actor, report.round):
        raise NotAllowed(_("Only the round's managers can write the commentary."))
    text = text.strip()
    if len(text) > 10_000:
        raise DomainError(_("Keep the commentary under 10,000 characters."), field="commentary")
    report.commentary = text
    report.commentary_by = signed_in_user(actor)
    report.save(update_fields=["commentary", "commentary_by"])
    return report


# --- The influence survey -------------------------------------------------------------------


def _survey_check(*, round: Round, influence: str, satisfaction: int | None, comment: str) -> None:
    """The survey is open and the answers make sense; the same for accounts and codes."""
    if not has_results(round.phase):
        raise NotAllowed(_("The survey opens once the votes are counted."))
    if influence and influence not in NI4Answer.values:
        raise DomainError(_("Choose one of the answers."), field="influence")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise DomainError(_("Choose a number from 1 to 5."), field="satisfaction")
    if not influence and satisfaction is None and not comment.strip():
        raise DomainError(_("Answer at least one question."), field="influence")
    if len(comment) > 2000:
        raise DomainError(_("Keep your comment under 2,000 characters."), field="comment")
    if selectors.survey_closed(round=round):
        raise NotAllowed(
            ngettext(
                "The survey closed %(n)s day after the results were published.",
                "The survey closed %(n)s days after the results were published.",
                selectors.SURVEY_DAYS,
            )
            % {"n": selectors.SURVEY_DAYS}
        )


def _survey_pending(
    *, round: Round, area_id: int, influence: str, satisfaction: int | None, comment: str
) -> PendingSurveyAnswer:
    # Pending until sealed with at least 19 others: written now beside the invitation (or the
    # used code), it would name its author to anyone reading the database.
    answer = PendingSurveyAnswer.objects.create(
        round=round,
        area_id=area_id,
        influence=influence,
        satisfaction=satisfaction,
        comment=comment.strip(),
    )
    waiting = PendingSurveyAnswer.objects.filter(round=round, area_id=area_id)
    if waiting.count() == MIN_BATCH:
        _on_commit("seal_survey_answers", round.pk)
    return answer


SURVEY_CODE_REFUSED = "survey_code_refused"


def _survey_code_refused() -> str:
    return _(
        "We cannot take an answer with this survey code. Check that you typed it as printed on "
        "your receipt or slip and that it is for this round. Each code answers the survey once."
    )


def survey_answer_with_code(
    *,
    round: Round,
    code: str,
    influence: str = "",
    satisfaction: int | None = None,
    comment: str = "",
) -> PendingSurveyAnswer:
    """One anonymous answer for the survey code on a receipt or a paper ballot's slip: for
    voters without an account (a voter code, a kiosk, paper). A code answers once.

    Locks the code's row (``select_for_update``), so the same code sent twice at once is
    stored once; the answer is pending and sealed as an account's is. An unknown code and a
    used one are refused with the same words (code ``SURVEY_CODE_REFUSED``)."""
    if not normalise_code(code):
        raise DomainError(_("Type the survey code from your receipt or slip."), field="code")
    _survey_check(round=round, influence=influence, satisfaction=satisfaction, comment=comment)
    with transaction.atomic():
        row = (
            SurveyCode.objects.select_for_update()
            .filter(round=round, code_hash=survey_code_hash(code))
            .first()
        )
        if row is None:
            raise DomainError(_survey_code_refused(), field="code", code=SURVEY_CODE_REFUSED)
        if row.used:
            # Worded as an unknown code: the answer must not tell someone trying codes which
            # ones were real. Still a Conflict, for callers that care (the same code sent twice).
            raise Conflict(_survey_code_refused(), field="code", code=SURVEY_CODE_REFUSED)
        row.used = True
        row.save(update_fields=["used"])
        return _survey_pending(
            round=round,
            area_id=row.area_id,
            influence=influence,
            satisfaction=satisfaction,
            comment=comment,
        )


def survey_answer(
    *,
    actor: Actor,
    round: Round,
    influence: str = "",
    satisfaction: int | None = None,
    comment: str = "",
) -> PendingSurveyAnswer:
    """Store one anonymous answer per participant; a second answer is refused, the first kept.

    Locks the person's invitation row, so two answers sent at once cannot both be stored. The
    answer waits in ``PendingSurveyAnswer`` until it is sealed with others (the figures read
    only sealed answers).
    """
    participation = selectors.took_part(user=actor, round=round)
    if participation is None:
        raise NotAllowed(_("The survey is for people who voted in this round."))
    _survey_check(round=round, influence=influence, satisfaction=satisfaction, comment=comment)
    with transaction.atomic():
        SurveyInvitation.objects.get_or_create(
            round=round, user=signed_in_user(actor), defaults={"area_id": participation.area_id}
        )
        invitation = SurveyInvitation.objects.select_for_update().get(
            round=round, user=signed_in_user(actor)
        )
        if invitation.answered:
            raise Conflict(_("You have already answered this survey; we kept your first answer."))
        invitation.answered = True
        invitation.save(update_fields=["answered"])
        return _survey_pending(
            round=round,
            area_id=participation.area_id,
            influence=influence,
            satisfaction=satisfaction,
            comment=comment,
        )


def survey_answers_seal(*, round_id: int, final: bool = False) -> int:
    """Move the round's pending survey answers into ``SurveyAnswer`` in shuffled batches, as
    ``pb.voting.sealing.ballots_seal`` does for ballots; returns how many pending were sealed.

    By area (the invitation says it): an area's answers are sealed once at least ``MIN_BATCH``
    wait, or all of them when ``final`` (the survey has closed), a small remainder together with
    sealed answers of its area taken back at random to make ``MIN_BATCH``. Locks the round row
    (``FOR NO KEY UPDATE``) so two sealers take turns.
    """
    fields = ("area_id", "influence", "satisfaction", "comment")
    with transaction.atomic():
        if not Round.objects.select_for_update(no_key=True).filter(pk=round_id).exists():
            return 0
        by_area: dict[int | None, list[tuple[Any, ...]]] = {}
        for row in PendingSurveyAnswer.objects.filter(round_id=round_id).values_list("id", *fields):
            by_area.setdefault(row[1], []).append(row)
        ready = {a: rows for a, rows in by_area.items() if final or len(rows) >= MIN_BATCH}
        if not ready:
            return 0
        pending = [row for rows in ready.values() for row in rows]
        PendingSurveyAnswer.objects.filter(id__in=[row[0] for row in pending]).delete()
        batch = [row[1:] for row in pending]
        for area_id, rows in ready.items():
            if len(rows) < MIN_BATCH:
                same_area = Q(area__isnull=True) if area_id is None else Q(area_id=area_id)
                taken = list(
                    SurveyAnswer.objects.filter(same_area, round_id=round_id)
                    .order_by("?")
                    .values_list("id", *fields)[: MIN_BATCH - len(rows)]
                )
                SurveyAnswer.objects.filter(id__in=[row[0] for row in taken]).delete()
                batch += [row[1:] for row in taken]
        day = timezone.localdate()
        SurveyAnswer.objects.bulk_create(
            SurveyAnswer(
                round_id=round_id,
                area_id=area_id,
                influence=influence,
                satisfaction=satisfaction,
                comment=comment,
                sealed_on=day,
            )
            for area_id, influence, satisfaction, comment in shuffled(batch)
        )
    return len(pending)


def survey_answers_seal_due() -> int:
    """Beat's backstop: seal every area with a batch of answers waiting, and everything left
    in a survey that has closed."""
    from django.db.models import Count

    due: dict[int, bool] = {}
    pending = PendingSurveyAnswer.objects.values("round_id", "area_id").annotate(n=Count("id"))
    for row in pending.order_by("round_id"):
        round_id = row["round_id"]
        final = selectors.survey_closed(round=Round.objects.get(pk=round_id))
        if final or row["n"] >= MIN_BATCH:
            due[round_id] = final
    return sum(survey_answers_seal(round_id=r, final=final) for r, final in due.items())


# --- Delivery ("you said, we did") ----------------------------------------------------------


def _round_start(round_: Round) -> dt.date:
    first = round_.phase_windows.order_by("starts_at").first()
    started = round_.created_at if first is None else min(first.starts_at, round_.created_at)
    return timezone.localdate(started)


def milestone_record(
    *,
    actor: Actor,
    proposal: Proposal,
    status: str,
    date: dt.date,
    spend: int = 0,
    note: str = "",
    delay_reason: str = "",
    photo: Any = None,
    photo_alt: str = "",
) -> Milestone:
    """Record a step in delivering a funded project and tell its followers after commit."""
    if not pb_rules.can_manage_area(actor, proposal.area):
        raise NotAllowed(_("Only the area's managers can record delivery."))
    if proposal.pk not in selectors.funded_proposal_ids(round=proposal.round):
        raise DomainError(_("Only funded projects have delivery milestones."))
    errors: dict[str, list[str]] = {}
    if status not in DeliveryStatus.values:
        errors["status"] = ["Choose a status."]
    start = _round_start(proposal.round)
    if date < start:
        errors["date"] = [f"The date cannot be before the round began ({start:%d %B %Y})."]
    if spend < 0:
        errors["spend"] = ["The spend cannot be negative."]
    if status == DeliveryStatus.DELAYED and not delay_reason.strip():
        errors["delay_reason"] = ["Say why the project is delayed; residents will read it."]
    if photo and not photo_alt.strip():
        errors["photo_alt"] = ["Describe the photo for people who cannot see it."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(first, fields=errors)
    with transaction.atomic():
        milestone = Milestone.objects.create(
            proposal=proposal,
            status=status,
            date=date,
            spend=spend,
            note=note.strip(),
            delay_reason=delay_reason.strip(),
            photo=photo or "",
            photo_alt=photo_alt.strip(),
            created_by=signed_in_user(actor),
        )
        _on_commit("tell_followers", milestone.pk)
    return milestone


def milestone_tell_followers(*, milestone_id: int) -> int:
    """Tell a project's followers about a milestone, once (``followers_told_at``)."""
    with transaction.atomic():
        milestone = (
            Milestone.objects.select_for_update()
            .select_related("proposal")
            .filter(pk=milestone_id, followers_told_at__isnull=True)
            .first()
        )
        if milestone is None:
            return 0
        milestone.followers_told_at = timezone.now()
        milestone.save(update_fields=["followers_told_at"])
    proposal = milestone.proposal
    told = 0
    for user in selectors.followers(proposal=proposal):
        with translation.override(user_language(user)):  # in each follower's language
            body = _("“%(title)s” is now %(status)s.") % {
                "title": proposal.title,
                "status": milestone.get_status_display().lower(),
            }
            if milestone.delay_reason:
                body += " " + _("Why: %(reason)s") % {"reason": milestone.delay_reason}
            if milestone.note:
                body += f"\n{milestone.note}"
            subject = _("News about %(title)s") % {"title": proposal.title}
        notify(
            user=user,
            subject=subject,
            body=body,
            url=reverse("project_delivery", args=[proposal.pk]),
        )
        told += 1
    return told


def project_follow(*, actor: Actor, proposal: Proposal, follow: bool = True) -> bool:
    """Follow (or stop following) a project; returns whether the person follows it now."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed(_("Log in to follow a project."))
    if follow:
        # Followed twice at once: the unique constraint keeps one row, which is enough.
        with contextlib.suppress(IntegrityError):
            ProjectFollow.objects.get_or_create(user=signed_in_user(actor), proposal=proposal)
        return True
    ProjectFollow.objects.filter(user=signed_in_user(actor), proposal=proposal).delete()
    return False
