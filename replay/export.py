"""Headless export of the viewer: one tick to PNG, a range of ticks to an animated GIF (no window opened)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from replay.schema import EpisodeError

PNG_SIZE = (1280, 800)
GIF_SIZE = (960, 600)
MAX_GIF_FRAMES = 400


def ensure_headless() -> None:
    """Use SDL's dummy video driver when there is no display, so pygame never needs one."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def _viewer(folder, world, tick, size, overlays):
    """Return an off-screen Viewer (imported late, after the SDL driver is chosen)."""
    ensure_headless()
    from replay.viewer import Viewer

    viewer = Viewer(folder, world=world, tick=tick, size=size, overlays=overlays)
    viewer.interactive = False  # an image: no "paused", no "click or drag to seek"
    return viewer


def default_png_tick(t0: int, t1: int) -> int:
    """Return the tick a PNG shows when none is asked: the episode's middle tick. The last frame of a complete
    episode is all green and shows the least; mid-episode shows the curriculum at work."""
    return (t0 + t1) // 2


def export_png(folder: os.PathLike | str, out: os.PathLike | str, world: int | None = None, tick: int | None = None,
               size: tuple[int, int] = PNG_SIZE, overlays=None) -> Path:
    """Render one tick (default: the episode's middle tick, default_png_tick) to a PNG file; return its path."""
    viewer = _viewer(folder, world, tick, size, overlays)
    if tick is None:
        data = viewer.data()
        viewer.seek(default_png_tick(data.t0, data.t1))
    return viewer.screenshot(out)


def gif_ticks(frame_ticks: np.ndarray, t_from: int, t_to: int, step: int | None,
              max_frames: int = MAX_GIF_FRAMES) -> np.ndarray:
    """Return the ticks a GIF shows: every recorded frame in [t_from, t_to] (or every ``step`` ticks), capped."""
    if step is None:
        ticks = frame_ticks[(frame_ticks >= t_from) & (frame_ticks <= t_to)]
        if not len(ticks):
            ticks = np.array([t_from])
    else:
        ticks = np.arange(t_from, t_to + 1, step)
    if len(ticks) > max_frames:  # keep the GIF a size a browser shows: sample evenly, keep both ends
        ticks = ticks[np.unique(np.linspace(0, len(ticks) - 1, max_frames).round().astype(np.int64))]
    return ticks


def export_gif(folder: os.PathLike | str, out: os.PathLike | str, world: int | None = None,
               t_from: int | None = None, t_to: int | None = None, fps: float = 10.0, step: int | None = None,
               size: tuple[int, int] = GIF_SIZE, overlays=None) -> tuple[Path, int]:
    """Render ticks t_from..t_to of an episode to an animated GIF; return its path and the frame count."""
    from PIL import Image

    viewer = _viewer(folder, world, None, size, overlays)
    import pygame  # after the viewer: it silences pygame's banner and picks the video driver
    data = viewer.data()
    a = data.t0 if t_from is None else t_from
    b = data.t1 if t_to is None else t_to
    for name, t in (("--from", a), ("--to", b)):
        if not data.t0 <= t <= data.t1:
            raise EpisodeError(f"{name} {t} is outside the episode (ticks {data.t0}..{data.t1})")
    if a > b:
        raise EpisodeError(f"--from {a} is after --to {b}")
    if fps <= 0 or (step is not None and step <= 0):
        raise EpisodeError("--fps and --step must be positive")
    surface = pygame.Surface(size)
    images = []
    for tick in gif_ticks(data.frame_ticks, a, b, step).tolist():
        viewer.seek(tick)
        viewer.render(surface)
        image = Image.frombytes("RGB", size, pygame.image.tobytes(surface, "RGB"))
        images.append(image.quantize(colors=255, method=Image.Quantize.FASTOCTREE))
    out = Path(out)
    images[0].save(out, save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)), loop=0)
    return out, len(images)
