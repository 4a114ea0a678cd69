"""Independent Tower of Hanoi plan validator: simulates the pegs as stacks, shares no code with the generator.

Optimal lengths here come from their own formula (Frame–Stewart increments: 2^t repeated C(t+P−3, P−3) times),
not from the generator's recurrence, so a bug in one is caught by the other. For P ≥ 5 pegs "optimal" means the
Frame–Stewart length (proved optimal for 3 and 4 pegs, conjectured beyond).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from math import comb

import numpy as np


@dataclass(frozen=True)
class PlanCheck:
    """Verdict on a plan: ok, a one-line reason, and the index of the first bad move (None when not one move)."""

    ok: bool
    reason: str
    index: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def frame_stewart_length(n_disks: int, n_pegs: int) -> int:
    """Return the Frame–Stewart length: sum of the n smallest terms of 2^t repeated C(t+P−3, P−3) times."""
    total, t, left = 0, 0, n_disks
    while left > 0:
        take = min(left, comb(t + n_pegs - 3, n_pegs - 3))
        total += take * 2**t
        left -= take
        t += 1
    return total


def _as_rows(moves) -> np.ndarray | str:
    """Return moves as an (M, 3) int64 array, or a one-line complaint."""
    try:
        arr = np.asarray(moves, dtype=np.float64)
    except (TypeError, ValueError):
        return "plan must be an (M, 3) array or a list of (disk, src, dst) tuples"
    if arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        return f"plan must have shape (M, 3) of (disk, src, dst), got shape {arr.shape}"
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        return "plan entries must be integers"
    return arr.astype(np.int64)


def _describe(index: int, disk: int, src: int, dst: int) -> str:
    return f"move {index} (disk {disk}, {src}→{dst})"


def _first_illegal(rows: list, n_disks: int, n_pegs: int) -> PlanCheck | None:
    """Simulate the pegs; return the first illegal move, or None when every move is legal."""
    pegs: list[list[int]] = [list(range(n_disks - 1, -1, -1))] + [[] for _ in range(n_pegs - 1)]
    for index, (disk, src, dst) in enumerate(rows):
        if not (0 <= src < n_pegs and 0 <= dst < n_pegs):
            return PlanCheck(False, f"{_describe(index, disk, src, dst)}: pegs are 0..{n_pegs - 1}", index)
        if src == dst:
            return PlanCheck(False, f"{_describe(index, disk, src, dst)}: source and destination are the same", index)
        source = pegs[src]
        if not source:
            return PlanCheck(False, f"{_describe(index, disk, src, dst)}: peg {src} is empty", index)
        if source[-1] != disk:
            reason = f"{_describe(index, disk, src, dst)}: disk {disk} is not on top of peg {src}"
            return PlanCheck(False, reason, index)
        target = pegs[dst]
        if target and target[-1] < disk:
            return PlanCheck(
                False, f"{_describe(index, disk, src, dst)}: disk {disk} would sit on smaller disk {target[-1]}", index
            )
        target.append(source.pop())
    return None


def _first_loop(rows: list, n_disks: int, n_pegs: int) -> tuple[int, int] | None:
    """Return (u, t) for the first repeated position s_t == s_u (moves u..t−1 are wasted), or None."""
    rng = random.Random(0)
    keys = [[rng.getrandbits(64) for _ in range(n_pegs)] for _ in range(n_disks)]  # Zobrist hashing
    position = 0
    for disk in range(n_disks):
        position ^= keys[disk][0]
    seen = {position: 0}
    for index, (disk, src, dst) in enumerate(rows):
        position ^= keys[disk][src] ^ keys[disk][dst]
        if position in seen:
            return seen[position], index + 1
        seen[position] = index + 1
    return None


def check_plan(moves, n_disks: int, n_pegs: int) -> PlanCheck:
    """Check that a plan is legal, ends with every disk on the last peg, and has the optimal length."""
    if n_disks < 1 or n_pegs < 3:
        raise ValueError(f"need n_disks >= 1 and n_pegs >= 3, got n_disks={n_disks}, n_pegs={n_pegs}")
    arr = _as_rows(moves)
    if isinstance(arr, str):
        return PlanCheck(False, arr, None)
    bad = np.flatnonzero((arr[:, 0] < 0) | (arr[:, 0] >= n_disks))
    if bad.size:
        i = int(bad[0])
        return PlanCheck(False, f"{_describe(i, *arr[i].tolist())}: disks are 0..{n_disks - 1}", i)
    rows = arr.tolist()
    illegal = _first_illegal(rows, n_disks, n_pegs)
    if illegal is not None:
        return illegal

    optimal = frame_stewart_length(n_disks, n_pegs)
    goal = n_pegs - 1
    final = pegs_after(arr, n_disks, n_pegs)
    if len(final[goal]) != n_disks:
        return PlanCheck(
            False,
            f"plan ends after {len(rows)} moves with {len(final[goal])} of {n_disks} disks on peg {goal} "
            f"(optimal plan: {optimal} moves)",
            None,
        )
    if len(rows) != optimal:
        loop = _first_loop(rows, n_disks, n_pegs)
        if loop is not None:
            u, t = loop
            return PlanCheck(
                False,
                f"moves {u}..{t - 1} return to an earlier position: plan has {len(rows)} moves, optimal is {optimal}",
                u,
            )
        return PlanCheck(False, f"plan has {len(rows)} moves, optimal is {optimal}", None)
    return PlanCheck(True, f"valid optimal plan: {optimal} moves, {n_disks} disks, {n_pegs} pegs", None)


def pegs_after(moves_prefix, n_disks: int, n_pegs: int) -> list[list[int]]:
    """Return peg stacks (bottom→top) after a prefix: each disk sits where its last move took it (legality unchecked)."""
    arr = np.asarray(moves_prefix, dtype=np.int64).reshape(-1, 3)
    disks_ok = np.all((arr[:, 0] >= 0) & (arr[:, 0] < n_disks))
    if not (disks_ok and np.all((arr[:, 2] >= 0) & (arr[:, 2] < n_pegs))):
        raise ValueError(f"moves must name disks 0..{n_disks - 1} and pegs 0..{n_pegs - 1}")
    where = np.zeros(n_disks, dtype=np.int64)
    disks = arr[:, 0]
    for disk in range(n_disks):
        hits = np.flatnonzero(disks == disk)
        if hits.size:
            where[disk] = arr[hits[-1], 2]
    return [[d for d in range(n_disks - 1, -1, -1) if where[d] == peg] for peg in range(n_pegs)]
