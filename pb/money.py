"""Money shown to people: integers in minor units in, readable text out, and back."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from django.utils.translation import get_language, get_language_bidi, to_locale
from django.utils.translation import gettext as _

#: The largest amount, in minor units, a person or a client may give: £1 trillion, far above
#: any council's budget and well inside the database's 64-bit columns.
MAX_MONEY = 100_000_000_000_000

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "PLN": "zł"}


@cache
def _pattern(language: str) -> tuple[Locale, bool]:
    """The CLDR locale for a language, and whether its currency sign goes after the number."""
    try:
        locale = Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en_GB")
    pattern = locale.currency_formats["standard"].pattern.split(";")[0]
    return locale, pattern.strip().endswith("¤")


def format_money(minor: int | None, currency: str = "GBP", language: str | None = None) -> str:
    """An amount as a reader of the current language writes it: '£12,500' in English and
    Welsh, '12 500 £' in Polish. Whole amounts show no pence, as councils write budgets.

    The symbol stays the local one (£, not Polish CLDR's 'GBP'): the money is pounds spent here.
    """
    if minor is None:
        return "–"
    locale, symbol_after = _pattern(language or get_language() or "en-gb")
    amount = Decimal(abs(int(minor))) / 100
    number = format_decimal(
        amount, format="#,##0" if minor % 100 == 0 else "#,##0.00", locale=locale
    )
    symbol = SYMBOLS.get(currency, currency)
    sign = "-" if minor < 0 else ""
    text = f"{sign}{number}\u00a0{symbol}" if symbol_after else f"{sign}{symbol}{number}"
    if language is None and get_language_bidi():
        # In right-to-left text "£20,000" would be laid out as "20,000£": isolate it (LRI..PDI).
        return f"\u2066{text}\u2069"
    return text


def parse_money(text: str) -> int:
    """'12,500' or '£12,500.50' to minor units; raises ValueError with a plain message."""
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("\u00a0", "")
    for symbol in ("£", "€", "$", "zł"):
        cleaned = cleaned.replace(symbol, "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(_("Enter an amount in numbers, like 12,500 or 12500.50.")) from exc
    if not value.is_finite():
        raise ValueError(_("Enter an amount in numbers, like 12,500 or 12500.50."))
    minor = (value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if minor != value * 100:
        raise ValueError(_("Use at most two decimal places."))
    if minor > MAX_MONEY:
        raise ValueError(_("That amount is too large."))
    return int(minor)
