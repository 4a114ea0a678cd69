"""Spatial maps for scenarios: fault masks and difficulty maps from ASCII art or grayscale PNG, scaled to the grid.

Masks are (G, G) bool with True = dead. Difficulty maps are (G, G) float64 in [0, MAX_DIFFICULTY]: ASCII digit d
gives d/9·1.42, a PNG gray level v gives v/255·1.42 (white = hardest), matching the last default stage radius.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scenarios.ascii_art import ALIVE, DEAD, art_rows, check_art

MAX_DIFFICULTY = 1.42


def _ascii_rows(text: str, what: str, allowed: str, shown: str) -> list[str]:
    """The rows of ASCII art after the check `scenario check` makes (scenarios/ascii_art.py); ValueError if bad."""
    problem = check_art(text, allowed, shown)
    if problem:
        raise ValueError(f"{what} art {problem}")
    return art_rows(text)


def _nearest(art: np.ndarray, size: int) -> np.ndarray:
    """Scale an n×n array to size×size by nearest neighbour: cell (i, j) takes art[i·n // size, j·n // size]."""
    n = art.shape[0]
    idx = (np.arange(size) * n) // size  # the rule scenarios/ascii_art.py documents to scenario authors
    return art[np.ix_(idx, idx)]


def mask_from_ascii(text: str, size: int) -> np.ndarray:
    """Return a (size, size) bool dead mask from square ASCII art: '.' alive, '#' or 'X' dead."""
    rows = _ascii_rows(text, "mask", ALIVE + DEAD, "'#' or 'X' (dead) and '.' (alive)")
    art = np.array([[ch in DEAD for ch in row] for row in rows], dtype=bool)
    return _nearest(art, size)


def map_from_ascii(text: str, size: int) -> np.ndarray:
    """Return a (size, size) float64 difficulty map from square ASCII art of digits 0-9 (digit/9·1.42)."""
    rows = _ascii_rows(text, "difficulty map", "0123456789", "digits 0-9")
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
