from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from pb.counting.result import ProjectResult
from pb.counting.wording import project_sentence
from pb.money import format_money

register = template.Library()


@register.simple_tag
def money(minor: int | None, currency: str = "GBP") -> str:
    return format_money(minor, currency)


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
