"""The engine's sentences as data, so that the site can say them in each reader's language.

A sentence is a :class:`Phrase`: a message (with its plural and the number that chooses between
them, where a number does) and named parts, some of them phrases of their own. :func:`say`
writes a phrase out with whichever :class:`Speaker` it is given: :data:`ENGLISH`, the engine's
own words (``python -m pb.tally`` and the stored ``sentence``), or Django's translations in the
reader's language (``pb.counting.wording``). So there is one wording of the count, not one per
language or per page.

The two constructors are named after Django's translation markers (``gettext_noop``,
``ngettext_lazy``) only so that ``makemessages`` finds their messages and puts them in the
catalogues; nothing here is lazy or translated. Pure Python: no Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Union


@dataclass(frozen=True)
class Amount:
    """Money in the count's whole units ("costs 800"), exact."""

    value: Fraction


@dataclass(frozen=True)
class Ordinal:
    """A place in the order of selection ("2nd")."""

    n: int


@dataclass(frozen=True)
class Percent:
    """A share given as a fraction of one (0.05 is "5%")."""

    value: Fraction


Part = Union[str, int, Amount, Ordinal, Percent, "Phrase"]


@dataclass(frozen=True)
class Phrase:
    message: str
    params: Mapping[str, Part] = field(default_factory=dict)
    plural: str = ""
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "params": _params_json(self.params)}
        if self.plural:
            data |= {"plural": self.plural, "count": self.count}
        return data

    @classmethod
    def from_json(cls, data: Any) -> Phrase | None:
        """A stored phrase, or None for anything that is not one (older counts store none)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
            return None
        params: dict[str, Part] = {}
        for name, raw in (data.get("params") or {}).items():
            part = _part_from_json(raw)
            if part is None:
                return None
            params[str(name)] = part
        return cls(
            message=data["message"],
            params=params,
            plural=str(data.get("plural") or ""),
            count=int(data.get("count") or 0),
        )


def _params_json(params: Mapping[str, Part]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, part in params.items():
        if isinstance(part, Phrase):
            out[name] = {"phrase": part.to_json()}
        elif isinstance(part, Amount):
            out[name] = {"amount": str(part.value)}
        elif isinstance(part, Ordinal):
            out[name] = {"ordinal": part.n}
        elif isinstance(part, Percent):
            out[name] = {"percent": str(part.value)}
        else:
            out[name] = part
    return out


def _part_from_json(raw: Any) -> Part | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str | int):
        return raw
    if not isinstance(raw, Mapping) or len(raw) != 1:
        return None
    ((kind, value),) = raw.items()
    try:
        if kind == "phrase":
            return Phrase.from_json(value)
        if kind == "amount":
            return Amount(Fraction(str(value)))
        if kind == "ordinal":
            return Ordinal(int(value))
        if kind == "percent":
            return Percent(Fraction(str(value)))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def gettext_noop(message: str, **params: Part) -> Phrase:
    return Phrase(message=message, params=params)


def ngettext_lazy(singular: str, plural: str, count: int, **params: Part) -> Phrase:
    return Phrase(message=singular, params=params, plural=plural, count=count)


@dataclass(frozen=True)
class Speaker:
    """How to write a phrase out in one language."""

    gettext: Callable[[str], str]
    ngettext: Callable[[str, str, int], str]
    number: Callable[[int], str]
    amount: Callable[[Fraction], str]
    ordinal: Callable[[int], str]
    percent: Callable[[Fraction], str]


def say(phrase: Phrase, speaker: Speaker) -> str:
    values: dict[str, str] = {}
    for name, part in phrase.params.items():
        if isinstance(part, Phrase):
            values[name] = say(part, speaker)
        elif isinstance(part, Amount):
            values[name] = speaker.amount(part.value)
        elif isinstance(part, Ordinal):
            values[name] = speaker.ordinal(part.n)
        elif isinstance(part, Percent):
            values[name] = speaker.percent(part.value)
        elif isinstance(part, int):
            values[name] = speaker.number(part)
        else:
            values[name] = part
    if phrase.plural:
        template = speaker.ngettext(phrase.message, phrase.plural, phrase.count)
    else:
        template = speaker.gettext(phrase.message)
    return template % values


# --- The engine's own English ------------------------------------------------------------------


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def amount(value: Fraction) -> str:
    """Money for a sentence: "1,200,000", "827,838.50" (exact value is in the JSON)."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    cents = round(value * 100)
    return f"{cents // 100:,}.{cents % 100:02d}"


ENGLISH = Speaker(
    gettext=lambda message: message,
    ngettext=lambda singular, plural, n: singular if n == 1 else plural,
    number=lambda n: f"{n:,}",
    amount=amount,
    ordinal=ordinal,
    percent=lambda share: f"{float(share) * 100:.4g}%",
)
