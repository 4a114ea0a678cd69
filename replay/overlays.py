"""Colours of the grid: the state palette and the overlays, composed with NumPy lookups (no per-cell Python).

Cell overlays change the colour of cells (computed on the visible sub-grid, so a 1024×1024 grid costs what
the screen shows); pixel overlays draw lines between cells once the grid is blown up to screen pixels;
vector overlays (stage radius, spiral path) are drawn by replay.draw in screen space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# State codes 0..5 as in replay.schema.STATE_NAMES.
STATE_COLOURS = np.array([
    (128, 128, 128),  # idle: grey
    (52, 120, 246),   # working: blue
    (245, 166, 35),   # waiting for the oracle: amber
    (46, 184, 82),    # success: green
    (222, 52, 48),    # failure: red
    (0, 0, 0),        # dead: black
], dtype=np.uint8)
STATE_LABELS = ("Idle", "Working", "WaitingOracle", "Success", "Failure", "Dead")
NO_TASK = np.array((62, 64, 70), dtype=np.uint8)  # an idle cell whose tile has no move: darker than Idle
UNKNOWN = np.array((255, 0, 255), dtype=np.uint8)  # a state code this viewer does not know
WRONG = np.array((255, 64, 200), dtype=np.uint8)  # a tile whose composed move is wrong (consensus mode): hot pink


@dataclass(frozen=True)
class Overlay:
    """One toggle of the viewer: number key, name, how it is drawn, and what it shows."""

    key: int | str  # a number key, or the letter of the key that toggles it
    name: str
    kind: str   # "cell", "pixel" or "vector"
    help: str


OVERLAYS = (
    Overlay(1, "competence", "cell", "agent competence c (dark = 0, bright = 1)"),
    Overlay(2, "difficulty", "cell", "cell difficulty (dark = centre, bright = corners)"),
    Overlay(3, "confidence", "cell", "confidence of the last proposal, when recorded"),
    Overlay(4, "zones", "pixel", "curriculum zones: tint and borders"),
    Overlay(5, "radius", "vector", "circle of the current stage radius"),
    Overlay(6, "path", "vector", "spiral path of the moves; square = next move of the prefix"),
    Overlay(7, "completed", "cell", "composed moves, tinted by when (dark = early, bright = late)"),
    Overlay(8, "tiles", "pixel", "tile borders (and cell borders when zoomed in)"),
    Overlay(9, "locked", "cell", "dim the cells outside the stage radius"),
    Overlay("E", "errors", "cell", "tiles whose composed move is wrong (consensus mode), from when it entered"),
)
BY_KEY = {o.key: o for o in OVERLAYS}
BY_NAME = {o.name: o for o in OVERLAYS}
DEFAULT_ON = frozenset({"radius", "path", "errors"})


def _ramp(stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """Return a (256, 3) u8 colour table interpolated between (position, colour) stops."""
    x = np.linspace(0.0, 1.0, 256)
    pos = [p for p, _ in stops]
    return np.stack([np.interp(x, pos, [c[i] for _, c in stops]) for i in range(3)], axis=1).round().astype(np.uint8)


# Perceptually ordered ramps (viridis- and magma-like), so "more" always reads as "brighter".
VIRIDIS = _ramp([(0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
                 (1.0, (253, 231, 37))])
MAGMA = _ramp([(0.0, (0, 0, 4)), (0.25, (81, 18, 124)), (0.5, (183, 55, 121)), (0.75, (252, 137, 97)),
               (1.0, (252, 253, 191))])
ZONE_TINTS = np.array([(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                       (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190),
                       (0, 128, 128), (170, 110, 40)], dtype=np.uint8)


# Colours are packed as one uint32 per cell (bytes R, G, B, X in memory): blends become a few whole-word
# shifts and adds on (h, w) arrays, which keeps a 1024×1024 grid with every overlay within a frame budget.
LOW7, LOW6, LOW5 = np.uint32(0x7F7F7F7F), np.uint32(0x3F3F3F3F), np.uint32(0x1F1F1F1F)


def pack(rgb: np.ndarray) -> np.ndarray:
    """Return (..., 3) u8 colours as (...) uint32 words whose bytes are R, G, B, 255."""
    rgbx = np.concatenate([rgb, np.full(rgb.shape[:-1] + (1,), 255, np.uint8)], axis=-1)
    return np.ascontiguousarray(rgbx).view(np.uint32)[..., 0]


def unpack(words: np.ndarray) -> np.ndarray:
    """Return packed colours as (..., 3) u8."""
    return np.ascontiguousarray(words).view(np.uint8).reshape(words.shape + (4,))[..., :3]


STATE_WORDS = pack(np.vstack([STATE_COLOURS, np.repeat(UNKNOWN[None], 256 - len(STATE_COLOURS), axis=0)]))
NO_TASK_WORD = pack(NO_TASK[None])[0]
RAMP_WORDS = {"viridis": pack(VIRIDIS), "magma": pack(MAGMA)}
ZONE_WORDS = pack(ZONE_TINTS)
# completed moves: magma from a quarter up (its darkest quarter reads as "black = dead")
WHEN_WORDS = pack(MAGMA[64 + (np.arange(256) * 3 >> 2)])
WRONG_WORD = pack(WRONG[None])[0]


def half(words: np.ndarray) -> np.ndarray:
    """Return every byte of packed colours halved."""
    return (words >> 1) & LOW7


def quarter(words: np.ndarray) -> np.ndarray:
    """Return every byte of packed colours divided by four."""
    return (words >> 2) & LOW6


def mix(base: np.ndarray, over: np.ndarray, quarters: int) -> np.ndarray:
    """Return ``over`` laid over ``base`` with weight quarters/4 (1, 2 or 3), byte by byte."""
    if quarters == 2:
        return half(base) + half(over)
    if quarters == 3:
        return quarter(base) + half(over) + quarter(over)
    return half(base) + quarter(base) + quarter(over)


def darken(words: np.ndarray, quarters_kept: int) -> np.ndarray:
    """Return packed colours at quarters_kept/4 of their brightness (1 or 2; 3 keeps 5/8)."""
    if quarters_kept == 1:
        return quarter(words)
    if quarters_kept == 2:
        return half(words)
    return half(words) + ((words >> 3) & LOW5)


def to_index(values: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Return values in [lo, hi] as u8 indices into a 256-entry ramp."""
    scaled = (np.asarray(values, dtype=np.float32) - lo) * np.float32(255.0 / max(hi - lo, 1e-9))
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def static_layers(move: np.ndarray, zone: np.ndarray, difficulty: np.ndarray) -> dict[str, np.ndarray]:
    """Return what the cell overlays need from the layout, for a (sub-)grid: computed once per view."""
    return {"no_task": move < 0, "zoned": zone >= 0, "zone_words": ZONE_WORDS[zone.astype(np.int64) % len(ZONE_WORDS)],
            "difficulty_words": RAMP_WORDS["magma"][to_index(difficulty, 0.0, 1.42)], "difficulty": difficulty}


def compose(state: np.ndarray, layers: dict[str, np.ndarray], enabled: set[str] | frozenset,
            competence: np.ndarray | None = None, confidence: np.ndarray | None = None,
            done: np.ndarray | None = None, when: np.ndarray | None = None,
            radius: float | None = None, wrong: np.ndarray | None = None) -> np.ndarray:
    """Return the packed colours (h, w) uint32 of a (sub-)grid: state palette, then the enabled cell overlays.

    ``layers`` comes from static_layers; ``done`` marks the cells whose move is composed by now and ``when``
    (u8) says how early in the episode it was composed (0 = first tick, 255 = last); ``wrong`` marks the cells
    whose wrong move is composed by now (drawn last, over every other overlay, so an error is never hidden).
    """
    words = STATE_WORDS.take(state)
    words[layers["no_task"] & (state == 0)] = NO_TASK_WORD
    if "competence" in enabled and competence is not None:
        words = mix(words, RAMP_WORDS["viridis"].take(to_index(competence)), 3)
    if "difficulty" in enabled:
        words = mix(words, layers["difficulty_words"], 3)
    if "confidence" in enabled and confidence is not None:
        words = mix(words, RAMP_WORDS["viridis"].take(to_index(confidence)), 3)
    if "zones" in enabled:
        words = np.where(layers["zoned"], mix(words, layers["zone_words"], 1), words)
    if "completed" in enabled and done is not None and when is not None:
        words = np.where(done, mix(words, WHEN_WORDS.take(when), 3), words)
    if "locked" in enabled and radius is not None:
        words = np.where(layers["difficulty"] > radius, darken(words, 1), words)
    if "errors" in enabled and wrong is not None:
        words = np.where(wrong, mix(words, WRONG_WORD, 3), words)
    return words


def edge_mask(ids: np.ndarray, thick: bool = False) -> np.ndarray:
    """Return a bool mask of the pixels whose id differs from the pixel above or to the left (thick: 2 px)."""
    mask = np.zeros(ids.shape, dtype=bool)
    down = ids[1:, :] != ids[:-1, :]
    right = ids[:, 1:] != ids[:, :-1]
    mask[1:, :] |= down
    mask[:, 1:] |= right
    if thick:  # zone borders must stand out from tile borders: add the pixel on the other side
        mask[:-1, :] |= down
        mask[:, :-1] |= right
    return mask
