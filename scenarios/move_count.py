"""How many moves a task has: 2^n − 1 with 3 pegs, Frame–Stewart numbers with more (the generator's recurrence).

One copy for the scenario rules and the engine's plan generator (engine/sim/tasks/hanoi.py builds its plans with
`frame_stewart_split`); the plan validator keeps its own, different formula on purpose.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def frame_stewart_split(disks: int, pegs: int) -> tuple[int, int]:
    """Return (optimal length, k): FS(n, P) = min_k 2·FS(k, P) + FS(n − k, P − 1), k the first best split (the k
    top disks go aside using all pegs, the rest move with one peg less); 2^n − 1 and k = 0 with 3 pegs."""
    if disks <= 0:
        return 0, 0
    if pegs == 3:
        return 2**disks - 1, 0
    if disks == 1:
        return 1, 0
    best = None
    for k in range(1, disks):
        length = 2 * frame_stewart_split(k, pegs)[0] + frame_stewart_split(disks - k, pegs - 1)[0]
        if best is None or length < best[0]:
            best = (length, k)
    return best


def moves_for(disks: int, pegs: int) -> int:
    """Return the number of moves of an optimal Hanoi plan with these disks and pegs."""
    return frame_stewart_split(int(disks), int(pegs))[0]


def frame_stewart(disks: int) -> int:
    """Return the Frame–Stewart 4-peg move count FS(n)."""
    return moves_for(disks, 4)


def n_moves(task) -> int:
    """Return the number of moves M of a task (a TaskSpec or anything with disks and pegs)."""
    return moves_for(task.disks, task.pegs)
