"""What `gridhanoi bench` measures (DESIGN §7): the configurations users feel, each a window of ticks.

- all-open: every tile open from tick 0 (manager "none": the whole grid unlocked and active, no prefix gate), so
  every live agent with a task works — the kernel's worst case; scaled over worlds W and grid sizes G.
- mid-episode: a window from the middle of a real episode of the scenario under its own manager (for `paper`:
  thompson), reached untimed, e.g. ticks 60–89.
- consensus all-open: the all-open case at the largest W with `feedback = "consensus"` (DESIGN §2.8: every free
  agent resamples and votes, tiles race first-to-ahead-by-k), against the same case in verified mode.
- million: the `million` built-in (a 1024×1024 grid, one agent per move, the `stages` manager): its episode is
  short (seed 0 completes all 1,048,575 moves in 52 ticks), so its window starts at MILLION_START.
Whole episodes (ticks/s, episodes/s) are measured separately (engine/bench/episodes.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    """One configuration: scenario (and overrides), W, and the timed window [start, start + ticks)."""

    kind: str                    # "all-open", "consensus all-open", "mid-episode" or "million"
    scenario: str
    worlds: int
    grid: int | None             # None: the scenario's own grid
    start: int                   # ticks stepped untimed from reset before the window
    ticks: int                   # ticks timed
    overrides: dict = field(default_factory=dict, hash=False, compare=False)
    backends: tuple = ("taichi", "reference", "plain")

    @property
    def label(self) -> str:
        """Short name: kind, W and G (G filled in once the scenario is loaded)."""
        g = f" G={self.grid}" if self.grid else ""
        return f"{self.kind} W={self.worlds}{g}"


MILLION_START = 20  # the middle of a `million` episode (seed 0: complete at tick 52)
ALL_OPEN = {"curriculum.manager": "none", "layout.order": "free"}  # whole grid unlocked and active, no prefix gate
CONSENSUS_ALL_OPEN = {**ALL_OPEN, "consensus.feedback": "consensus"}


def plan(scenario: str, worlds: list[int], grids: list[int], ticks: int, start: int, mid_worlds: list[int],
         million: bool, numpy_million: bool = False) -> list[Case]:
    """The cases of one run: all-open over W (scenario grid) and over G (W = 1), mid-episode at `mid_worlds`,
    and `million` when asked. The NumPy reference runs everywhere except `million` unless `numpy_million`."""
    cases = [Case("all-open", scenario, w, None, 0, ticks, ALL_OPEN) for w in worlds]
    cases += [Case("all-open", scenario, 1, g, 0, ticks, ALL_OPEN) for g in grids]
    # the plain baseline has no consensus twin: the reference (bit-identical) is the comparison there
    cases += [Case("consensus all-open", scenario, max(worlds), None, 0, ticks, CONSENSUS_ALL_OPEN,
                   backends=("taichi", "reference"))]
    # the plain NumPy baseline only where it is compared (all-open): reaching the window costs it `start` slow ticks
    cases += [Case("mid-episode", scenario, w, None, start, ticks, backends=("taichi", "reference"))
              for w in mid_worlds]
    if million:
        cases.append(Case("million", "million", 1, None, min(start, MILLION_START), ticks,
                          backends=("taichi", "reference") if numpy_million else ("taichi",)))
    return cases
