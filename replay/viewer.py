"""The pygame replay viewer: input handling, rendering, and the window loop (episode data: replay/world_data.py).

``Viewer`` holds no window: ``handle(event)``, ``update(dt)`` and ``render(surface)`` drive it, so tests and
the exporter use it off-screen; ``open_viewer`` wraps it in a resizable window.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout: exports may be piped
import pygame  # noqa: E402

from replay import draw as D
from replay import overlays as O
from replay.reader import Episode, Frame
from replay.schema import EpisodeError
from replay.world_data import WorldData, last_index_at, load_static

DEFAULT_SPEED = 10.0              # ticks per second
MIN_SPEED, MAX_SPEED = 0.25, 4096.0
REFRESH_S = 0.25                  # how often a followed episode is re-read
DEFAULT_SIZE = (1280, 800)
ZOOM_STEP = 1.25

HELP_ROWS = [
    ("space", "play / pause"),
    ("← →", "previous / next recorded frame (shift: one tick)"),
    ("↑ ↓", "speed ×2 / ÷2"),
    ("Home End", "first / last tick (End: follow the newest)"),
    ("click, drag", "on the timeline: seek"),
    ("wheel", "zoom at the mouse"),
    ("drag", "on the grid: pan     F or 0: fit"),
    ("1 … 9, E", "toggle overlays (see the legend); E: wrong moves"),
    ("Tab", "next world (shift: previous)"),
    ("S", "save a screenshot (PNG)"),
    ("H or ?", "this help"),
    ("Esc or Q", "quit"),
]


class Viewer:
    """Replay state and drawing of one episode: current world, tick, speed, overlays, zoom and pan.

    Drive it with ``handle(event)`` (pygame events), ``update(dt)`` (seconds of wall time) and
    ``render(surface)``; the window loop in ``open_viewer`` does exactly that at the display's rate.
    """

    def __init__(self, episode: Episode | os.PathLike | str, world: int | None = None, tick: int | None = None,
                 speed: float = DEFAULT_SPEED, follow: bool = False, size: tuple[int, int] = DEFAULT_SIZE,
                 overlays=None, screenshot_dir: os.PathLike | str = ".", playing: bool = False):
        """Open the episode and check ``world`` and ``tick`` (EpisodeError, one line, when they are bad)."""
        self.episode = episode if isinstance(episode, Episode) else Episode.open(episode)
        self.static = load_static(self.episode)
        self.text = D.Text()
        self.view = D.GridView(self.episode.size)
        self.size = tuple(size)
        self.rects = D.layout(self.size)
        self.follow = follow
        self.speed = float(min(max(speed, MIN_SPEED), MAX_SPEED))
        self.enabled = set(O.DEFAULT_ON if overlays is None else overlays)
        self.screenshot_dir = Path(screenshot_dir)
        self.help = False
        self.running = True
        self.interactive = True  # False for exports: an image shows no play state and no mouse hints
        self.message = ""
        self._message_left = 0.0
        self._data: dict[int, WorldData] = {}
        self._frame: Frame | None = None
        self._frame_key = None
        self._image = None   # (key, Surface) of the composed grid
        self._subs = None    # (sampling key, static sub-grids, pixel masks)
        self._drag: str | None = None
        self._mouse = (0, 0)
        self.drawn_pegs: list = []  # (peg, disk, rect) of the last render, for tests and tooltips
        self._since_refresh = 0.0
        worlds = self.episode.worlds()
        if world is None:
            recorded = self.episode.manifest.get("recorded_worlds") or [0]
            world = worlds[0] if worlds else int(recorded[0])
        elif worlds and world not in worlds:
            raise EpisodeError(f"world {world} has no recorded frames (recorded: {worlds})")
        self.world = int(world)
        data = self.data()
        if tick is not None and not follow and not data.t0 <= tick <= data.t1:
            raise EpisodeError(f"tick {tick} is outside the episode (ticks {data.t0}..{data.t1})")
        self.live = follow and tick is None  # stick to the newest tick while following
        self._tick = float(tick if tick is not None else (data.t1 if self.live else data.t0))
        self.playing = playing

    # -- state ------------------------------------------------------------------------------------------------
    @property
    def tick(self) -> int:
        """Return the tick being shown (requested; the frame may be an earlier recorded one)."""
        return int(self._tick)

    def data(self, world: int | None = None) -> WorldData:
        """Return the cached per-world data (built on first use)."""
        w = self.world if world is None else world
        if w not in self._data:
            self._data[w] = WorldData(self.episode, self.static, w)
        return self._data[w]

    def seek(self, tick: float) -> None:
        """Show ``tick`` (clamped to the episode); seeking to the end while following goes live."""
        data = self.data()
        self._tick = float(min(max(tick, data.t0), data.t1))
        self.live = self.follow and self.tick >= data.t1

    def step(self, direction: int, one_tick: bool = False) -> None:
        """Go to the next (+1) or previous (-1) recorded frame, or by one tick; pause playback."""
        self.playing = False
        ticks = self.data().frame_ticks
        t = self.tick
        if one_tick or not len(ticks):
            self.seek(t + direction)
        elif direction > 0:
            j = int(np.searchsorted(ticks, t, side="right"))
            self.seek(ticks[j] if j < len(ticks) else t + 1)
        else:
            j = int(np.searchsorted(ticks, t, side="left")) - 1
            self.seek(ticks[j] if j >= 0 else t - 1)

    def set_world(self, world: int) -> None:
        """Switch to another recorded world, keeping the tick."""
        self.world = int(world)
        self.seek(self._tick)

    def cycle_world(self, direction: int = 1) -> None:
        """Switch to the next (or previous) recorded world."""
        worlds = self.episode.worlds()
        if len(worlds) > 1:
            i = worlds.index(self.world) if self.world in worlds else -1
            self.set_world(worlds[(i + direction) % len(worlds)])
            self.say(f"world {self.world}")

    def toggle(self, name: str) -> None:
        """Switch an overlay on or off."""
        self.enabled ^= {name}
        self.say(f"{name} {'on' if name in self.enabled else 'off'}")

    def say(self, message: str, seconds: float = 2.5) -> None:
        """Show a short message in the status bar."""
        self.message, self._message_left = message, seconds

    def cell_to_pixel(self, i: int, j: int) -> tuple[int, int]:
        """Return the screen pixel at the centre of cell (row i, column j)."""
        return self.view.cell_to_pixel(self.rects.grid, i, j)

    def pixel_to_cell(self, x: int, y: int) -> tuple[int, int] | None:
        """Return the (row, column) under a screen pixel, or None."""
        return self.view.pixel_to_cell(self.rects.grid, x, y)

    def timeline_x(self, tick: float) -> int:
        """Return the x of a tick on the timeline."""
        data = self.data()
        return round(D.timeline_x(self.rects.timeline, data.t0, data.t1, tick))

    def frame(self) -> Frame | None:
        """Return the frame shown at the current tick (nearest recorded at or before it), or None if none."""
        ticks = self.data().frame_ticks
        if not len(ticks):
            return None
        j = max(last_index_at(ticks, self.tick), 0)
        key = (self.world, int(ticks[j]))
        if key != self._frame_key:  # decode only when the shown frame changes, not on every tick
            self._frame = self.episode.frame(self.world, self.tick)
            self._frame_key = key
        f = self._frame
        return Frame(self.tick, f.tick_shown, f.tick_shown == self.tick, f.state, f.competence, f.confidence)

    # -- input ------------------------------------------------------------------------------------------------
    def handle(self, event: pygame.event.Event) -> None:
        """React to one pygame event (keys, mouse, wheel, quit)."""
        if hasattr(event, "pos"):
            self._mouse = event.pos  # wheel events carry no position: zoom where the mouse last was
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.KEYDOWN:
            self._key(event)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.rects.timeline.collidepoint(event.pos):
                self._drag = "timeline"
                self._seek_x(event.pos[0])
            elif self.rects.grid.collidepoint(event.pos):
                self._drag = "grid"
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._drag = None
        elif event.type == pygame.MOUSEMOTION and self._drag:
            if self._drag == "timeline":
                self._seek_x(event.pos[0])
            else:
                self.view.pan(self.rects.grid, *event.rel)
        elif event.type == pygame.MOUSEWHEEL:
            if self.rects.grid.collidepoint(self._mouse) and event.y:
                self.view.zoom_at(self.rects.grid, ZOOM_STEP ** event.y, self._mouse)

    def _seek_x(self, x: int) -> None:
        """Seek to the tick under x on the timeline (and pause)."""
        data = self.data()
        self.playing = False
        self.seek(D.timeline_tick(self.rects.timeline, data.t0, data.t1, x))

    def _key(self, event: pygame.event.Event) -> None:
        """React to a key press."""
        key, shift = event.key, bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT)
        data = self.data()
        if event.unicode == "?" or key == pygame.K_h:
            self.help = not self.help
        elif key in (pygame.K_ESCAPE, pygame.K_q):
            if self.help:
                self.help = False
            else:
                self.running = False
        elif key == pygame.K_SPACE:
            if self.live:  # pause a followed episode where it is; space again resumes toward the newest tick
                self.live = self.playing = False
            else:
                if not self.playing and self.tick >= data.t1 and not self.follow:
                    self.seek(data.t0)  # play again from the start
                self.playing = not self.playing
        elif key in (pygame.K_RIGHT, pygame.K_LEFT):
            self.step(1 if key == pygame.K_RIGHT else -1, one_tick=shift)
        elif key in (pygame.K_UP, pygame.K_DOWN):
            factor = 2.0 if key == pygame.K_UP else 0.5
            self.speed = min(max(self.speed * factor, MIN_SPEED), MAX_SPEED)
            self.say(f"speed {self.speed:g} ticks/s")
        elif key == pygame.K_HOME:
            self.seek(data.t0)
        elif key == pygame.K_END:
            self.seek(data.t1)
        elif key == pygame.K_TAB:
            self.cycle_world(-1 if shift else 1)
        elif key in (pygame.K_f, pygame.K_0, pygame.K_KP0):
            self.view.reset()
        elif key == pygame.K_s:
            self.say(f"saved {self.screenshot()}", 4.0)
        elif key == pygame.K_e:
            self.toggle("errors")
        else:
            number = _number_key(key)
            if number in O.BY_KEY:
                self.toggle(O.BY_KEY[number].name)

    # -- time -------------------------------------------------------------------------------------------------
    def update(self, dt: float) -> None:
        """Advance by ``dt`` seconds of wall time: playback at ``speed`` ticks/s, and re-reading when following."""
        self._message_left = max(self._message_left - dt, 0.0)
        if self.follow:
            self._since_refresh += dt
            if self._since_refresh >= REFRESH_S:
                self._since_refresh = 0.0
                self.refresh()
        data = self.data()
        if self.live:
            self._tick = float(data.t1)
        elif self.playing:
            self._tick += dt * self.speed
            if self._tick >= data.t1:
                self._tick = float(data.t1)
                self.live = self.follow
                self.playing = self.follow  # a followed episode keeps playing as it grows
            self._tick = max(self._tick, float(data.t0))

    def refresh(self) -> bool:
        """Re-read the episode from disk (new frames, moves, metrics); True when anything changed."""
        if not self.episode.refresh():
            return False
        self._data.clear()
        self._frame_key = None
        self._image = None
        if self.world not in self.episode.worlds() and self.episode.worlds():
            self.world = self.episode.worlds()[0]
        if self.live:
            self._tick = float(self.data().t1)
        return True

    # -- drawing ----------------------------------------------------------------------------------------------
    def render(self, surface: pygame.Surface) -> None:
        """Draw the whole viewer onto ``surface`` (its size sets the layout)."""
        size = surface.get_size()
        if size != self.size:
            self.size, self.rects = size, D.layout(size)
        surface.fill(D.BG)
        data = self.data()
        frame = self.frame()
        tick = self.tick
        radius = data.value("radius", tick)
        prefix = data.moves.prefix(tick)
        self._draw_grid(surface, data, frame, tick, radius)
        grid = self.rects.grid
        if "radius" in self.enabled and radius is not None:
            D.draw_radius(surface, grid, self.view, float(radius))
        if "path" in self.enabled:
            D.draw_path(surface, grid, self.view, self.static.centres, prefix, self.static.tile)
        if frame is None:
            self.text.draw(surface, "waiting for the first recorded frame…", grid.center, 22, D.ACCENT, "center")
        self._draw_panels(surface, data, frame, tick, radius, prefix)
        if self.help:
            D.draw_help(surface, pygame.Rect((0, 0), self.size), self.text, HELP_ROWS)

    def _sub_grids(self, sampling: D.Sampling, data: WorldData):
        """Return the visible sub-grid's layout layers and border pixels (cached until the view or world changes)."""
        key = (self.view.key(self.rects.grid), data.world, id(data))
        if self._subs is None or self._subs[0] != key:
            st = self.static
            move, zone, tile = (_take(a, sampling) for a in (st.move, st.zone, st.tile_id))
            layers = O.static_layers(move, zone, _take(st.difficulty, sampling))
            layers["done_tick"] = _take(data.cell_done_tick, sampling)
            layers["when"] = _take(data.cell_when, sampling)
            layers["wrong"] = _take(data.cell_wrong, sampling)
            tiles = O.edge_mask(sampling.expand(tile))
            if self.view.scale(self.rects.grid) >= 12:  # cell borders only once cells are big enough to see
                tiles |= O.edge_mask(sampling.expand(np.add.outer(sampling.rows * st.size, sampling.cols)))
            # border pixels as flat indices: darkening them then touches a few per cent of the image
            borders = {"zones": np.flatnonzero(O.edge_mask(sampling.expand(zone), thick=True)),
                       "tiles": np.flatnonzero(tiles)}
            self._subs = (key, layers, borders)
        return self._subs[1], self._subs[2]

    def _draw_grid(self, surface: pygame.Surface, data: WorldData, frame: Frame | None, tick: int,
                   radius) -> None:
        """Compose and blit the grid image (recomposed only when what it shows changes)."""
        grid = self.rects.grid
        sampling = self.view.sampling(grid)
        if sampling is None:
            return
        on = frozenset(self.enabled)
        errors = "errors" in on and len(data.moves.error_ticks) > 0
        key = (self.world, frame.tick_shown if frame else None, on, self.view.key(grid),
               tick if "completed" in on else None, radius if "locked" in on else None, id(data),
               data.moves.errors(tick) if errors else None)
        if self._image is None or self._image[0] != key:
            layers, borders = self._sub_grids(sampling, data)
            state = _take(frame.state, sampling) if frame else np.zeros(layers["no_task"].shape, np.uint8)
            words = O.compose(
                state, layers, on,
                competence=_take(frame.competence, sampling) if frame and "competence" in on else None,
                confidence=_take(frame.confidence, sampling) if frame and frame.confidence is not None
                and "confidence" in on else None,
                done=layers["done_tick"] <= tick if "completed" in on else None, when=layers["when"], radius=radius,
                wrong=layers["wrong"] & (layers["done_tick"] <= tick) if errors else None)
            image = sampling.expand(words)
            flat = image.reshape(-1)
            for name, kept in (("zones", 1), ("tiles", 3)):
                if name in on:
                    flat[borders[name]] = O.darken(flat[borders[name]], kept)
            self._image = (key, image, (sampling.x0, sampling.y0))
        _, image, pos = self._image
        D.blit_words(surface, image, pos)
        w, h = sampling.size
        pygame.draw.rect(surface, D.GRID_BORDER, pygame.Rect(pos[0] - 1, pos[1] - 1, w + 2, h + 2), 1)

    def _status_lines(self, data: WorldData, frame: Frame | None, tick: int, radius, prefix: int) -> list:
        """Return the two status lines as (text, colour) segments: what a screenshot needs to explain itself."""
        ep, m = self.episode, self.episode.manifest
        worlds = ep.worlds()
        name = m.get("scenario_name") or Path(ep.folder).name
        outcome = m.get("outcome")
        if isinstance(outcome, dict):
            outcome = outcome.get(str(self.world), "-")
        first = [("gridhanoi replay", D.ACCENT), (f"{name}  seed {m.get('seed', '?')}", D.FG),
                 (f"world {self.world}" + (f" ({worlds.index(self.world) + 1} of {len(worlds)})"
                                           if self.world in worlds else ""), D.FG),
                 (f"outcome {outcome}", D.DIM)]
        if ep.partial:
            first.append(("PARTIAL episode", D.WARN))
        if self.follow:
            first.append(("following" + (" (live)" if self.live else ""), (46, 184, 82)))
        if self.message and self._message_left > 0:
            first.append((self.message, D.ACCENT))
        shown = "no frame yet" if frame is None else f"frame {frame.tick_shown}" + (
            "" if frame.exact else " (nearest earlier frame)" if frame.tick_shown < tick else " (first recorded frame)")
        stage = data.value("stage", tick)
        oracle = data.value("oracle_calls", tick)
        second = [(f"tick {tick} / {data.t1}", D.FG), (shown, D.FG if frame and frame.exact else D.ACCENT),
                  ("stage -" if stage is None else f"stage {stage}" + ("" if radius is None else f"  R {radius:.2f}"),
                   D.FG),
                  (f"moves {data.moves.complete(tick)}/{self.static.n_moves}  prefix {prefix}", D.FG),
                  (f"oracle calls {'-' if oracle is None else oracle}", D.FG),
                  *self._error_segment(data, tick)]
        if self.interactive:
            second.append((f"{'playing' if self.playing or self.live else 'paused'}  {self.speed:g} ticks/s", D.DIM))
        return [first, second]

    @staticmethod
    def _error_segment(data: WorldData, tick: int) -> list:
        """The error counter of the status line: wrong moves composed by now and the first one (none shown for
        an episode recorded before moves carried the flag)."""
        if not data.moves.flags_known:
            return []
        n = data.moves.errors(tick)
        if n == 0:
            return [("errors 0", D.FG)]
        return [(f"errors {n} (first: move {data.moves.first_error(tick)})", D.WARN)]

    def _draw_panels(self, surface: pygame.Surface, data: WorldData, frame: Frame | None, tick: int, radius,
                     prefix: int) -> None:
        """Draw status, legend, pegs, curves, posteriors and timeline."""
        r = self.rects
        D.draw_status(surface, r.status, self.text, self._status_lines(data, frame, tick, radius, prefix))
        unavailable = set() if frame is not None and frame.confidence is not None else {"confidence"}
        D.draw_legend(surface, r.legend, self.text, self.enabled, unavailable)
        stacks = data.moves.pegs(tick, data.disks, data.pegs)
        self.drawn_pegs = D.draw_pegs(surface, r.pegs, self.text, stacks, data.disks,
                                      f"pegs after the complete prefix: {prefix} of {self.static.n_moves} moves")
        span = max(data.t1 - data.t0, 1)
        curves = []
        for label, ticks, values in data.curves():
            j = last_index_at(ticks, tick)
            top = max(float(values.max()), 1.0) if len(values) else 1.0
            curves.append(D.Curve(label, (ticks - data.t0) / span, values / top,
                                  "-" if j < 0 else f"{values[j]:g}"))
        D.draw_curves(surface, r.curves, self.text, curves, (tick - data.t0) / span)
        post = data.posterior(tick)
        caption = "manager posterior mean per zone" + ("" if post is None else f" (tick {post[2]})")
        D.draw_posteriors(surface, r.posteriors, self.text, None if post is None else post[0],
                          None if post is None else post[1], caption)
        bar = D.timeline_bar(r.timeline)
        bins = max(min(bar.w // 3, data.t1 - data.t0 + 1), 1)  # bars at least 3 px wide, at most one per tick
        density = self._move_density(data, bins)
        errors = data.moves.error_ticks
        label = "moves composed (bars), stage changes (blue)" + (", wrong moves (pink)" if len(errors) else "")
        D.draw_timeline(surface, r.timeline, self.text, data.t0, data.t1, tick, density, data.stage_marks(),
                        label + (" — click or drag to seek" if self.interactive else ""), errors=errors)

    def _move_density(self, data, bins: int):
        """Moves composed per timeline bar, cached: a million-move episode would otherwise re-bin every frame."""
        key = (id(data), bins, data.t0, data.t1, len(data.moves.sorted_ticks))
        if getattr(self, "_density_key", None) != key:
            ticks = data.moves.sorted_ticks
            self._density = np.histogram(ticks, bins=bins, range=(data.t0, data.t1 + 1))[0] if len(ticks) else None
            self._density_key = key
        return self._density

    def screenshot(self, path: os.PathLike | str | None = None) -> Path:
        """Render the current view to a PNG file and return its path."""
        if path is None:
            path = self.screenshot_dir / f"gridhanoi-{Path(self.episode.folder).name}-w{self.world}-t{self.tick}.png"
        surface = pygame.Surface(self.size)
        self.render(surface)
        pygame.image.save(surface, str(path))
        return Path(path)


def _number_key(key: int) -> int | None:
    """Return the digit of a number key (main row or keypad), or None."""
    if pygame.K_0 <= key <= pygame.K_9:
        return key - pygame.K_0
    keypad = (pygame.K_KP0, pygame.K_KP1, pygame.K_KP2, pygame.K_KP3, pygame.K_KP4, pygame.K_KP5, pygame.K_KP6,
              pygame.K_KP7, pygame.K_KP8, pygame.K_KP9)
    return keypad.index(key) if key in keypad else None


def _take(arr: np.ndarray, sampling: D.Sampling) -> np.ndarray:
    """Return the visible sub-grid of a (G, G) array: slices when the cells are contiguous (zoomed in)."""
    rows, cols = sampling.rows, sampling.cols
    r = slice(rows[0], rows[-1] + 1) if rows[-1] - rows[0] + 1 == len(rows) else rows
    c = slice(cols[0], cols[-1] + 1) if cols[-1] - cols[0] + 1 == len(cols) else cols
    if isinstance(r, slice) or isinstance(c, slice):
        return arr[r][:, c]
    return arr[np.ix_(r, c)]


def _has_display() -> bool:
    """Tell whether a window can be opened (an X11/Wayland display, another OS, or an SDL driver chosen)."""
    if os.environ.get("SDL_VIDEODRIVER") or not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _wait_for_episode(folder, timeout: float) -> Episode:
    """Open an episode, retrying while its writer has not created it yet (following a run that starts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Episode.open(folder)
        except EpisodeError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(REFRESH_S)


def open_viewer(folder: os.PathLike | str, world: int | None = None, tick: int | None = None,
                speed: float = DEFAULT_SPEED, follow: bool = False, size: tuple[int, int] = DEFAULT_SIZE,
                overlays=None, max_frames: int | None = None, wait_s: float = 30.0) -> int:
    """Open the replay window on an episode and run until closed; return 0 (EpisodeError on bad input)."""
    episode = _wait_for_episode(folder, wait_s) if follow else Episode.open(folder)
    if not _has_display():
        raise EpisodeError("no display to open a window on; use --export FILE (or set SDL_VIDEODRIVER)")
    viewer = Viewer(episode, world=world, tick=tick, speed=speed, follow=follow, size=size, overlays=overlays,
                    playing=not follow)
    pygame.display.init()
    try:
        pygame.display.set_mode(size, pygame.RESIZABLE)
        pygame.display.set_caption(f"gridhanoi replay — {Path(folder).name}")
        pygame.key.set_repeat(300, 40)  # hold ←/→ to scrub
        rate = _refresh_rate()
        clock = pygame.time.Clock()
        frames = 0
        while viewer.running and (max_frames is None or frames < max_frames):
            for event in pygame.event.get():
                viewer.handle(event)
            # clock-based: playback advances by wall time, so drawing keeps the display's rate at any speed
            viewer.update(clock.tick(rate) / 1000.0)
            viewer.render(pygame.display.get_surface())
            pygame.display.flip()
            frames += 1
    finally:
        pygame.display.quit()
    return 0


def follow(folder: os.PathLike | str, world: int | None = None) -> int:
    """Open a window that keeps up with an episode a run is still writing (for `gridhanoi run --view`)."""
    return open_viewer(folder, world=world, follow=True)


def _refresh_rate() -> int:
    """Return the display's refresh rate in Hz (60 when unknown)."""
    try:
        rate = pygame.display.get_current_refresh_rate()
    except (AttributeError, pygame.error):
        rate = 0
    return rate if rate and rate > 0 else 60
