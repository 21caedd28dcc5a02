"""The alphabet of every code people read off paper (voter codes, receipts, survey codes,
paper ballot numbers), and drawing a random code from it.

A module of its own, importing nothing of ours, so that both the voting services and the
selectors (printing papers) can use it without the selectors importing the services.
"""

from __future__ import annotations

import secrets

#: No 0/O, 1/I/L, 5/S or 8/B: codes are read off paper and typed by people in a hurry.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY234679"


#: The largest multiple of the alphabet's size in a byte: a byte at or above it is drawn
#: again, so every letter is equally likely (234 = 9 x 26).
_FAIR = 256 - 256 % len(CODE_ALPHABET)


def random_code(length: int) -> str:
    """``length`` letters of ``CODE_ALPHABET``, each drawn uniformly from the operating system's
    random source: what ``secrets.choice`` per letter gives, from one read of random bytes
    instead of one a letter (a cast draws two codes; that was 20 reads of ``os.urandom``)."""
    letters: list[str] = []
    while len(letters) < length:
        letters += [
            CODE_ALPHABET[b % len(CODE_ALPHABET)]
            for b in secrets.token_bytes(length + 4)
            if b < _FAIR
        ]
    return "".join(letters[:length])
