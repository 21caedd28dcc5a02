"""Template helpers for links into outcome feedback from other apps' pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from feedback import selectors
from pb.rounds.models import Round

register = template.Library()


@register.simple_tag
def outcome_reports_for(user: Any) -> list[Round]:
    """Counted rounds whose outcome report this person may read (their wards or areas)."""
    return selectors.reports_readable_by(user=user)


def _group_labels() -> dict[str, dict[str, str]]:
    from backend.accounts.models import AgeBand, Ethnicity, Gender
    from pb.voting.models import Channel

    return {
        "gender": {str(k): str(v) for k, v in Gender.choices},
        "ethnicity": {str(k): str(v) for k, v in Ethnicity.choices},
        "age_band": {str(k): str(v) for k, v in AgeBand.choices},
        "channel": {str(k): str(v) for k, v in Channel.choices},
        "disability": {"yes": str(_("Yes")), "no": str(_("No"))},
    }


@register.filter
def group_label(key: Any, question: str = "") -> str:
    """A stored group key as words ("non_binary" -> "Non-binary"), from the same choices the
    question was asked with; an unknown key loses its underscores rather than showing raw."""
    labels = _group_labels().get(question, {})
    text = str(key)
    return labels.get(text) or text.replace("_", " ").capitalize()


@register.filter
def question_label(question: str) -> str:
    return {
        "gender": str(_("Gender")),
        "ethnicity": str(_("Ethnic group")),
        "disability": str(_("Disability")),
    }.get(question, question.replace("_", " "))
