"""Hanoi peg stacks after the complete prefix of composed moves, computed from moves.arrow alone.

The replay package never imports the engine, so the plan is not available here: the pegs are rebuilt from
the (disk, src, dst) of the moves the Composer recorded. Only the complete prefix 0..k-1 is applied, because
a move composed out of order has not happened yet on the real pegs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

NOT_DONE = np.iinfo(np.int64).max  # completion tick of a move that is not composed (yet)


class MoveLog:
    """The composed moves of one world, indexed for prefix, count and peg queries at any tick."""

    def __init__(self, moves: pa.Table, world: int, n_moves: int = 0):
        """Index the rows of ``moves`` (a moves.arrow table) that belong to ``world``."""
        cols = {name: moves.column(name).to_numpy() for name in ("world", "move", "tick", "disk", "src", "dst")}
        sel = cols["world"] == world
        move = cols["move"][sel].astype(np.int64)
        tick = cols["tick"][sel].astype(np.int64)
        size = max(int(n_moves), int(move.max()) + 1 if len(move) else 0)
        self.n_moves = size
        self.tick_of = np.full(size, NOT_DONE, dtype=np.int64)
        np.minimum.at(self.tick_of, move, tick)  # a move recorded twice counts from its first composition
        self.disk = np.full(size, -1, dtype=np.int64)
        self.src = np.full(size, -1, dtype=np.int64)
        self.dst = np.full(size, -1, dtype=np.int64)
        self.disk[move] = cols["disk"][sel]
        self.src[move] = cols["src"][sel]
        self.dst[move] = cols["dst"][sel]
        # prefix_tick[k] = tick at which moves 0..k are all composed: prefix length is a searchsorted away
        self.prefix_tick = np.maximum.accumulate(self.tick_of) if size else self.tick_of
        self.sorted_ticks = np.sort(tick)
        # moves composed wrong (consensus mode; the `wrong` column exists from format 2 on)
        self.wrong = np.zeros(size, dtype=bool)
        if "wrong" in moves.column_names:
            self.wrong[move] = moves.column("wrong").to_numpy()[sel]
        self.error_ticks = np.sort(self.tick_of[self.wrong])
        self.flags_known = "wrong" in moves.column_names

    def errors(self, tick: int) -> int:
        """Return how many wrong moves were composed at or before ``tick``."""
        return int(np.searchsorted(self.error_ticks, tick, side="right"))

    def first_error(self, tick: int) -> int | None:
        """Return the smallest index of a wrong move composed at or before ``tick`` (None when there is none)."""
        bad = np.flatnonzero(self.wrong & (self.tick_of <= tick))
        return int(bad[0]) if bad.size else None

    @property
    def last_tick(self) -> int | None:
        """Return the tick of the latest composed move, or None when there is none."""
        return int(self.sorted_ticks[-1]) if len(self.sorted_ticks) else None

    @property
    def max_disk(self) -> int:
        """Return the largest disk index among the composed moves (-1 when none)."""
        return int(self.disk.max()) if self.n_moves else -1

    def prefix(self, tick: int) -> int:
        """Return k, the length of the complete prefix 0..k-1 of moves composed at or before ``tick``."""
        return int(np.searchsorted(self.prefix_tick, tick, side="right"))

    def complete(self, tick: int) -> int:
        """Return how many moves were composed at or before ``tick`` (in any order)."""
        return int(np.searchsorted(self.sorted_ticks, tick, side="right"))

    def done(self, tick: int) -> np.ndarray:
        """Return a (M,) bool mask of the moves composed at or before ``tick``."""
        return self.tick_of <= tick

    def pegs(self, tick: int, disks: int, pegs: int = 3) -> list[np.ndarray]:
        """Return the peg stacks after the complete prefix at ``tick`` (see pegs_after).

        The disk positions of the last prefix asked for are kept, so redrawing the same tick costs nothing and
        playing forward only applies the new moves (a million-move plan would otherwise be re-read every frame)."""
        k = self.prefix(tick)
        last = getattr(self, "_placed", None)
        if last is not None and last[0] == (disks, pegs) and last[1] <= k:
            where = place_disks(last[2].copy(), self.disk[last[1]:k], self.dst[last[1]:k], disks, pegs)
        else:
            where = place_disks(np.zeros(disks, dtype=np.int64), self.disk[:k], self.dst[:k], disks, pegs)
        self._placed = ((disks, pegs), k, where)
        return stacks(where, disks, pegs)


def place_disks(where: np.ndarray, disk, dst, disks: int, pegs: int) -> np.ndarray:
    """Update ``where`` (the peg of each disk) by moving ``disk[i]`` to ``dst[i]`` in order; return it.

    A disk ends where its last move put it, which is what applying a legal sequence move by move gives;
    disks or pegs outside the ranges are ignored."""
    disk = np.asarray(disk, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    ok = (disk >= 0) & (disk < disks) & (dst >= 0) & (dst < pegs)
    disk, dst = disk[ok][::-1], dst[ok][::-1]
    moved, last = np.unique(disk, return_index=True)  # first in reversed order = last move of each disk
    where[moved] = dst[last]
    return where


def stacks(where: np.ndarray, disks: int, pegs: int) -> list[np.ndarray]:
    """The disks on each peg, bottom (largest) to top."""
    order = np.arange(disks - 1, -1, -1)
    return [order[where[order] == p] for p in range(pegs)]


def pegs_after(disk: np.ndarray, dst: np.ndarray, disks: int, pegs: int = 3) -> list[np.ndarray]:
    """Return the disks on each peg, bottom to top, after moving ``disk[i]`` to ``dst[i]`` in order, all
    ``disks`` disks starting on peg 0 (0 = smallest)."""
    return stacks(place_disks(np.zeros(disks, dtype=np.int64), disk, dst, disks, pegs), disks, pegs)


MAX_DISKS = 64  # bounds on what a manifest may claim (the plan of 64 disks has 2^64 - 1 moves: no grid holds it)
MAX_PEGS = 16


def infer_disks(manifest: dict, n_moves: int, max_disk: int) -> int:
    """Return the number of disks: the manifest's, else from the plan length (3 pegs) or the moves seen."""
    value = manifest.get("disks")
    if isinstance(value, int) and not isinstance(value, bool) and max_disk + 1 <= value <= MAX_DISKS:
        return value  # else the manifest is damaged: trust the moves, never a size to allocate
    # an optimal 3-peg plan has 2^n - 1 moves, so n is the bit length of M
    return max(int(n_moves).bit_length(), max_disk + 1, 1)


def infer_pegs(manifest: dict, log: MoveLog) -> int:
    """Return the number of pegs: the manifest's, else 3 or the highest peg the moves use."""
    value = manifest.get("pegs")
    used = max(int(log.src.max()), int(log.dst.max())) + 1 if log.n_moves else 0
    if isinstance(value, int) and not isinstance(value, bool) and max(3, used) <= value <= MAX_PEGS:
        return value
    return max(3, used)
