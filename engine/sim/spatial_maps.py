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


def _png_size(path: Path) -> tuple[int, int]:
    """Return (width, height) from a PNG's IHDR chunk; (0, 0) when the file is not a PNG (PIL then says why)."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return 0, 0
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


MAX_IMAGE_PIXELS = 4096 * 4096  # the largest grid: a bigger map only costs memory (and may be a decompression bomb)


def _gray(path, size: int) -> np.ndarray:
    """Return a square PNG as a (size, size) uint8 grayscale array, resized by nearest neighbour; refuse images
    that are not square (a mask stretched onto the grid would move every dead cell) or over MAX_IMAGE_PIXELS."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        w, h = _png_size(Path(path))  # from the header, before PIL sees the file (its own bomb check is looser)
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(f"image {str(path)!r} is {w}×{h} pixels, more than the {MAX_IMAGE_PIXELS} a map may "
                             f"have; save it at the grid's size ({size}×{size})")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(Path(path)) as image:  # reads the header only: the size is known before decoding
                w, h = image.size
                if w != h:
                    raise ValueError(f"image {str(path)!r} is {w}×{h} pixels, not square like the {size}×{size} "
                                     f"grid; crop or pad it to a square (ideally {size}×{size})")
                gray = image.convert("L").resize((size, size), Image.NEAREST)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            SyntaxError) as err:  # SyntaxError: PIL's way to report a malformed PNG chunk
        raise ValueError(f"cannot read image {str(path)!r}: {' '.join(str(err).split())}") from None
    return np.asarray(gray, dtype=np.uint8)


def mask_from_png(path, size: int) -> np.ndarray:
    """Return a (size, size) bool dead mask from a grayscale image: dark pixels (< 128) are dead."""
    return _gray(path, size) < 128


def map_from_png(path, size: int) -> np.ndarray:
    """Return a (size, size) float64 difficulty map from a grayscale image (gray/255·1.42, white = hardest)."""
    return _gray(path, size).astype(np.float64) / 255.0 * MAX_DIFFICULTY
