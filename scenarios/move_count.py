"""How many moves a task has: 2^n − 1 with 3 pegs, Frame–Stewart numbers with 4."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def frame_stewart(disks: int) -> int:
    """Return the Frame–Stewart 4-peg move count FS(n) = min_k 2·FS(k) + 2^(n−k) − 1."""
    if disks <= 1:
        return max(disks, 0)
    return min(2 * frame_stewart(k) + 2 ** (disks - k) - 1 for k in range(disks))


def moves_for(disks: int, pegs: int) -> int:
    """Return the number of moves of an optimal Hanoi plan with these disks and pegs."""
    return frame_stewart(disks) if pegs == 4 else 2**disks - 1


def n_moves(task) -> int:
    """Return the number of moves M of a task (a TaskSpec or anything with disks and pegs)."""
    return moves_for(task.disks, task.pegs)
