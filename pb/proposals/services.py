"""Writes for proposals: submitting, editing, withdrawing, support, review and moderation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor
from backend.accounts.rules import signed_in_user
from backend.accounts.services import notify, user_language
from backend.errors import Conflict, DomainError, NotAllowed
from pb import rules
from pb.areas.models import Area, Theme
from pb.events import proposal_hidden_announce
from pb.models import AuditAction
from pb.money import format_money
from pb.phases import Action, is_closed
from pb.proposals.models import (
    DetailsRead,
    Proposal,
    ProposalEvent,
    ProposalStatus,
    ProposalTranslation,
    Support,
)
from pb.rounds.models import Round, RoundArea, RoundStyle
from pb.services.audit import audit
from pb.services.guards import require, require_phase

#: What a proposal may carry besides its title, description, cost, area and theme.
EXTRA_FIELDS = frozenset(
    {"latitude", "longitude", "image", "image_alt", "group_name", "group_contact", "language"}
)

#: What its author may change while proposals can be edited.
EDITABLE_FIELDS = EXTRA_FIELDS | {"title", "description", "estimated_cost", "area", "theme"}


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
    author: Actor,
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
    require(rules.is_signed_in(author), _("Log in to put forward a proposal."))
    require_phase(round, Action.SUBMIT, _("Proposals are not being taken now."))
    _validate_proposal_fields(
        round=round, area=area, title=title, description=description, cost=estimated_cost
    )
    if round.style == RoundStyle.DECISION_DAY and submit and not extra.get("group_name"):
        raise DomainError(_("Give the name of the group making the bid."), field="group_name")
    unknown = set(extra) - EXTRA_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(join)s.") % {"join": ", ".join(sorted(unknown))})
    # Written in the language of the page unless the author says otherwise.
    extra["language"] = _content_language(extra.get("language"))
    with transaction.atomic():
        proposal = Proposal.objects.create(
            round=round,
            area=area,
            theme=theme,
            author=signed_in_user(author),
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
    *, actor: Actor, proposal: Proposal, submit: bool = False, **changes: Any
) -> Proposal:
    """The author edits their proposal, until the council's review starts."""
    require(rules.is_author(actor, proposal), _("Only the author can change this proposal."))
    require_phase(
        proposal.round,
        Action.EDIT_OWN,
        _("Proposals can no longer be changed: the council's review has started."),
    )
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise NotAllowed(_("This proposal can no longer be changed."), code="wrong_status")
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(_("Unknown fields: %(join)s.") % {"join": ", ".join(sorted(unknown))})
    merged = {
        "title": changes.get("title", proposal.title),
        "description": changes.get("description", proposal.description),
        "cost": changes.get("estimated_cost", proposal.estimated_cost),
        "area": changes.get("area", proposal.area),
    }
    _validate_proposal_fields(round=proposal.round, **merged)
    if "language" in changes:
        changes["language"] = _content_language(changes["language"])
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


def proposal_withdraw(*, actor: Actor, proposal: Proposal, reason: str = "") -> Proposal:
    """The author withdraws their proposal, any time until voting opens."""
    require(rules.is_author(actor, proposal), _("Only the author can withdraw this proposal."))
    require_phase(
        proposal.round, Action.WITHDRAW, _("Proposals cannot be withdrawn once voting has opened.")
    )
    if proposal.status in (ProposalStatus.WITHDRAWN, ProposalStatus.MERGED):
        raise Conflict(_("This proposal has already been withdrawn or merged."))
    with transaction.atomic():
        proposal.status = ProposalStatus.WITHDRAWN
        proposal.save(update_fields=["status", "updated_at"])
        _event(proposal, "Withdrawn by the author." + (f" {reason}" if reason else ""))
    return proposal


def details_read_record(*, actor: Actor, round: Round) -> None:
    """Note, once per round, that a signed-in resident opened a proposal's details.

    Only reading before the vote closes matters to the deliberation figure, so later visits
    write nothing. One ``INSERT ... ON CONFLICT DO NOTHING``: a second reader or a second tab
    cannot fail or duplicate.
    """
    if not getattr(actor, "is_authenticated", False):
        return
    if is_closed(round.phase):
        return
    DetailsRead.objects.bulk_create(
        [DetailsRead(round=round, user=signed_in_user(actor))], ignore_conflicts=True
    )


def proposal_support(*, actor: Actor, proposal: Proposal) -> Proposal:
    """One person, one support; the count moves with ``F()`` so concurrent clicks add up."""
    require(rules.is_signed_in(actor), _("Log in to support a proposal."))
    require_phase(
        proposal.round,
        Action.SUPPORT,
        _("Support is only collected while proposals are being taken."),
    )
    if proposal.status != ProposalStatus.SUBMITTED or proposal.hidden:
        raise NotAllowed(_("This proposal cannot be supported."), code="wrong_status")
    if proposal.author_id == actor.pk:
        raise NotAllowed(_("You cannot support your own proposal."), code="own_proposal")
    try:
        with transaction.atomic():
            Support.objects.create(proposal=proposal, user=signed_in_user(actor))
            Proposal.objects.filter(pk=proposal.pk).update(support_count=F("support_count") + 1)
    except IntegrityError as exc:
        raise Conflict(_("You already support this proposal.")) from exc
    proposal.refresh_from_db(fields=["support_count"])
    return proposal


def proposal_support_withdraw(*, actor: Actor, proposal: Proposal) -> Proposal:
    """Take back one's support while support is collected; the count moves with ``F()`` only
    when a support row was really deleted, so a double click cannot take two away."""
    require(rules.is_signed_in(actor), _("Log in to support a proposal."))
    require_phase(
        proposal.round,
        Action.SUPPORT,
        _("Support is only collected while proposals are being taken."),
    )
    with transaction.atomic():
        deleted, _rows = Support.objects.filter(
            proposal=proposal, user=signed_in_user(actor)
        ).delete()
        if not deleted:
            raise Conflict(_("You do not support this proposal."))
        Proposal.objects.filter(pk=proposal.pk).update(support_count=F("support_count") - 1)
    proposal.refresh_from_db(fields=["support_count"])
    return proposal


REVIEW_DECISIONS = {
    ProposalStatus.FEASIBLE,
    ProposalStatus.NOT_FEASIBLE,
    ProposalStatus.MERGED,
}


def area_money(proposal: Proposal) -> int:
    """What the proposal's ballot can spend: the round's budget on a decision day (one pot),
    else the allocation of the proposal's area (or the ward around it), else the budget when
    the split has not allocated it yet."""
    round_ = proposal.round
    if round_.style == RoundStyle.DECISION_DAY:
        return round_.budget
    allocations = dict(RoundArea.objects.filter(round=round_).values_list("area_id", "allocation"))
    for area_id in (proposal.area_id, proposal.area.parent_id):
        allocation = allocations.get(area_id) if area_id is not None else None
        if allocation is not None:
            return int(allocation)
    return round_.budget


def proposal_review(
    *,
    actor: Actor,
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
    require(
        rules.can_review(actor, proposal),
        _("Only managers of %(name)s can review this proposal.") % {"name": proposal.area.name},
    )
    require_phase(proposal.round, Action.REVIEW, _("Proposals are not being reviewed now."))
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
        else:
            money = area_money(proposal)
            if council_cost > money:
                # Refused here: on the ballot it could never be chosen within the area's money,
                # its voters would be blocked and the results would say nobody voted for it.
                fields["council_cost"] = [
                    _(
                        "The cost (%(cost)s) is more than %(area)s has to spend in this round "
                        "(%(money)s), so no voter could choose it. Lower the estimate if the "
                        "project can be done for less, or decide it is not feasible."
                    )
                    % {
                        "cost": format_money(council_cost, proposal.round.currency),
                        "area": proposal.area.name,
                        "money": format_money(money, proposal.round.currency),
                    }
                ]
    threshold = proposal.round.support_threshold
    if (
        decision == ProposalStatus.FEASIBLE
        and threshold is not None
        and proposal.support_count < threshold
    ):
        # The round promised residents that only ideas with enough supports go forward.
        fields["decision"] = [
            ngettext(
                "This proposal has %(n)s support, fewer than the %(t)s the round asks for to go "
                "forward to review, so it cannot go on the ballot. Decide it is not feasible, "
                "or merge it into a proposal that went forward.",
                "This proposal has %(n)s supports, fewer than the %(t)s the round asks for to "
                "go forward to review, so it cannot go on the ballot. Decide it is not "
                "feasible, or merge it into a proposal that went forward.",
                proposal.support_count,
            )
            % {"n": proposal.support_count, "t": threshold}
        ]
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
                _("Someone else has already reviewed this proposal: it is now “%(status)s”.")
                % {"status": locked.get_status_display()},
            )
        locked.status = decision
        locked.public_reason = reason.strip()
        locked.council_cost = council_cost if decision == ProposalStatus.FEASIBLE else None
        locked.merged_into = merged_into if decision == ProposalStatus.MERGED else None
        locked.reviewed_by = signed_in_user(actor)
        locked.reviewed_at = timezone.now()
        locked.save()
        text = _review_text(locked)
        _event(locked, text)
        audit(
            actor=actor,
            action=AuditAction.PROPOSAL_REVIEW,
            proposal=locked,
            reason=reason,
            details={
                "decision": decision,
                "council_cost": locked.council_cost,
                "merged_into": merged_into.pk if merged_into else None,
            },
        )
        if locked.author is not None:
            author = locked.author
            with translation.override(user_language(author)):  # in the author's language
                subject = _("Your proposal “%(title)s”: %(status)s") % {
                    "title": locked.title,
                    "status": locked.get_status_display(),
                }
                body = _review_text(locked)
            transaction.on_commit(
                lambda: notify(
                    user=author, subject=subject, body=body, url=f"/proposals/{locked.pk}/"
                )
            )
    return locked


def _content_language(language: str | None) -> str:
    """The language a resident wrote in: the one they named, else the page's."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("That language is not offered here."), field="language")
    return language


def proposal_translation_set(
    *, actor: Actor, proposal: Proposal, language: str, title: str, summary: str
) -> ProposalTranslation:
    """An area manager adds (or corrects) the title and summary of a proposal in another
    language; the ballot shows it to voters reading that language, with the original a click
    away. An empty title and summary removes the translation."""
    require(
        rules.can_review(actor, proposal),
        _("Only the managers of the proposal's area can translate it."),
    )
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("That language is not offered here."), field="language")
    if language == proposal.language:
        raise DomainError(
            _("The proposal is already written in that language: choose another one."),
            field="language",
        )
    title, summary = title.strip(), summary.strip()
    if not title and not summary:
        ProposalTranslation.objects.filter(proposal=proposal, language=language).delete()
        return ProposalTranslation(proposal=proposal, language=language)
    fields: dict[str, list[str]] = {}
    if not title:
        fields["title"] = [_("Give the title in this language.")]
    elif len(title) > 140:
        fields["title"] = [_("Keep the title to 140 characters or fewer.")]
    if not summary:
        fields["summary"] = [_("Give the summary in this language.")]
    if fields:
        raise DomainError(next(iter(fields.values()))[0], fields=fields)
    with transaction.atomic():
        # One row per proposal and language (a unique constraint), so two managers saving at
        # once leave one translation, the later one.
        translated, _created = ProposalTranslation.objects.update_or_create(
            proposal=proposal,
            language=language,
            defaults={"title": title, "summary": summary, "translated_by": actor},
        )
        audit(
            actor=actor,
            action=AuditAction.PROPOSAL_TRANSLATE,
            proposal=proposal,
            details={"language": language},
        )
    return translated


def _review_text(proposal: Proposal) -> str:
    """The review decision in a sentence or three, in the active language."""
    text = _("Council review: %(status)s.") % {"status": proposal.get_status_display()}
    text += f" {proposal.public_reason}"
    if proposal.council_cost is not None:
        text += " " + _("Council's cost estimate: %(cost)s.") % {
            "cost": format_money(proposal.council_cost)
        }
    if proposal.merged_into is not None:
        text += " " + _("Merged into “%(title)s”.") % {"title": proposal.merged_into.title}
    return text


def _hidden_text(image_only: bool, reason: str) -> str:
    if image_only:
        return _("A moderator hid the image of this proposal. The reason: %(reason)s") % {
            "reason": reason
        }
    return _("A moderator hid this proposal. The reason: %(reason)s") % {"reason": reason}


def proposal_hide(
    *, actor: Actor, proposal: Proposal, reason: str, image_only: bool = False
) -> Proposal:
    """Moderation: hide a proposal (or only its image) with a reason shown in its place."""
    require(rules.can_moderate(actor, proposal), _("Only the area's managers can moderate."))
    if not reason.strip():
        raise DomainError(_("Write the reason that will be shown instead."), field="reason")
    with transaction.atomic():
        if image_only:
            proposal.image_hidden = True
        else:
            proposal.hidden = True
        proposal.hidden_reason = reason.strip()
        proposal.save(update_fields=["hidden", "image_hidden", "hidden_reason", "updated_at"])
        _event(proposal, _hidden_text(image_only, reason.strip()))
        if not image_only:
            proposal_hidden_announce(proposal_id=proposal.pk)
        audit(
            actor=actor,
            action=AuditAction.MODERATION_HIDE_IMAGE
            if image_only
            else AuditAction.MODERATION_HIDE_PROPOSAL,
            proposal=proposal,
            reason=reason,
        )
        if proposal.author is not None:
            author = proposal.author
            with translation.override(user_language(author)):  # in the author's language
                subject = _("Your proposal “%(title)s” was moderated") % {"title": proposal.title}
                body = _hidden_text(image_only, reason.strip())
            transaction.on_commit(
                lambda: notify(
                    user=author, subject=subject, body=body, url=f"/proposals/{proposal.pk}/"
                )
            )
    return proposal
