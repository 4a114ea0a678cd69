"""What the viewer shows of one episode: the static layout and, per world, curves, posteriors and moves.

Loaded once per world from the episode files (metrics, curriculum and moves tables) so that drawing and seeking
never touch Arrow again; no pygame here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replay import overlays as O
from replay.pegs import NOT_DONE, MoveLog, infer_disks, infer_pegs
from replay.reader import Episode

METRIC_COLUMNS = ("tick", "world", "stage", "radius", "moves_complete", "oracle_calls", "prefix")


@dataclass(frozen=True)
class Static:
    """The episode's layout as (G, G) arrays, plus the move path through tile centres."""

    size: int
    tile: int
    move: np.ndarray        # (G, G) i32, -1 = no task
    tile_id: np.ndarray     # (G, G) i32
    zone: np.ndarray        # (G, G) i16
    difficulty: np.ndarray  # (G, G) f32
    n_moves: int
    n_zones: int
    centres: np.ndarray     # (M, 2) f64: (row, col) of each move's tile centre, in cell units


def load_static(ep: Episode) -> Static:
    """Read layout.arrow into grids and compute each move's tile centre (for the path overlay)."""
    table = ep.layout()
    g = ep.size
    grid = {name: table.column(name).to_numpy().reshape(g, g) for name in ("move", "tile", "zone", "difficulty")}
    move = grid["move"].reshape(-1)
    n_moves = int(move.max()) + 1 if move.size else 0
    rows, cols = np.divmod(np.arange(g * g), g)
    has = move >= 0
    count = np.maximum(np.bincount(move[has], minlength=n_moves), 1)
    centres = np.stack([np.bincount(move[has], weights=rows[has] + 0.5, minlength=n_moves) / count,
                        np.bincount(move[has], weights=cols[has] + 0.5, minlength=n_moves) / count], axis=1)
    zone = grid["zone"]
    return Static(g, max(ep.tile, 1), grid["move"], grid["tile"], zone, grid["difficulty"], n_moves,
                  int(zone.max()) + 1 if zone.size else 0, centres)


def last_index_at(ticks: np.ndarray, tick: int) -> int:
    """Return the index of the last entry of sorted ``ticks`` at or before ``tick`` (-1 when none)."""
    return int(np.searchsorted(ticks, tick, side="right")) - 1


class WorldData:
    """Everything the viewer draws for one world, derived once from the episode's tables (cached per world)."""

    def __init__(self, ep: Episode, static: Static, world: int):
        """Read frames index, moves, metrics and curriculum rows of ``world``."""
        self.world = world
        self.frame_ticks = ep.frame_ticks(world) if world in ep.worlds() else np.zeros(0, np.int32)
        self.moves = MoveLog(ep.moves(), world, static.n_moves)
        self.disks = infer_disks(ep.manifest, static.n_moves, self.moves.max_disk)
        self.pegs = infer_pegs(ep.manifest, self.moves)
        self.series = self._metrics(ep, world)
        self._curriculum(ep, world, static.n_zones)
        ends = [a[[0, -1]] for a in (self.frame_ticks, self.series.get("tick", np.zeros(0)),
                                     self.moves.sorted_ticks) if len(a)]
        self.t0 = int(min(e[0] for e in ends)) if ends else 0
        self.t1 = max(int(max(e[1] for e in ends)) if ends else 0, self.t0)
        done = self.moves.tick_of
        self.cell_done_tick = np.where(static.move >= 0, done[np.maximum(static.move, 0)] if len(done) else NOT_DONE,
                                       NOT_DONE)
        # how early each cell's move composed, as a ramp index over the whole episode (completed overlay)
        self.cell_when = O.to_index(np.minimum(self.cell_done_tick, self.t1), self.t0, max(self.t1, self.t0 + 1))
        # cells whose move was composed wrong (shown from the tick it was composed)
        wrong = self.moves.wrong
        self.cell_wrong = (static.move >= 0) & (wrong[np.maximum(static.move, 0)] if len(wrong) else False)
        self.radii = self.series.get("radius")

    @staticmethod
    def _metrics(ep: Episode, world: int) -> dict[str, np.ndarray]:
        """Return this world's metric columns the viewer uses, sorted by tick."""
        names = [n for n in METRIC_COLUMNS if n in ep.metrics_schema.names]
        if "tick" not in names:
            return {}
        table = ep.metrics(names)
        cols = {n: table.column(n).to_numpy(zero_copy_only=False) for n in names}
        sel = cols["world"] == world if "world" in cols else np.ones(table.num_rows, bool)
        order = np.argsort(cols["tick"][sel], kind="stable")
        return {n: c[sel][order] for n, c in cols.items() if n != "world"}

    def _curriculum(self, ep: Episode, world: int, n_zones: int) -> None:
        """Tabulate the posterior mean α/(α+β) and 'updated' per (recorded tick, zone)."""
        table = ep.curriculum()
        cols = {n: table.column(n).to_numpy() for n in ("tick", "world", "zone", "alpha", "beta", "reward")}
        sel = cols["world"] == world
        self.cur_ticks, inv = np.unique(cols["tick"][sel], return_inverse=True)
        zone = cols["zone"][sel].astype(np.int64)
        z = max(n_zones, int(zone.max()) + 1 if len(zone) else 0)
        self.cur_means = np.full((len(self.cur_ticks), z), np.nan, np.float32)
        self.cur_updated = np.zeros((len(self.cur_ticks), z), bool)
        alpha, beta = cols["alpha"][sel], cols["beta"][sel]
        self.cur_means[inv, zone] = alpha / np.maximum(alpha + beta, 1e-12)
        self.cur_updated[inv, zone] = ~np.isnan(cols["reward"][sel])

    def value(self, name: str, tick: int):
        """Return metric ``name`` at the last row at or before ``tick``, or None."""
        col = self.series.get(name)
        j = last_index_at(self.series["tick"], tick) if col is not None else -1
        return col[j].item() if j >= 0 else None

    def posterior(self, tick: int):
        """Return (means, updated, tick) of the last curriculum row at or before ``tick``, or None."""
        j = last_index_at(self.cur_ticks, tick)
        return None if j < 0 else (self.cur_means[j], self.cur_updated[j], int(self.cur_ticks[j]))

    def curves(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Return (label, ticks, values) of the small curves: moves complete, oracle calls, stage."""
        out = []
        if "moves_complete" in self.series:
            out.append(("moves complete", self.series["tick"], self.series["moves_complete"]))
        elif len(self.moves.sorted_ticks):
            ticks = self.moves.sorted_ticks
            out.append(("moves complete", ticks, np.arange(1, len(ticks) + 1)))
        for name, label in (("oracle_calls", "oracle calls"), ("stage", "stage")):
            if name in self.series:
                out.append((label, self.series["tick"], self.series[name]))
        return out

    def stage_marks(self) -> np.ndarray:
        """Return the ticks where the stage changes."""
        stage = self.series.get("stage")
        if stage is None or len(stage) < 2:
            return np.zeros(0, np.int64)
        return self.series["tick"][1:][np.diff(stage) != 0]
