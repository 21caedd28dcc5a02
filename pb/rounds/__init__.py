"""Rounds: their money, rules, areas and dated phases; a round's pages and API."""
