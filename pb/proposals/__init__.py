"""Proposals: writing, supporting, reviewing, hiding and translating them, and comments on them."""
