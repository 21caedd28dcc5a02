"""Plural forms for words a script puts together in the browser (a live room's counts).

A page's script cannot call ngettext, so the page gives it the message in each plural category
of the reader's language, as the Unicode CLDR names them ("one", "few", "many", "other"...),
with ``{n}`` where the number goes; the script picks one with ``Intl.PluralRules``, which uses
the same categories. Each category's message is the catalogue's ngettext for a number in it.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from django.utils.translation import get_language, ngettext, to_locale

# Every category of every language has a number below this (CLDR's own examples do).
_SAMPLES = range(0, 200)


def _locale() -> Locale:
    try:
        return Locale.parse(to_locale(get_language() or "en-gb"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def plural_forms(singular: str, plural: str) -> dict[str, str]:
    """``{category: message}`` in the active language; ``singular`` and ``plural`` hold
    ``%(n)s``, written as ``{n}`` in what is returned."""
    rule = _locale().plural_form
    forms: dict[str, str] = {}
    for n in _SAMPLES:
        category = rule(n)
        if category not in forms:
            forms[category] = ngettext(singular, plural, n) % {"n": "{n}"}
    return forms
