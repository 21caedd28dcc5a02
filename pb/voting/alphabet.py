"""The alphabet of every code people read off paper (voter codes, receipts, survey codes,
paper ballot numbers), and drawing a random code from it.

A module of its own, importing nothing of ours, so that both the voting services and the
selectors (printing papers) can use it without the selectors importing the services.
"""

from __future__ import annotations

import secrets

#: No 0/O, 1/I/L, 5/S or 8/B: codes are read off paper and typed by people in a hurry.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY234679"


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
