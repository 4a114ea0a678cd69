"""Sequential tasks the grid solves: a move table built on the host, plus an independent validator.

Adding a task = one module with a `moves(disks, pegs) -> (M, 3) int array` builder and a
`check(plan, disks, pegs) -> PlanCheck` validator, registered in `_KINDS` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from engine.sim.tasks import hanoi
from engine.sim.tasks.validate import PlanCheck, check_plan

__all__ = ["Task", "PlanCheck", "make_task", "optimal_length", "check_plan", "TASK_KINDS"]

_KINDS: dict[str, tuple[Callable[[int, int], np.ndarray], Callable[..., PlanCheck]]] = {
    "hanoi": (hanoi.hanoi_moves, check_plan),
}
TASK_KINDS = tuple(_KINDS)


@dataclass(frozen=True, eq=False)
class Task:
    """An ordered move table: rows (disk, src, dst), int32, read-only; the category of a move is its disk."""

    name: str
    n_disks: int
    n_pegs: int
    moves: np.ndarray  # (M, 3) int32: disk (0 = smallest), src peg, dst peg

    @property
    def n_moves(self) -> int:
        """Return M, the number of moves."""
        return int(self.moves.shape[0])

    @property
    def n_categories(self) -> int:
        """Return the number of move categories (one per disk)."""
        return self.n_disks

    def categories(self) -> np.ndarray:
        """Return the (M,) int32 category of each move: the disk it moves."""
        return np.ascontiguousarray(self.moves[:, 0], dtype=np.int32)

    def validate(self, plan) -> PlanCheck:
        """Check a composed plan with this task's independent validator."""
        return _KINDS[self.name][1](plan, self.n_disks, self.n_pegs)


def make_task(kind: str, disks: int, pegs: int = 3) -> Task:
    """Build the optimal move table of a task kind ("hanoi"); raise ValueError on bad input."""
    if kind not in _KINDS:
        raise ValueError(f"unknown task kind {kind!r} (known: {', '.join(TASK_KINDS)})")
    moves = _KINDS[kind][0](disks, pegs)
    moves.flags.writeable = False
    return Task(name=kind, n_disks=int(disks), n_pegs=int(pegs), moves=moves)


def optimal_length(disks: int, pegs: int = 3) -> int:
    """Return the optimal Hanoi plan length (2^n − 1 for 3 pegs, Frame–Stewart for more)."""
    return hanoi.optimal_length(disks, pegs)
