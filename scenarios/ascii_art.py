"""Check the ASCII-art maps of a scenario: difficulty digits and dead-agent masks.

A map is square: each non-blank line is a row (at any line break str.splitlines knows), whitespace inside a line is
ignored. The engine scales an n×n map to the G×G grid by nearest neighbour: cell (row i, column j) takes
art[i·n // G][j·n // G].
"""
from __future__ import annotations

DEAD, ALIVE = "#X", "."


def art_rows(text: str) -> list[str]:
    """Return the rows of an ASCII map: non-blank lines with their whitespace removed."""
    rows = ["".join(line.split()) for line in text.splitlines()]
    return [row for row in rows if row]


def check_art(text: str, allowed: str, what: str) -> str | None:
    """Return what is wrong with an ASCII map (None when it is a square of allowed characters)."""
    rows = art_rows(text)
    if not rows:
        return f"has no rows; draw a square of {what}"
    for number, row in enumerate(rows, 1):
        bad = sorted({c for c in row if c not in allowed})
        if bad:
            return f"row {number} has {bad[0]!r}; use only {what}"
    widths = sorted({len(row) for row in rows})
    if len(widths) > 1:
        return f"rows have different lengths ({widths[0]} … {widths[-1]}); draw a square of {what}"
    if widths[0] != len(rows):
        return f"is {len(rows)} rows × {widths[0]} columns; it must be square"
    return None

