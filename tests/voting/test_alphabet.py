"""Random codes (voter codes, receipts, survey codes, paper numbers): the right length, only
the alphabet's letters, and every letter equally likely."""

from __future__ import annotations

from collections import Counter

import pytest

from pb.voting import alphabet
from pb.voting.alphabet import CODE_ALPHABET, random_code


@pytest.mark.parametrize("length", [1, 8, 10, 12, 40])
def test_a_code_has_its_length_and_only_the_alphabets_letters(length):
    for _ in range(200):
        code = random_code(length)
        assert len(code) == length and set(code) <= set(CODE_ALPHABET)


def test_bytes_past_the_last_whole_alphabet_are_drawn_again(monkeypatch):
    # 234..255 would make the first 22 letters likelier than the last 4 if taken modulo 26.
    draws = iter([bytes([255, 234, 250, 240, 0, 25, 26, 1, 249, 245]), bytes([233, 51] * 5)])
    monkeypatch.setattr(alphabet.secrets, "token_bytes", lambda n: next(draws))
    # 0, 25, 26 and 1, the rest skipped; then a second draw: 233 and 51 are 25 modulo 26.
    assert random_code(6) == "A9AC99"


def test_every_letter_is_about_equally_likely():
    counts = Counter("".join(random_code(13) for _ in range(4000)))  # 52,000 letters
    expected = 52_000 / len(CODE_ALPHABET)  # 2,000 each
    assert set(counts) == set(CODE_ALPHABET)
    # Six standard deviations (about 44 each): fails by chance far less than once in a million.
    assert all(abs(n - expected) < 6 * 44 for n in counts.values()), counts
