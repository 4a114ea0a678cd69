"""Pure drawing onto a pygame Surface: grid raster, vector overlays, side panels, timeline, status and help.

Nothing here opens a window or reads an episode: every function takes a Surface, a Rect and plain data,
so the whole viewer can be drawn (and tested) off-screen.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout: exports may be piped
import pygame  # noqa: E402

from replay import overlays as O

BG = (22, 24, 28)
PANEL_BG = (32, 35, 41)
FG = (225, 228, 234)
DIM = (140, 146, 158)
ACCENT = (255, 214, 10)
WARN = (255, 96, 80)
GRID_BORDER = (90, 96, 108)
CURVE_COLOURS = ((46, 184, 82), (245, 166, 35), (120, 170, 255))

STATUS_H = 46
TIMELINE_H = 56
MARGIN = 8


@dataclass(frozen=True)
class Rects:
    """Where each part of the viewer goes for a window size."""

    status: pygame.Rect
    grid: pygame.Rect
    timeline: pygame.Rect
    legend: pygame.Rect
    pegs: pygame.Rect
    curves: pygame.Rect
    posteriors: pygame.Rect


def layout(size: tuple[int, int]) -> Rects:
    """Return the rectangles of every part for a window of ``size`` pixels."""
    w, h = max(size[0], 320), max(size[1], 240)
    panel_w = int(min(max(0.3 * w, 240), 380))
    body_h = h - STATUS_H - TIMELINE_H
    grid = pygame.Rect(MARGIN, STATUS_H, w - panel_w - 2 * MARGIN, body_h - MARGIN)
    x = grid.right + MARGIN
    inner_w = w - x - MARGIN
    legend_h = min(168, int(body_h * 0.3))
    rest = body_h - legend_h - 4 * MARGIN
    pegs_h, curves_h = int(rest * 0.28), int(rest * 0.44)
    y = STATUS_H
    legend = pygame.Rect(x, y, inner_w, legend_h)
    pegs = pygame.Rect(x, legend.bottom + MARGIN, inner_w, pegs_h)
    curves = pygame.Rect(x, pegs.bottom + MARGIN, inner_w, curves_h)
    posteriors = pygame.Rect(x, curves.bottom + MARGIN, inner_w, body_h - (curves.bottom + MARGIN - y) - MARGIN)
    timeline = pygame.Rect(MARGIN, h - TIMELINE_H, w - 2 * MARGIN, TIMELINE_H - MARGIN)
    return Rects(pygame.Rect(0, 0, w, STATUS_H), grid, timeline, legend, pegs, curves, posteriors)


class Text:
    """Render text with pygame's default font, caching the rendered surfaces (panels redraw every frame)."""

    def __init__(self):
        """Initialise pygame's font module (works without a display)."""
        pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._cache: dict[tuple, pygame.Surface] = {}

    def render(self, text: str, size: int = 15, colour=FG) -> pygame.Surface:
        """Return ``text`` rendered at ``size`` points in ``colour``."""
        key = (text, size, colour)
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) > 2000:  # the tick number changes every frame: keep the cache bounded
                self._cache.clear()
            font = self._fonts.get(size) or self._fonts.setdefault(size, pygame.font.Font(None, size))
            surf = self._cache[key] = font.render(text, True, colour)
        return surf

    def draw(self, surface: pygame.Surface, text: str, pos, size: int = 15, colour=FG,
             anchor: str = "topleft") -> pygame.Rect:
        """Draw ``text`` with its ``anchor`` point at ``pos``; return the rectangle it covers."""
        surf = self.render(text, size, colour)
        rect = surf.get_rect(**{anchor: (int(pos[0]), int(pos[1]))})
        surface.blit(surf, rect)
        return rect


# -- grid geometry ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """Which cells the pixels of the visible grid show: runs of equal cells along each axis."""

    x0: int
    y0: int
    rows: np.ndarray         # visible cell rows, increasing
    row_counts: np.ndarray   # screen pixels per visible row
    cols: np.ndarray
    col_counts: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """Return the (width, height) in pixels of the visible grid."""
        return int(self.col_counts.sum()), int(self.row_counts.sum())

    def expand(self, sub: np.ndarray) -> np.ndarray:
        """Blow a (rows, cols, ...) sub-grid up to screen pixels (H, W, ...) by repeating cells."""
        return np.repeat(np.repeat(sub, self.row_counts, axis=0), self.col_counts, axis=1)


def _runs(start: int, stop: int, origin: float, scale: float, cells: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Return the first pixel, the cells and the pixels per cell along one axis of the grid rectangle."""
    px = np.arange(start, stop)
    cell = np.floor((px + 0.5 - origin) / scale).astype(np.int64)  # the cell under each pixel centre
    ok = (cell >= 0) & (cell < cells)
    if not ok.any():
        return start, np.zeros(0, np.int64), np.zeros(0, np.int64)
    cells_seen, counts = np.unique(cell[ok], return_counts=True)
    return int(px[ok][0]), cells_seen, counts


class GridView:
    """Zoom and pan of a G×G grid inside a screen rectangle; maps cells to pixels and back."""

    MAX_ZOOM = 256.0

    def __init__(self, size: int):
        """Start fitted: the whole grid visible and centred."""
        self.size = size
        self.reset()
        self._sampling: tuple[tuple, Sampling | None] | None = None

    def reset(self) -> None:
        """Fit the whole grid in the rectangle."""
        self.zoom = 1.0
        self.centre = (self.size / 2, self.size / 2)  # (x = column, y = row) in cell units

    def scale(self, rect: pygame.Rect) -> float:
        """Return the pixels per cell."""
        return max(min(rect.w, rect.h), 1) / self.size * self.zoom

    def origin(self, rect: pygame.Rect) -> tuple[float, float]:
        """Return the screen position of the top-left corner of cell (0, 0)."""
        s = self.scale(rect)
        return rect.centerx - self.centre[0] * s, rect.centery - self.centre[1] * s

    def to_pixel(self, rect: pygame.Rect, row: float, col: float) -> tuple[float, float]:
        """Return the screen position of a point given in cell units (row, col)."""
        ox, oy = self.origin(rect)
        s = self.scale(rect)
        return ox + col * s, oy + row * s

    def cell_to_pixel(self, rect: pygame.Rect, i: int, j: int) -> tuple[int, int]:
        """Return the screen pixel at the centre of cell (row i, column j)."""
        x, y = self.to_pixel(rect, i + 0.5, j + 0.5)
        return int(math.floor(x)), int(math.floor(y))

    def pixel_to_cell(self, rect: pygame.Rect, x: float, y: float) -> tuple[int, int] | None:
        """Return the (row, column) of the cell under a screen pixel, or None outside the grid."""
        ox, oy = self.origin(rect)
        s = self.scale(rect)
        i, j = math.floor((y + 0.5 - oy) / s), math.floor((x + 0.5 - ox) / s)
        return (i, j) if rect.collidepoint(x, y) and 0 <= i < self.size and 0 <= j < self.size else None

    def zoom_at(self, rect: pygame.Rect, factor: float, pos) -> None:
        """Zoom by ``factor`` keeping the point under ``pos`` where it is."""
        s = self.scale(rect)
        ux = self.centre[0] + (pos[0] - rect.centerx) / s
        uy = self.centre[1] + (pos[1] - rect.centery) / s
        self.zoom = min(max(self.zoom * factor, 1.0), self.MAX_ZOOM)
        s = self.scale(rect)
        self.centre = (ux - (pos[0] - rect.centerx) / s, uy - (pos[1] - rect.centery) / s)
        self._clamp()

    def pan(self, rect: pygame.Rect, dx: float, dy: float) -> None:
        """Move the grid by (dx, dy) screen pixels."""
        s = self.scale(rect)
        self.centre = (self.centre[0] - dx / s, self.centre[1] - dy / s)
        self._clamp()

    def _clamp(self) -> None:
        """Keep the view centre on the grid, so it can never be panned out of sight."""
        self.centre = tuple(min(max(c, 0.0), float(self.size)) for c in self.centre)

    def key(self, rect: pygame.Rect) -> tuple:
        """Return a value that changes whenever the pixel ↔ cell mapping does."""
        return (tuple(rect), self.zoom, self.centre)

    def sampling(self, rect: pygame.Rect) -> Sampling | None:
        """Return the visible cells and their pixel runs (cached until the view changes); None if none."""
        key = self.key(rect)
        if self._sampling is None or self._sampling[0] != key:
            ox, oy = self.origin(rect)
            s = self.scale(rect)
            x0, cols, col_counts = _runs(rect.left, rect.right, ox, s, self.size)
            y0, rows, row_counts = _runs(rect.top, rect.bottom, oy, s, self.size)
            value = Sampling(x0, y0, rows, row_counts, cols, col_counts) if len(rows) and len(cols) else None
            self._sampling = (key, value)
        return self._sampling[1]


def blit_rgb(surface: pygame.Surface, image: np.ndarray, pos) -> None:
    """Blit an (H, W, 3) u8 C-contiguous image at ``pos``."""
    h, w = image.shape[:2]
    surface.blit(pygame.image.frombuffer(np.ascontiguousarray(image), (w, h), "RGB"), pos)


def blit_words(surface: pygame.Surface, image: np.ndarray, pos) -> None:
    """Blit an (H, W) uint32 image of packed colours (bytes R, G, B, X; see replay.overlays) at ``pos``."""
    h, w = image.shape
    surface.blit(pygame.image.frombuffer(np.ascontiguousarray(image), (w, h), "RGBX"), pos)


def draw_radius(surface: pygame.Surface, rect: pygame.Rect, view: GridView, radius: float) -> None:
    """Draw the circle of a stage radius (difficulty units: distance from the centre over G/2)."""
    c = (view.size - 1) / 2 + 0.5  # the difficulty formula's centre, in cell units (cell edges at integers)
    x, y = view.to_pixel(rect, c, c)
    r = radius * view.size / 2 * view.scale(rect)
    if r < 1 or r > 1e6:
        return
    surface.set_clip(rect)
    pygame.draw.circle(surface, ACCENT, (round(x), round(y)), round(r), width=2)
    surface.set_clip(None)


def draw_path(surface: pygame.Surface, rect: pygame.Rect, view: GridView, centres: np.ndarray, prefix: int,
              tile: int) -> None:
    """Draw the move path through tile centres (composed prefix bright, rest dim) and mark the next move."""
    if len(centres) < 1:
        return
    ox, oy = view.origin(rect)
    s = view.scale(rect)

    def to_pixels(c: np.ndarray) -> np.ndarray:
        """(row, col) tile centres → (x, y) pixels."""
        return np.stack([ox + c[:, 1] * s, oy + c[:, 0] * s], axis=1)

    surface.set_clip(rect)
    step = max(1, len(centres) // 20000)  # a million-move path goes through every n-th tile: same shape, 50× less
    roomy = tile * s >= 8  # below that, path lines would stripe the whole grid: show only the composed part
    if len(centres) > 1 and roomy:
        pygame.draw.lines(surface, (150, 150, 160), False, to_pixels(centres[::step]).tolist(), 1)
    if prefix > 1:
        pygame.draw.lines(surface, (255, 255, 255), False, to_pixels(centres[:prefix:step]).tolist(),
                          2 if roomy else 1)
    if prefix < len(centres):
        half = max(tile * s / 2, 3)
        x, y = to_pixels(centres[prefix:prefix + 1])[0]
        pygame.draw.rect(surface, ACCENT, pygame.Rect(round(x - half), round(y - half), round(2 * half),
                                                      round(2 * half)), 2)
    surface.set_clip(None)


# -- panels -------------------------------------------------------------------------------------------------------


def panel(surface: pygame.Surface, rect: pygame.Rect, text: Text, title: str) -> pygame.Rect:
    """Draw a panel background and title; return the inner rectangle left for content."""
    pygame.draw.rect(surface, PANEL_BG, rect, border_radius=4)
    text.draw(surface, title, (rect.x + 6, rect.y + 4), 16, DIM)
    return pygame.Rect(rect.x + 6, rect.y + 20, rect.w - 12, rect.h - 24)


def draw_status(surface: pygame.Surface, rect: pygame.Rect, text: Text, lines: list[list[tuple[str, tuple]]]) -> None:
    """Draw the status bar: each line is a list of (text, colour) segments."""
    surface.fill(BG, rect)
    y = rect.y + 5
    for segments in lines:
        x = rect.x + MARGIN
        for chunk, colour in segments:
            x = text.draw(surface, chunk, (x, y), 18, colour).right + 12
        y += 19


def draw_legend(surface: pygame.Surface, rect: pygame.Rect, text: Text, enabled: set[str],
                unavailable: set[str]) -> None:
    """Draw the state colours and the overlay toggles (key, name, on/off)."""
    inner = panel(surface, rect, text, "legend   (H: keys)")
    swatches = [(lbl, tuple(int(v) for v in c)) for lbl, c in zip(O.STATE_LABELS, O.STATE_COLOURS)]
    swatches.append(("no task", tuple(int(v) for v in O.NO_TASK)))
    swatches.append(("wrong move", tuple(int(v) for v in O.WRONG)))
    col_w = inner.w // 2
    line = 14
    for n, (label, colour) in enumerate(swatches):
        x = inner.x + (n % 2) * col_w
        y = inner.y + (n // 2) * line
        pygame.draw.rect(surface, colour, (x, y + 2, 10, 10))
        pygame.draw.rect(surface, GRID_BORDER, (x, y + 2, 10, 10), 1)
        text.draw(surface, label, (x + 14, y), 15)
    y0 = inner.y + ((len(swatches) + 1) // 2) * line + 4
    for n, overlay in enumerate(O.OVERLAYS):
        x = inner.x + (n % 2) * col_w
        y = y0 + (n // 2) * line
        if y + line > inner.bottom + 4:
            break
        on = overlay.name in enabled
        colour = DIM if overlay.name in unavailable else (ACCENT if on else FG)
        mark = "[x]" if on else "[ ]"
        text.draw(surface, f"{overlay.key} {mark} {overlay.name}", (x, y), 15, colour)
    ramps = [(O.VIRIDIS, "low", "high", {"competence", "confidence"}),
             (O.MAGMA, "centre/early", "edge/late", {"difficulty", "completed"})]
    y = inner.bottom - 12
    for n, (ramp, lo, hi, names) in enumerate(ramps):
        if enabled & names:  # a colour bar for each active scalar overlay ramp
            x = inner.x + n * col_w
            left = text.draw(surface, lo, (x, y), 14, DIM).right + 3
            right = x + col_w - 6 - text.render(hi, 14).get_width()
            text.draw(surface, hi, (right, y), 14, DIM)
            if right - left > 8:
                strip = np.ascontiguousarray(np.repeat(ramp[np.linspace(0, 255, right - left - 3).astype(int)][None],
                                                       9, axis=0))
                blit_rgb(surface, strip, (left, y + 2))


def disk_colour(disk: int, disks: int) -> tuple[int, int, int]:
    """Return the colour of a disk: small disks dark, large disks bright."""
    return tuple(int(v) for v in O.VIRIDIS[int(40 + 215 * disk / max(disks - 1, 1))])


def draw_pegs(surface: pygame.Surface, rect: pygame.Rect, text: Text, stacks: list[np.ndarray], disks: int,
              caption: str) -> list[tuple[int, int, pygame.Rect]]:
    """Draw the Hanoi pegs with their disks (width ∝ size, bottom to top); return (peg, disk, rect) drawn."""
    inner = panel(surface, rect, text, caption)
    slot = inner.w / max(len(stacks), 1)
    base_y = inner.bottom - 4
    disk_h = max(2, min(18, (inner.h - 10) // max(disks + 1, 1)))
    drawn = []
    for p, stack in enumerate(stacks):
        cx = inner.x + slot * (p + 0.5)
        pygame.draw.line(surface, DIM, (cx, base_y), (cx, base_y - disk_h * (disks + 0.5)), 2)
        pygame.draw.line(surface, DIM, (cx - slot * 0.45, base_y), (cx + slot * 0.45, base_y), 2)
        for level, d in enumerate(stack.tolist()):
            width = max(round(slot * 0.9 * (d + 1) / max(disks, 1)), 4)
            box = pygame.Rect(round(cx - width / 2), base_y - (level + 1) * disk_h, width, max(disk_h - 1, 1))
            pygame.draw.rect(surface, disk_colour(d, disks), box)
            drawn.append((p, d, box))
    return drawn


@dataclass(frozen=True)
class Curve:
    """One small curve: points normalised to [0, 1] on both axes, and its current value as text."""

    label: str
    x: np.ndarray
    y: np.ndarray
    value: str


def curve_points(rect: pygame.Rect, x: np.ndarray, y: np.ndarray) -> list:
    """Return screen points of a normalised curve, at most two per pixel column."""
    if len(x) > 2 * rect.w:
        keep = np.unique(np.linspace(0, len(x) - 1, 2 * rect.w).astype(np.int64))
        x, y = x[keep], y[keep]
    return np.stack([rect.x + x * rect.w, rect.bottom - y * rect.h], axis=1).tolist()


def draw_curves(surface: pygame.Surface, rect: pygame.Rect, text: Text, curves: list[Curve],
                cursor: float | None) -> None:
    """Draw small stacked curves sharing the timeline's tick axis, with a cursor at fraction ``cursor``."""
    inner = panel(surface, rect, text, "curves")
    if not curves:
        text.draw(surface, "no metrics recorded", inner.topleft, 15, DIM)
        return
    h = inner.h // len(curves)
    for n, (curve, colour) in enumerate(zip(curves, CURVE_COLOURS * 3)):
        box = pygame.Rect(inner.x, inner.y + n * h + 14, inner.w, h - 18)
        text.draw(surface, curve.label, (box.x, box.y - 14), 15, colour)
        text.draw(surface, curve.value, (box.right, box.y - 14), 15, FG, "topright")
        pygame.draw.rect(surface, (44, 48, 56), box)
        if len(curve.x) > 1:
            pygame.draw.lines(surface, colour, False, curve_points(box, curve.x, curve.y), 2)
        if cursor is not None:
            cx = box.x + cursor * box.w
            pygame.draw.line(surface, ACCENT, (cx, box.y), (cx, box.bottom), 1)


def draw_posteriors(surface: pygame.Surface, rect: pygame.Rect, text: Text, means: np.ndarray | None,
                    updated: np.ndarray | None, caption: str) -> None:
    """Draw the manager's posterior mean per zone as bars (bright: updated this tick)."""
    inner = panel(surface, rect, text, caption)
    if means is None or len(means) == 0:
        text.draw(surface, "no curriculum recorded", inner.topleft, 15, DIM)
        return
    z = len(means)
    bar_w = inner.w / z
    pygame.draw.line(surface, DIM, (inner.x, inner.bottom), (inner.right, inner.bottom), 1)
    pygame.draw.line(surface, (60, 64, 72), (inner.x, inner.centery), (inner.right, inner.centery), 1)
    for k in range(z):
        m = float(means[k])
        if not math.isfinite(m):
            continue
        bright = updated is not None and bool(updated[k])
        colour = (120, 170, 255) if bright else (70, 96, 140)
        h = max(1, round(m * inner.h))
        pygame.draw.rect(surface, colour, pygame.Rect(round(inner.x + k * bar_w), inner.bottom - h,
                                                      max(1, math.floor(bar_w) - (1 if bar_w > 3 else 0)), h))


def timeline_bar(rect: pygame.Rect) -> pygame.Rect:
    """Return the bar of the timeline: the strip whose x axis maps to ticks."""
    return pygame.Rect(rect.x + 8, rect.y + 6, rect.w - 16, rect.h - 26)


def timeline_x(rect: pygame.Rect, t0: int, t1: int, tick: float) -> float:
    """Return the x of a tick on the timeline."""
    bar = timeline_bar(rect)
    return bar.x + (tick - t0) / max(t1 - t0, 1) * (bar.w - 1)


def timeline_tick(rect: pygame.Rect, t0: int, t1: int, x: float) -> int:
    """Return the tick under x on the timeline (clamped to [t0, t1])."""
    bar = timeline_bar(rect)
    frac = (x - bar.x) / max(bar.w - 1, 1)
    return int(round(t0 + min(max(frac, 0.0), 1.0) * (t1 - t0)))


def draw_timeline(surface: pygame.Surface, rect: pygame.Rect, text: Text, t0: int, t1: int, tick: int,
                  density: np.ndarray | None, marks: np.ndarray, label: str,
                  errors: np.ndarray | None = None) -> None:
    """Draw the timeline: moves composed per pixel column (bars), stage changes (ticks), the ticks at which wrong
    moves entered the plan (pink, from the bottom), cursor and labels."""
    pygame.draw.rect(surface, PANEL_BG, rect, border_radius=4)
    bar = timeline_bar(rect)
    pygame.draw.rect(surface, (44, 48, 56), bar)
    if density is not None and len(density) and density.max() > 0:
        # bins stretched over the pixel columns and drawn as an image: no Python loop over columns
        density = density[np.arange(bar.w) * len(density) // bar.w]
        heights = np.round(density / density.max() * (bar.h - 2)).astype(np.int64)
        rows = np.arange(bar.h)[:, None]
        image = np.empty((bar.h, bar.w, 3), np.uint8)
        image[...] = (44, 48, 56)
        image[(rows >= bar.h - 1 - heights[None, :]) & (heights[None, :] > 0) & (rows < bar.h - 1)] = (46, 120, 70)
        blit_rgb(surface, image, bar.topleft)
    for t in marks.tolist():
        x = timeline_x(rect, t0, t1, t)
        pygame.draw.line(surface, (120, 170, 255), (x, bar.y), (x, bar.y + 6), 2)
    if errors is not None and len(errors):
        colour = tuple(int(v) for v in O.WRONG)
        for t in np.unique(errors).tolist():  # one mark per tick, however many errors entered in it
            x = timeline_x(rect, t0, t1, t)
            pygame.draw.line(surface, colour, (x, bar.bottom - 10), (x, bar.bottom - 1), 2)
    x = timeline_x(rect, t0, t1, tick)
    pygame.draw.line(surface, ACCENT, (x, bar.y - 3), (x, bar.bottom + 3), 3)
    text.draw(surface, str(t0), (bar.x, bar.bottom + 3), 15, DIM)
    text.draw(surface, str(t1), (bar.right, bar.bottom + 3), 15, DIM, "topright")
    text.draw(surface, label, (bar.centerx, bar.bottom + 3), 15, FG, "midtop")


def draw_help(surface: pygame.Surface, rect: pygame.Rect, text: Text, rows: list[tuple[str, str]]) -> None:
    """Draw the key help as a box over ``rect``."""
    h = 28 + 17 * len(rows)
    box = pygame.Rect(0, 0, min(rect.w - 20, 460), min(h, rect.h - 20))
    box.center = rect.center
    pygame.draw.rect(surface, (16, 17, 20), box, border_radius=6)
    pygame.draw.rect(surface, GRID_BORDER, box, 1, border_radius=6)
    text.draw(surface, "keys   (H, ? or Esc closes)", (box.x + 12, box.y + 8), 17, ACCENT)
    for n, (keys, what) in enumerate(rows):
        y = box.y + 28 + 17 * n
        if y + 17 > box.bottom:
            break
        text.draw(surface, keys, (box.x + 12, y), 16, ACCENT)
        text.draw(surface, what, (box.x + 130, y), 16, FG)
