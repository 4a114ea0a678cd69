"""Spatial maps for scenarios: fault masks and difficulty maps from ASCII art or grayscale PNG, scaled to the grid.

Masks are (G, G) bool with True = dead. Difficulty maps are (G, G) float64 in [0, MAX_DIFFICULTY]: ASCII digit d
gives d/9·1.42, a PNG gray level v gives v/255·1.42 (white = hardest), matching the last default stage radius.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_DIFFICULTY = 1.42
_ALIVE, _DEAD = ".", "#X"


def _ascii_rows(text: str, what: str, allowed: str) -> list[str]:
    """Return the non-blank rows of ASCII art (whitespace removed) after checking it is square of `allowed` only."""
    rows = ["".join(line.split()) for line in text.splitlines()]
    rows = [row for row in rows if row]
    if not rows:
        raise ValueError(f"{what} art is empty")
    for r, row in enumerate(rows):
        if len(row) != len(rows):
            raise ValueError(f"{what} art must be square: row {r + 1} has {len(row)} characters, expected {len(rows)}")
        for col, ch in enumerate(row):
            if ch not in allowed:
                where = f"{what} art row {r + 1}, column {col + 1}"
                raise ValueError(f"{where}: unexpected {ch!r} (use {' '.join(allowed)})")
    return rows


def _nearest(art: np.ndarray, size: int) -> np.ndarray:
    """Scale an n×n array to size×size by nearest neighbour: cell (i, j) takes art[i·n // size, j·n // size]."""
    n = art.shape[0]
    idx = (np.arange(size) * n) // size  # the rule scenarios/ascii_art.py documents to scenario authors
    return art[np.ix_(idx, idx)]


def mask_from_ascii(text: str, size: int) -> np.ndarray:
    """Return a (size, size) bool dead mask from square ASCII art: '.' alive, '#' or 'X' dead."""
    rows = _ascii_rows(text, "mask", _ALIVE + _DEAD)
    art = np.array([[ch in _DEAD for ch in row] for row in rows], dtype=bool)
    return _nearest(art, size)


def map_from_ascii(text: str, size: int) -> np.ndarray:
    """Return a (size, size) float64 difficulty map from square ASCII art of digits 0-9 (digit/9·1.42)."""
    rows = _ascii_rows(text, "difficulty map", "0123456789")
    art = np.array([[int(ch) for ch in row] for row in rows], dtype=np.float64) / 9.0 * MAX_DIFFICULTY
    return _nearest(art, size)


def _gray(path, size: int) -> np.ndarray:
    """Return a PNG as a (size, size) uint8 grayscale array, resized by nearest neighbour."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(Path(path)) as image:
            gray = image.convert("L").resize((size, size), Image.NEAREST)
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f"cannot read image {str(path)!r}: {err}") from None
    return np.asarray(gray, dtype=np.uint8)


def mask_from_png(path, size: int) -> np.ndarray:
    """Return a (size, size) bool dead mask from a grayscale image: dark pixels (< 128) are dead."""
    return _gray(path, size) < 128


def map_from_png(path, size: int) -> np.ndarray:
    """Return a (size, size) float64 difficulty map from a grayscale image (gray/255·1.42, white = hardest)."""
    return _gray(path, size).astype(np.float64) / 255.0 * MAX_DIFFICULTY
