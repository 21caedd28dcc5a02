from __future__ import annotations

from django import template

from pb.money import format_money

register = template.Library()


@register.simple_tag
def money(minor: int | None, currency: str = "GBP") -> str:
    return format_money(minor, currency)
