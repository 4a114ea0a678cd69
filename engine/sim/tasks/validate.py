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


def _play(rows: list, n_disks: int, n_pegs: int) -> PlanCheck | list[list[int]]:
    """Simulate the pegs: the first illegal move as a failed PlanCheck, else the final stacks (bottom→top)."""
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
    return pegs


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
    final = _play(rows, n_disks, n_pegs)
    if isinstance(final, PlanCheck):
        return final

    optimal = frame_stewart_length(n_disks, n_pegs)
    goal = n_pegs - 1
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


# ---- wrong moves: which composed moves differ from the plan the tiles were asked for ----------------------------
#
# In consensus mode (DESIGN §2.8) a tile may compose a wrong move, so a plan is judged move by move against the
# expected plan. The expected plan is built here from its own construction, sharing no code with the generator:
# 3 pegs — each disk d moves cyclically, one peg per move, forward (0→1→2→0) when n − d is even and backward when it
# is odd; its j-th move is move 2^d (2j + 1) (1-based) — and for 4 or more pegs the Frame–Stewart recursion with the
# task's written convention (k = the smallest split of minimal length; the k small disks go to the first spare
# using every peg, the rest to the goal without that spare, then the k disks onto them).


@dataclass(frozen=True)
class WrongMoves:
    """Composed moves that differ from the expected plan: how many, the first one's index (None when none)."""

    count: int
    first: int | None
    indices: np.ndarray  # move indices of every wrong move, ascending


def _three_peg_plan(n_disks: int) -> np.ndarray:
    """The optimal 3-peg plan from per-disk cyclic motion (see the block comment above)."""
    m = np.arange(1, 2**n_disks, dtype=np.int64)
    low = m & -m  # 2^d: the lowest set bit of the 1-based move number
    disk = np.log2(low.astype(np.float64)).round().astype(np.int64)
    j = m // (2 * low)  # moves disk d made before this one
    step = np.where((n_disks - disk) % 2 == 0, 1, 2)  # +1 or −1 (mod 3)
    return np.stack([disk, (j * step) % 3, ((j + 1) * step) % 3], axis=1)


def _frame_stewart_plan(n_disks: int, n_pegs: int) -> np.ndarray:
    """An optimal P-peg plan by the Frame–Stewart recursion with the convention of the block comment above."""
    best: dict[tuple[int, int], tuple[int, int]] = {}

    def length(n: int, p: int) -> tuple[int, int]:
        if (n, p) not in best:
            if n == 0:
                best[n, p] = (0, 0)
            elif p == 3 or n == 1:
                best[n, p] = (2**n - 1, 0)
            else:
                best[n, p] = min((2 * length(k, p)[0] + length(n - k, p - 1)[0], k) for k in range(1, n))
        return best[n, p]

    rows: list[tuple[int, int, int]] = []

    def solve(n: int, first: int, src: int, dst: int, spares: tuple[int, ...]) -> None:
        if n == 0:
            return
        if len(spares) == 1:
            for disk, s, d in _three_peg_plan(n).tolist():
                names = (src, spares[0], dst)  # the 3-peg plan goes from its peg 0 to its peg 2
                rows.append((disk + first, names[s], names[d]))
            return
        if n == 1:
            rows.append((first, src, dst))
            return
        k = length(n, len(spares) + 2)[1]
        aside, rest = spares[0], spares[1:]
        solve(k, first, src, aside, (dst, *rest))
        solve(n - k, first + k, src, dst, rest)
        solve(k, first, aside, dst, (src, *rest))

    solve(n_disks, 0, 0, n_pegs - 1, tuple(range(1, n_pegs - 1)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def expected_plan(n_disks: int, n_pegs: int) -> np.ndarray:
    """The (M, 3) plan (disk, src, dst) that composed moves are judged against, built independently."""
    if n_disks < 1 or n_pegs < 3:
        raise ValueError(f"need n_disks >= 1 and n_pegs >= 3, got n_disks={n_disks}, n_pegs={n_pegs}")
    return _three_peg_plan(n_disks) if n_pegs == 3 else _frame_stewart_plan(n_disks, n_pegs)


def wrong_moves(plan, indices, expected: np.ndarray) -> WrongMoves:
    """Compare composed moves (rows of plan, at move indices) with the expected plan (see expected_plan);
    an index outside the plan is a wrong move too."""
    plan = np.asarray(plan, dtype=np.int64).reshape(-1, 3)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(indices) != len(plan):
        raise ValueError(f"{len(plan)} moves but {len(indices)} indices")
    truth = np.asarray(expected, dtype=np.int64)
    inside = (indices >= 0) & (indices < len(truth))
    wrong = ~inside
    wrong[inside] = np.any(truth[indices[inside]] != plan[inside], axis=1)
    bad = np.sort(indices[wrong])
    return WrongMoves(int(bad.size), int(bad[0]) if bad.size else None, bad)
