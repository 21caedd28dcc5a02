"""Counting rounds: stored ballots in, stored and explained tallies out (see ``services``)."""
