"""The count's sentences in the reader's language.

The engine writes each project's sentence once, as data (``pb.tally.wording``), and stores its
English. English readers get the engine's English, word for word as ``python -m pb.tally``
prints it; readers of another language get the same phrase said through Django's catalogues,
with numbers and money written as their language writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from django.utils.translation import get_language, gettext, ngettext, pgettext, to_locale

from pb.counting.result import ProjectResult
from pb.counting.unspent import SecondPassProject
from pb.tally.wording import ENGLISH, Phrase, Speaker, say


@cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def _speaker(language: str) -> Speaker:
    locale = _locale(language)

    def number(n: int) -> str:
        return format_decimal(n, format="#,##0", locale=locale)

    def amount(value: Fraction) -> str:
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        pattern = "#,##0" if value.denominator == 1 else "#,##0.00"
        return format_decimal(exact, format=pattern, locale=locale)

    def ordinal(n: int) -> str:
        return pgettext("place in the order projects were chosen", "no. %(n)s") % {"n": number(n)}

    def percent(share: Fraction) -> str:
        value = format_decimal(float(share) * 100, format="#,##0.####", locale=locale)
        return pgettext("a share in per cent", "%(value)s%%") % {"value": value}

    return Speaker(
        gettext=gettext,
        ngettext=ngettext,
        number=number,
        amount=amount,
        ordinal=ordinal,
        percent=percent,
    )


def said(sentence: str, wording: Phrase | None) -> str:
    """``sentence`` (the engine's English) in the active language, when there is a wording."""
    if wording is None:
        return sentence
    language = get_language() or "en-gb"
    return say(wording, ENGLISH if language.startswith("en") else _speaker(language))


def project_sentence(project: ProjectResult) -> str:
    return said(project.sentence, project.wording)


def stored_sentence(project: Mapping[str, Any]) -> str:
    """The same for a project as stored in a count's outcome (``Tally.outcome["projects"]``),
    or in the results the outcome report keeps, where a project the second pass across areas
    funded carries ``second_pass`` (its area, supporters and voters) and is said as such."""
    second = project.get("second_pass")
    if isinstance(second, Mapping):
        return second_pass_sentence(
            SecondPassProject(
                id=str(project.get("id") or ""),
                title=str(project.get("title") or ""),
                area=str(second.get("area") or ""),
                cost=int(project.get("cost") or 0),
                supporters=int(second.get("supporters") or 0),
                voters=int(second.get("voters") or 0),
            )
        )
    return said(str(project.get("sentence") or ""), Phrase.from_json(project.get("wording")))


def second_pass_sentence(project: SecondPassProject) -> str:
    """Why a project its area's count left out was funded after all (``pb.counting.unspent``)."""
    return ngettext(
        "Funded in the second pass, from the money the areas left unspent: %(supporters)s of "
        "%(n)s voter in %(area)s supported it.",
        "Funded in the second pass, from the money the areas left unspent: %(supporters)s of "
        "%(n)s voters in %(area)s supported it.",
        project.voters,
    ) % {
        "supporters": _speaker(get_language() or "en-gb").number(project.supporters),
        "n": _speaker(get_language() or "en-gb").number(project.voters),
        "area": project.area,
    }
