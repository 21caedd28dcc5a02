"""Template tags of the deliberation app."""

from __future__ import annotations

from typing import Any

from django import template

from deliberation.selectors import arguments_for_proposal

register = template.Library()


@register.inclusion_tag("deliberation/_arguments.html")
def proposal_arguments(proposal: Any) -> dict[str, Any]:
    """Arguments for and against ``proposal`` from every room, for its page:
    ``{% load deliberation_tags %}{% proposal_arguments proposal %}``."""
    return {"proposal": proposal, "arguments": arguments_for_proposal(proposal)}


@register.filter
def get_count(counts: dict[str, int] | None, key: str) -> int:
    return (counts or {}).get(key, 0)
