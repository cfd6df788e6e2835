"""Words for numbers, shared by the report pages and the command line (cheap to import: no plotting here)."""

from __future__ import annotations


def plural(count: int | float, noun: str, plural_form: str | None = None) -> str:
    """``"1 post"``, ``"2 posts"``, ``"1,200 posts"``; ``plural_form`` for irregular nouns ("1 query")."""
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    number = f"{count:,}" if isinstance(count, int) else f"{count:,.1f}"
    word = noun if count == 1 else (plural_form or noun + "s")
    return f"{number} {word}"
