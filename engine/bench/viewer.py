"""Measure the replay viewer: frame time on 64×64 and 1024×1024 episodes, seek time in a long episode.

`gridhanoi bench` calls `viewer_timings`; the fuller report (idle, zoomed, every overlay, your own recorded
episodes) is a command of its own:

    SDL_VIDEODRIVER=dummy .venv/bin/python -m engine.bench.viewer [--quick] [--episode EPISODE] [--shot FILE]

Frame times are measured off-screen (``Viewer.render`` on a Surface, what the window loop does minus the flip), at
the default window size, with the default overlays (stage radius, path).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.bench.stats import spread


def headless() -> None:
    """Render off-screen and keep pygame quiet: set before pygame is first imported."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def frame_times(viewer, ticks, surface) -> list[float]:
    """Return the seconds each render took, seeking to each tick first (a new frame every render)."""
    out = []
    for t in ticks:
        t0 = time.perf_counter()
        viewer.seek(int(t))
        viewer.render(surface)
        out.append(time.perf_counter() - t0)
    return out


def seek_times(viewer, ticks) -> list[float]:
    """Return the seconds each seek took (decode the frame at a tick, no drawing)."""
    out = []
    for t in ticks:
        t0 = time.perf_counter()
        viewer.seek(int(t))
        viewer.frame()
        out.append(time.perf_counter() - t0)
    return out


def viewer_timings(quick: bool = False) -> dict:
    """Viewer frame time (seek + render of a new frame) and seek time (decode one frame) on synthetic episodes."""
    headless()
    import pygame

    from engine.bench.synthetic_episode import synthetic_episode
    from replay.viewer import DEFAULT_SIZE, Viewer

    n = 30 if quick else 60
    out = {"status": "measured", "window": list(DEFAULT_SIZE), "samples": n}
    surface = pygame.Surface(DEFAULT_SIZE)
    with tempfile.TemporaryDirectory(prefix="gridhanoi-viewer-") as tmp:
        # synthetic_episode(folder, size, tile, disks, ticks, frame_every)
        big_ticks = 256 if quick else 512
        for key, args in (("frame_64", (64, 4, 8, 600, 1)), ("frame_1024", (1024, 16, 12, big_ticks, 16))):
            v = Viewer(synthetic_episode(Path(tmp) / key, *args), size=DEFAULT_SIZE)
            ticks = v.data().frame_ticks
            play = ticks[np.linspace(0, len(ticks) - 1, n).astype(int)]
            frame_times(v, play[:3], surface)  # fonts and samplings warm
            out[f"{key}_s"] = spread(frame_times(v, play, surface))
        long_ticks = 2000 if quick else 10_000
        v = Viewer(synthetic_episode(Path(tmp) / "long", 64, 4, 8, long_ticks, 1), size=DEFAULT_SIZE)
        data = v.data()
        out["seek_s"] = spread(seek_times(v, np.random.default_rng(1).integers(data.t0, data.t1 + 1, n)))
        out["seek_episode_ticks"] = long_ticks
    return out


def summary(times: list[float]) -> str:
    """Return 'mean / p95 / max ms' of a list of seconds."""
    ms = np.array(times) * 1e3
    return f"mean {ms.mean():6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   max {ms.max():6.1f} ms"


def bench_frames(folder: Path, label: str, n: int) -> None:
    """Print frame times: playing (a new frame each render), idle (nothing changed), zoomed in, all overlays."""
    import pygame

    from replay.viewer import DEFAULT_SIZE, Viewer

    surface = pygame.Surface(DEFAULT_SIZE)
    v = Viewer(folder, size=DEFAULT_SIZE)
    ticks = v.data().frame_ticks
    play = ticks[np.linspace(0, len(ticks) - 1, n).astype(int)]
    frame_times(v, play[:3], surface)  # warm caches (fonts, samplings)
    print(f"{label:<28} playing:      {summary(frame_times(v, play, surface))}")
    print(f"{label:<28} idle:         {summary(frame_times(v, [play[-1]] * n, surface))}")
    v.view.zoom_at(v.rects.grid, 8.0, v.rects.grid.center)
    print(f"{label:<28} zoomed ×8:    {summary(frame_times(v, play, surface))}")
    v.view.reset()
    v.enabled = {"competence", "zones", "radius", "path", "completed", "tiles", "locked"}
    print(f"{label:<28} 7 overlays:   {summary(frame_times(v, play, surface))}")


def bench_seek(folder: Path, n: int) -> None:
    """Print the time to seek to random ticks (decode the frame) and to seek and draw."""
    import pygame

    from replay.viewer import DEFAULT_SIZE, Viewer

    surface = pygame.Surface(DEFAULT_SIZE)
    v = Viewer(folder, size=DEFAULT_SIZE)
    data = v.data()
    ticks = np.random.default_rng(1).integers(data.t0, data.t1 + 1, n)
    frame_times(v, ticks[:2], surface)
    n = f"{len(data.frame_ticks):,}"
    print(f"seek {n} recorded ticks   frame only:   {summary(seek_times(v, ticks))}")
    print(f"seek {n} recorded ticks   seek + draw:  {summary(frame_times(v, ticks[::-1], surface))}")


def main(argv=None) -> int:
    """Build the synthetic episodes in a temporary folder, measure, print."""
    import platform

    headless()
    import pygame

    from engine.bench.synthetic_episode import synthetic_episode
    from replay.viewer import Viewer

    parser = argparse.ArgumentParser(prog="python -m engine.bench.viewer", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller episodes and fewer samples")
    parser.add_argument("--shot", type=Path, help="also save a screenshot of the 64×64 episode here")
    parser.add_argument("--episode", type=Path, action="append", default=[],
                        help="also measure frame times on this recorded episode (e.g. from `gridhanoi run paper`)")
    parser.add_argument("--seek-episode", type=Path, action="append", default=[],
                        help="also measure seek times in this recorded episode (e.g. 10,000 ticks of paper-n12)")
    args = parser.parse_args(argv)
    n = 30 if args.quick else 120
    print(f"python {platform.python_version()}, pygame-ce {pygame.version.ver}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        small = synthetic_episode(tmp / "g64", 64, 4, 8, 600, 1, confidence=True)
        big = synthetic_episode(tmp / "g1024", 1024, 16, 12, 512 if args.quick else 1024, 16)
        long = synthetic_episode(tmp / "long", 64, 4, 8, 2000 if args.quick else 10_000, 1)
        print(f"wrote the synthetic episodes in {time.perf_counter() - t0:.1f} s")
        bench_frames(small, "64×64 (every tick)", n)
        bench_frames(big, "1024×1024 (every 16 ticks)", n // 2)
        bench_seek(long, n)
        for folder in args.episode:
            bench_frames(folder, f"{folder.name} (recorded)", n)
        for folder in args.seek_episode:
            bench_seek(folder, n)
        if args.shot:
            v = Viewer(small, tick=260, size=(1100, 690))
            v.enabled |= {"zones"}
            path = v.screenshot(args.shot)
            print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
