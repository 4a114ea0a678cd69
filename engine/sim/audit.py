"""Audit a recorded episode without Taichi: the composed plan against the task's validator, and the files against
each other (DESIGN §3). `gridhanoi verify` prints the findings; `--resimulate` lives in engine/sim/resimulate.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.sim.tasks import make_task
from engine.sim.tasks.validate import check_plan

STATE_COLUMNS = ("idle", "working", "waiting", "success", "failure", "dead")


@dataclass
class AuditReport:
    """What `verify` found: problems (invalid) and notes (informational)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def world_plan(moves, world: int, n_moves: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One world's composed moves ordered by move index, (k, 3), their indices, and any duplicate/out-of-range
    problems."""
    sel = moves.filter_world(world)
    problems = []
    index = sel["move"]
    if len(np.unique(index)) != len(index):
        problems.append(f"world {world}: a move appears twice in moves.arrow")
    if len(index) and (index.min() < 0 or index.max() >= n_moves):
        problems.append(f"world {world}: move index outside 0..{n_moves - 1} in moves.arrow")
    order = np.argsort(index, kind="stable")
    plan = np.stack([sel["disk"], sel["src"], sel["dst"]], axis=1)[order].astype(np.int64)
    return plan, index[order], problems


class MovesTable:
    """moves.arrow as NumPy columns, filterable by world."""

    def __init__(self, table):
        self.columns = {name: table.column(name).to_numpy() for name in table.column_names}

    def filter_world(self, world: int) -> dict:
        """Columns of one world's rows."""
        keep = self.columns["world"] == world
        return {k: v[keep] for k, v in self.columns.items()}


def check_plans(episode, report: AuditReport) -> None:
    """Each world's composed plan: legal, and for a completed world also at the goal with the optimal length."""
    man = episode.manifest
    task = make_task("hanoi", int(man["disks"]), int(man.get("pegs", 3)))
    moves = MovesTable(episode.moves())
    outcome = man.get("outcome") if isinstance(man.get("outcome"), dict) else {}
    for w in range(int(man["worlds"])):
        plan, index, problems = world_plan(moves, w, task.n_moves)
        report.problems += problems
        if outcome.get(str(w)) == "complete" and not episode.partial:
            if len(plan) != task.n_moves:
                report.problems.append(f"world {w}: outcome complete but moves.arrow holds {len(plan)} of "
                                       f"{task.n_moves} moves")
                continue
            check = check_plan(plan, task.n_disks, task.n_pegs)
            if not check.ok:
                report.problems.append(f"world {w}: {_name_move(check, index)}")
            else:
                report.notes.append(f"world {w}: plan of {len(plan)} moves is legal, reaches the goal, optimal")
        else:
            # an unfinished world: its complete prefix must be legal as far as it goes
            prefix = int(np.argmin(np.append(index == np.arange(len(index)), False)))
            check = check_plan(plan[:prefix], task.n_disks, task.n_pegs)
            if not check.ok and check.index is not None and check.index < prefix:
                report.problems.append(f"world {w}: {_name_move(check, index)}")
            elif len(plan):
                report.notes.append(f"world {w}: {len(plan)} moves composed, prefix of {prefix} legal "
                                    f"({outcome.get(str(w), 'unfinished')})")
        if len(plan):
            truth = task.moves[index]
            wrong = np.nonzero(np.any(truth != plan, axis=1))[0]
            for i in wrong[:3]:
                report.problems.append(f"world {w}: move {index[i]} is recorded as disk {plan[i, 0]} "
                                       f"{plan[i, 1]}→{plan[i, 2]}, the task's move is disk {truth[i, 0]} "
                                       f"{truth[i, 1]}→{truth[i, 2]}")


def _name_move(check, index) -> str:
    """The validator's reason, naming the move index of the episode."""
    if check.index is not None and check.index < len(index):
        return f"move {index[check.index]}: {check.reason}"
    return check.reason


def check_consistency(episode, report: AuditReport) -> None:
    """Counts in metrics agree with frames and moves."""
    man = episode.manifest
    metrics = episode.metrics()
    if metrics.num_rows == 0:
        report.notes.append("no metrics rows recorded")
        return
    cols = {name: metrics.column(name).to_numpy() for name in ("tick", "world", "moves_complete", *STATE_COLUMNS)}
    moves = MovesTable(episode.moves())
    layout = episode.layout()
    has_task = layout.column("move").to_numpy() >= 0
    for w in episode.worlds():
        ticks = episode.frame_ticks(w)
        rows = {int(t): i for i, t in enumerate(cols["tick"]) if cols["world"][i] == w}
        checked = 0
        for t in ticks:
            if int(t) not in rows:
                continue
            frame = episode.frame(w, int(t))
            counts = np.bincount(frame.state.ravel()[has_task], minlength=6)
            i = rows[int(t)]
            expected = [int(cols[c][i]) for c in STATE_COLUMNS]
            if list(map(int, counts[:6])) != expected:
                report.problems.append(f"world {w} tick {int(t)}: frame state counts {list(map(int, counts[:6]))} "
                                       f"differ from metrics {expected}")
                break
            checked += 1
        report.notes.append(f"world {w}: {checked} frames agree with metrics state counts")
    world_moves = moves.columns["world"]
    for w in range(int(man["worlds"])):
        mine = cols["world"] == w
        if not mine.any():
            continue
        last = int(np.argmax(np.where(mine, cols["tick"], -1)))
        t_last, done = int(cols["tick"][last]), int(cols["moves_complete"][last])
        recorded = int(np.sum((world_moves == w) & (moves.columns["tick"] <= t_last)))
        if recorded != done and not (episode.partial and recorded < done):
            report.problems.append(f"world {w}: metrics say {done} moves complete at tick {t_last} but moves.arrow "
                                   f"holds {recorded}")


def audit(episode) -> AuditReport:
    """Run every check that needs only the files."""
    report = AuditReport()
    if episode.partial:
        report.notes.append("episode is PARTIAL (its run did not finish); checked as far as it goes")
    check_plans(episode, report)
    check_consistency(episode, report)
    return report
