"""Money shown to people: integers in minor units in, readable text out, and back."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "PLN": "zł "}


def format_money(minor: int | None, currency: str = "GBP") -> str:
    if minor is None:
        return "–"
    sign = "-" if minor < 0 else ""
    pounds, pence = divmod(abs(int(minor)), 100)
    symbol = SYMBOLS.get(currency, currency + " ")
    text = f"{pounds:,}" if pence == 0 else f"{pounds:,}.{pence:02d}"
    return f"{sign}{symbol}{text}"


def parse_money(text: str) -> int:
    """'12,500' or '£12,500.50' to minor units; raises ValueError with a plain message."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    for symbol in ("£", "€", "$", "zł"):
        cleaned = cleaned.replace(symbol, "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError("Enter an amount in numbers, like 12,500 or 12500.50.") from exc
    if not value.is_finite():
        raise ValueError("Enter an amount in numbers, like 12,500 or 12500.50.")
    minor = (value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if minor != value * 100:
        raise ValueError("Use at most two decimal places.")
    return int(minor)
