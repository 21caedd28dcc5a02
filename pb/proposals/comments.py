"""Comments on proposals: writing, replying (one level), flagging and moderation.

Who may act is ``pb.rules``' answer, when is ``pb.phases``' (the ``comment`` action); every
refusal is a ``DomainError`` with a message for the person, so pages never answer 5xx.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from backend.accounts.models import Actor, User
from backend.accounts.rules import signed_in_user
from backend.accounts.services import notify, user_language
from backend.errors import Conflict, DomainError
from pb import rules
from pb.models import AuditAction
from pb.phases import Action
from pb.proposals.models import Comment, CommentFlag, CommentStance, Proposal, ProposalStatus
from pb.services.audit import audit
from pb.services.guards import require, require_phase


def _language(language: str | None) -> str:
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("That language is not offered here."), field="language")
    return language


def _validate(*, text: str, stance: str) -> str:
    fields: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        fields["text"] = [_("Write your comment.")]
    elif len(text) > Comment.MAX_LENGTH:
        fields["text"] = [
            ngettext(
                "Your comment is %(length)d character long: keep it to %(max)d.",
                "Your comment is %(length)d characters long: keep it to %(max)d.",
                len(text),
            )
            % {"length": len(text), "max": Comment.MAX_LENGTH}
        ]
    if stance not in CommentStance.values:
        fields["stance"] = [_("Choose for, against or neutral.")]
    if fields:
        raise DomainError(next(iter(fields.values()))[0], fields=fields)
    return text


def comment_create(
    *,
    author: Actor,
    proposal: Proposal,
    text: str,
    stance: str,
    parent: Comment | None = None,
    language: str | None = None,
) -> Comment:
    """A checked resident comments on a proposal, or replies to a top-level comment on it.
    The proposal's author is told, in their own language."""
    require(
        rules.can_comment(author),
        _("Only residents whose details the council has checked can comment."),
    )
    require(
        proposal.status != ProposalStatus.DRAFT and not proposal.hidden,
        _("This proposal is not open for comments: it is a draft or a moderator hid it."),
    )
    require_phase(proposal.round, Action.COMMENT, _("Comments are not open now."))
    text = _validate(text=text, stance=stance)
    if parent is not None:
        if parent.proposal_id != proposal.pk:
            raise DomainError(_("That comment is about another proposal."), field="parent")
        if parent.parent_id is not None:
            raise DomainError(
                _("You can reply to a comment, not to a reply: reply to the first comment."),
                field="parent",
            )
        if parent.hidden:
            raise DomainError(
                _("A moderator hid that comment: it takes no replies."), field="parent"
            )
    writer = signed_in_user(author)
    comment = Comment.objects.create(
        proposal=proposal,
        parent=parent,
        author=writer,
        text=text,
        stance=stance,
        language=_language(language),
    )
    _tell_author(comment, writer)
    return comment


def _tell(recipient: User, subject: str, body: str, url: str) -> None:
    transaction.on_commit(lambda: notify(user=recipient, subject=subject, body=body, url=url))


def _tell_author(comment: Comment, writer: User) -> None:
    """The proposal's author hears of every comment on it, and a comment's writer of a reply to
    it, each in their own language; nobody hears of what they wrote themselves."""
    proposal = comment.proposal
    url = f"/proposals/{proposal.pk}/#comment-{comment.pk}"
    values = {"name": writer.public_name, "text": comment.text[:200]}
    told: set[int] = {writer.pk}
    recipient = proposal.author
    if recipient is not None and recipient.pk not in told:
        told.add(recipient.pk)
        with translation.override(user_language(recipient)):
            subject = _("A new comment on your proposal “%(title)s”") % {"title": proposal.title}
            body = _("%(name)s commented (%(stance)s): %(text)s") % {
                **values,
                "stance": comment.get_stance_display(),
            }
        _tell(recipient, subject, body, url)
    replied_to = comment.parent.author if comment.parent is not None else None
    if replied_to is not None and replied_to.pk not in told:
        with translation.override(user_language(replied_to)):
            subject = _("A reply to your comment on “%(title)s”") % {"title": proposal.title}
            body = _("%(name)s replied (%(stance)s): %(text)s") % {
                **values,
                "stance": comment.get_stance_display(),
            }
        _tell(replied_to, subject, body, url)


def comment_flag(*, actor: Actor, comment: Comment) -> bool:
    """A resident flags a comment for the area's managers. Flagging twice changes nothing;
    answers whether this was a new flag."""
    require(rules.can_flag_comment(actor), _("Log in to flag a comment."))
    flagger = signed_in_user(actor)
    require(comment.author_id != flagger.pk, _("This is your own comment: you cannot flag it."))
    try:
        with transaction.atomic():
            CommentFlag.objects.create(comment=comment, user=flagger)
    except IntegrityError:
        return False
    Comment.objects.filter(pk=comment.pk).update(flag_count=F("flag_count") + 1)
    comment.refresh_from_db(fields=["flag_count"])
    return True


def comment_hide(*, actor: Actor, comment: Comment, reason: str) -> Comment:
    """A manager of the proposal's area hides a comment; the reason is shown in its place.

    The comment row is locked (``select_for_update``) and must still be showing, so when two
    managers hide it at once (the queue and the proposal page, say) one reason is kept, one
    audit entry written, and the other manager gets a ``Conflict`` naming the reason shown."""
    require(
        rules.can_moderate_comment(actor, comment),
        _("Only the managers of the proposal's area can hide comments."),
    )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _("Give the reason: it is shown in place of the comment."), field="reason"
        )
    with transaction.atomic():
        locked = Comment.objects.select_for_update().select_related("proposal").get(pk=comment.pk)
        if locked.hidden:
            raise Conflict(
                _("Another manager has already hidden this comment, giving the reason: %(reason)s")
                % {"reason": locked.hidden_reason}
            )
        locked.hidden = True
        locked.hidden_reason = reason
        locked.hidden_by = signed_in_user(actor)
        locked.hidden_at = timezone.now()
        locked.save(update_fields=["hidden", "hidden_reason", "hidden_by", "hidden_at"])
        audit(
            actor=actor,
            action=AuditAction.COMMENT_HIDE,
            proposal=locked.proposal,
            reason=reason,
            details={"comment": locked.pk},
        )
    return locked


def comment_flags_dismiss(*, actor: Actor, comment: Comment) -> Comment:
    """A manager looked at a flagged comment and keeps it: it leaves the queue."""
    require(
        rules.can_moderate_comment(actor, comment),
        _("Only the managers of the proposal's area can moderate comments."),
    )
    with transaction.atomic():
        comment.flags.all().delete()
        Comment.objects.filter(pk=comment.pk).update(flag_count=0)
        audit(
            actor=actor,
            action=AuditAction.COMMENT_KEEP,
            proposal=comment.proposal,
            details={"comment": comment.pk},
        )
    comment.refresh_from_db(fields=["flag_count"])
    return comment
