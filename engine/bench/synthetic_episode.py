"""A synthetic episode for the viewer benchmark: a plausible recorded run written with the real episode writer.

The episode is written with replay.writer.EpisodeWriter on the engine's real spiral layout and Hanoi plan: a front
of Working/Failure/WaitingOracle cells moves out along the spiral and leaves composed, all-green tiles behind.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.sim.layout import DEFAULT_RADII, build_layout  # NumPy only: no Taichi
from engine.sim.tasks.hanoi import hanoi_moves
from replay.writer import EpisodeWriter

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
