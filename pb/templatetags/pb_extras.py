from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from pb import rules
from pb.counting.result import ProjectResult
from pb.counting.unspent import SecondPassProject
from pb.counting.wording import project_sentence, second_pass_sentence
from pb.money import format_money
from pb.phases import Action, allows
from pb.proposals import selectors as proposal_selectors
from pb.proposals.forms import CommentHideForm
from pb.proposals.models import Comment, CommentStance, ProposalStatus

register = template.Library()


@register.simple_tag
def money(minor: int | None, currency: str = "GBP") -> str:
    return format_money(minor, currency)


@register.filter
def second_pass(project: SecondPassProject) -> str:
    """Why the second pass across areas funded a project, in the reader's language."""
    return second_pass_sentence(project)


@register.filter
def count_sentence(project: ProjectResult) -> str:
    """A project's sentence from the count, in the reader's language."""
    return project_sentence(project)


@register.filter
def translation_of(translations: Mapping[int, Any] | None, proposal_id: int) -> Any:
    """The manager's translation of a proposal into the page's language, if there is one."""
    return (translations or {}).get(proposal_id)


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``mapping|lookup:key``: a value from a dict in a template (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.inclusion_tag("pb/_comments.html", takes_context=True)
def proposal_comments(context: Any, proposal: Any) -> dict[str, Any]:
    """The comments on a proposal's page, with the forms the reader may use."""
    user = context["user"]
    request = context.get("request")
    open_for_comments = (
        allows(proposal.round.phase, Action.COMMENT)
        and proposal.status != ProposalStatus.DRAFT
        and not proposal.hidden
    )
    return {
        "proposal": proposal,
        "user": user,
        "csrf_token": context.get("csrf_token"),
        "here": request.get_full_path() if request is not None else "",
        "threads": proposal_selectors.comment_threads(proposal=proposal, user=user),
        "open_for_comments": open_for_comments,
        "can_comment": open_for_comments and rules.can_comment(user),
        "can_moderate": rules.can_moderate(user, proposal),
        "stances": CommentStance.choices,
        "max_length": Comment.MAX_LENGTH,
        "hide_form": CommentHideForm(),
    }


@register.simple_tag
def comments_to_moderate(user: Any) -> int:
    """How many flagged comments wait for ``user`` (a manager) in the moderation queue."""
    return len(proposal_selectors.flagged_comments_for(user=user))


@register.simple_tag
def comment_counts(round_: Any) -> dict[int, int]:
    """How many comments (hidden ones not counted) each proposal of ``round_`` has."""
    return proposal_selectors.comment_counts(round=round_)
