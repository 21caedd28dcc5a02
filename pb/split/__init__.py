"""The Porto Alegre split of a city round's budget between its areas: ``formula`` (the pure
arithmetic, no Django), ``models`` (residents' theme rankings), ``services``, ``selectors``,
``forms`` and ``views``."""
