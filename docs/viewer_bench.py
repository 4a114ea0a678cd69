"""Measure the replay viewer: frame time on 64×64 and 1024×1024 episodes, seek time in a 10,000-tick episode.

    SDL_VIDEODRIVER=dummy .venv/bin/python docs/viewer_bench.py [--quick] [--shot docs/img/replay.png]

The episodes are synthetic (written with replay.writer.EpisodeWriter on the engine's real spiral layout and
Hanoi plan): a front of Working/Failure/WaitingOracle cells moves out along the spiral and leaves composed,
all-green tiles behind. Frame times are measured off-screen (``Viewer.render`` on a Surface, what the window
loop does minus the flip), at the default window size, with the default overlays (stage radius, path).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from engine.sim.layout import DEFAULT_RADII, build_layout  # noqa: E402  (NumPy only: no Taichi)
from engine.sim.tasks.hanoi import hanoi_moves  # noqa: E402
from replay.viewer import DEFAULT_SIZE, Viewer  # noqa: E402
from replay.writer import EpisodeWriter  # noqa: E402

IDLE, WORKING, WAITING, SUCCESS, FAILURE, DEAD = range(6)


def synthetic_episode(folder: Path, size: int, tile: int, disks: int, ticks: int, frame_every: int,
                      confidence: bool = False, seed: int = 0, chunk_cells: int = 1 << 24) -> Path:
    """Write a plausible episode: moves compose along the spiral as the stage radius opens, in ~0.9 ``ticks``."""
    rng = np.random.default_rng(seed)
    plan = hanoi_moves(disks)
    m = len(plan)
    lay = build_layout(size, tile, m, dead_share=0.01, seed=seed)
    move = lay.move_of_cell.astype(np.int64)
    # stage s opens at tick s * ticks / (n + 1); a move composes some ticks after its ring opens, in plan order
    ring = lay.tile_ring[lay.tile_of_move]
    opens = ring * ticks // (len(DEFAULT_RADII) + 1)
    done = np.maximum.accumulate(opens + 25 + np.arange(m) * (ticks * 0.6 / m) + rng.integers(0, 20, m))
    done = np.minimum(done.astype(np.int64), 10**9)
    start = np.maximum(done - 40, opens)
    cell_done = np.where(move >= 0, done[np.maximum(move, 0)], 10**9)
    cell_start = np.where(move >= 0, start[np.maximum(move, 0)], 10**9)
    alive = lay.alive0
    stage_of = np.minimum(np.arange(ticks) * (len(DEFAULT_RADII) + 1) // ticks, len(DEFAULT_RADII) - 1)
    manifest = {"scenario_name": f"synthetic-{size}", "seed": seed, "worlds": 1, "recorded_worlds": [0],
                "grid": size, "tile": tile, "disks": disks, "pegs": 3, "frame_every": frame_every, "ticks": ticks}
    layout = dict(cell=np.arange(size * size), move=lay.move_of_cell, tile=lay.tile_of_cell, zone=lay.zone_of_cell,
                  difficulty=lay.difficulty, alive0=alive)
    w = EpisodeWriter(folder, manifest, layout, size, tile, confidence=confidence)
    rec = np.arange(0, ticks, frame_every)
    per = max(1, min(256, chunk_cells // (size * size)))
    for a in range(0, len(rec), per):
        t = rec[a:a + per, None]
        u = rng.integers(0, 256, (len(t), size * size), dtype=np.uint8)
        active = (t >= cell_start) & (t < cell_done)
        mix = np.select([u < 90, u < 150, u < 170], [WORKING, FAILURE, WAITING], SUCCESS).astype(np.uint8)
        state = np.where(t >= cell_done, SUCCESS, np.where(active, mix, IDLE)).astype(np.uint8)
        state[:, ~alive] = DEAD
        span = np.maximum(cell_done - cell_start, 1)
        comp = np.clip(0.1 + 0.9 * (t - cell_start) / span, 0.1, 1.0)
        competence = np.round(255 * comp).astype(np.uint8)
        conf = np.clip(competence.astype(np.int16) + (u.astype(np.int16) - 128) // 3, 0, 255).astype(np.uint8)
        w.add_frames(t[:, 0], np.zeros(len(t)), state, competence, conf if confidence else None)
    ok = done < ticks
    order = np.argsort(done[ok], kind="stable")
    idx = np.flatnonzero(ok)[order]
    w.add_moves(world=np.zeros(len(idx)), move=idx, tick=done[idx], disk=plan[idx, 0], src=plan[idx, 1],
                dst=plan[idx, 2])
    t = np.arange(ticks)
    complete = np.searchsorted(np.sort(done), t, side="right")
    prefix = np.searchsorted(np.maximum.accumulate(done), t, side="right")
    w.add_metrics({"tick": t.astype(np.int32), "world": np.zeros(ticks, np.int32), "stage": stage_of.astype(np.int16),
                   "radius": np.array(DEFAULT_RADII, np.float32)[stage_of],
                   "oracle_calls": np.cumsum(rng.poisson(0.4, ticks)), "moves_complete": complete.astype(np.int32),
                   "prefix": prefix.astype(np.int32)})
    z = lay.n_zones
    alpha = 1 + np.cumsum(rng.random((ticks, z)) < 0.3, axis=0) * 0.95 ** (t[:, None] / 50)
    beta = 1 + np.cumsum(rng.random((ticks, z)) < 0.2, axis=0) * 0.95 ** (t[:, None] / 50)
    reward = np.where(rng.random((ticks, z)) < 0.1, 0.5, np.nan)
    w.add_curriculum(tick=np.repeat(t, z), world=np.zeros(ticks * z), zone=np.tile(np.arange(z), ticks),
                     alpha=alpha.reshape(-1), beta=beta.reshape(-1), sample=np.full(ticks * z, 0.5),
                     reward=reward.reshape(-1))
    w.close({"0": "complete"})
    return folder


def frame_times(viewer: Viewer, ticks, surface: pygame.Surface) -> list[float]:
    """Return the seconds each render took, seeking to each tick first (a new frame every render)."""
    out = []
    for t in ticks:
        t0 = time.perf_counter()
        viewer.seek(int(t))
        viewer.render(surface)
        out.append(time.perf_counter() - t0)
    return out


def summary(times: list[float]) -> str:
    """Return 'mean / p95 / max ms' of a list of seconds."""
    ms = np.array(times) * 1e3
    return f"mean {ms.mean():6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   max {ms.max():6.1f} ms"


def bench_frames(folder: Path, label: str, n: int) -> None:
    """Print frame times: playing (a new frame each render), idle (nothing changed), zoomed in, all overlays."""
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
    surface = pygame.Surface(DEFAULT_SIZE)
    v = Viewer(folder, size=DEFAULT_SIZE)
    data = v.data()
    rng = np.random.default_rng(1)
    ticks = rng.integers(data.t0, data.t1 + 1, n)
    frame_times(v, ticks[:2], surface)
    decode = []
    for t in ticks:
        t0 = time.perf_counter()
        v.seek(int(t))
        v.frame()
        decode.append(time.perf_counter() - t0)
    print(f"seek {len(data.frame_ticks):,} recorded ticks   frame only:   {summary(decode)}")
    both = frame_times(v, ticks[::-1], surface)
    print(f"seek {len(data.frame_ticks):,} recorded ticks   seek + draw:  {summary(both)}")


def main() -> int:
    """Build the episodes in a temporary folder, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller episodes and fewer samples")
    parser.add_argument("--shot", type=Path, help="also save a screenshot of the 64×64 episode here")
    parser.add_argument("--episode", type=Path, action="append", default=[],
                        help="also measure frame times on this recorded episode (e.g. from `gridhanoi run paper`)")
    parser.add_argument("--seek-episode", type=Path, action="append", default=[],
                        help="also measure seek times in this recorded episode (e.g. 10,000 ticks of paper-n12)")
    args = parser.parse_args()
    n = 30 if args.quick else 120
    import platform

    print(f"python {platform.python_version()}, pygame-ce {pygame.version.ver}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, window {DEFAULT_SIZE[0]}×{DEFAULT_SIZE[1]}")
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
