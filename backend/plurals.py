"""Plural forms for words a script puts together in the browser (a live room's counts).

A page's script cannot call ngettext, so the page gives it the message in each plural category
of the reader's language, as the Unicode CLDR names them ("one", "few", "many", "other"...),
with ``{n}`` where the number goes; the script picks one with ``Intl.PluralRules``, which uses
the same categories. Each category's message is the catalogue's ngettext for a number in it.
"""

from __future__ import annotations

from collections.abc import Callable

from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language, to_locale

# Every category of every language has a number below this (CLDR's own examples do).
_SAMPLES = range(0, 200)


def _locale() -> Locale:
    try:
        return Locale.parse(to_locale(get_language() or "en-gb"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def plural_forms(say: Callable[[int], str]) -> dict[str, str]:
    """``{category: message}`` in the active language. ``say(n)`` is the ngettext call, written
    out with its two literal messages so that makemessages finds them
    (``lambda n: ngettext("%(n)s answer", "%(n)s answers", n)``); its ``%(n)s`` is written as
    ``{n}`` in what is returned."""
    rule = _locale().plural_form
    forms: dict[str, str] = {}
    for n in _SAMPLES:
        category = rule(n)
        if category not in forms:
            forms[category] = say(n) % {"n": "{n}"}
    return forms
