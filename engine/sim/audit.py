"""Audit a recorded episode without Taichi: the files against the manifest's claims (sizes, footers, digests), the
manifest against itself, the row counts against the ticks run, the composed plan against the task's validator, and
the files against each other (DESIGN §3). `gridhanoi verify` prints the findings; `--resimulate` lives in
engine/sim/resimulate.py. Nothing read is trusted: a value that would make a check loop or allocate without bound
is a problem, never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.sim.audit_errors import check_wrong_moves
from engine.sim.invariants import metrics_problems
from engine.sim.tasks import make_task
from engine.sim.tasks.validate import check_plan
from replay.schema import STATE_NAMES, EpisodeError
from scenarios.move_count import moves_for

MAX_DISKS = 30  # 2^30 moves: beyond any grid a run can have

STATE_COLUMNS = STATE_NAMES  # the metrics columns that count agents per state


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
    running = episode.status == "running"
    for w in range(int(man["worlds"])):
        plan, index, problems = world_plan(moves, w, task.n_moves)
        report.problems += problems
        if outcome.get(str(w)) == "complete" and not running:
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
        if recorded != done and not (episode.status == "running" and recorded < done):
            report.problems.append(f"world {w}: metrics say {done} moves complete at tick {t_last} but moves.arrow "
                                   f"holds {recorded}")


def _is_int(value, lo: int, hi: int) -> bool:
    """Tell whether a manifest value is an integer (not a bool) in [lo, hi]."""
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def check_manifest(episode, report: AuditReport) -> bool:
    """The manifest's own claims: types and ranges of what the checks use, and agreement with layout.arrow;
    False when the rest cannot be checked safely."""
    man, before = episode.manifest, len(report.problems)
    problem = report.problems.append
    needed = ("tick", "world", "moves_complete", *STATE_COLUMNS)
    have = episode.metrics_schema.names
    if have and any(name not in have for name in needed):
        problem(f"metrics.arrow lacks the columns {[n for n in needed if n not in have]}")
        return False
    layout_moves = int(episode.layout().column("move").to_numpy().max(initial=-1)) + 1
    worlds = man.get("worlds")
    if not _is_int(worlds, 1, 1 << 31):
        problem(f"manifest: worlds = {worlds!r} is not a count of worlds")
    if not _is_int(man.get("seed"), 0, 2**32 - 1):
        problem(f"manifest: seed = {man.get('seed')!r} is not in [0, 2^32 - 1]")
    disks, pegs = man.get("disks"), man.get("pegs", 3)
    if not (_is_int(disks, 1, MAX_DISKS) and pegs in (3, 4)) or moves_for(disks, pegs) != layout_moves:
        problem(f"manifest: disks = {disks!r}, pegs = {pegs!r} do not give the {layout_moves} moves of layout.arrow")
    if "moves_total" in man and man["moves_total"] != layout_moves:
        problem(f"manifest: moves_total = {man['moves_total']!r} but layout.arrow lays out {layout_moves} moves")
    if "grid" in man and man["grid"] != episode.size:
        problem(f"manifest: grid = {man['grid']!r} but layout.arrow is {episode.size}×{episode.size}")
    recorded = man.get("recorded_worlds", episode.worlds())
    if not (isinstance(recorded, list) and all(_is_int(w, 0, (worlds if _is_int(worlds, 1, 1 << 31) else 0) - 1)
                                               for w in recorded)):
        problem(f"manifest: recorded_worlds = {recorded!r} are not worlds of the run")
    elif set(episode.worlds()) - set(recorded):
        problem(f"frames.arrow holds worlds {sorted(set(episode.worlds()) - set(recorded))} the manifest does not "
                f"list as recorded")
    if episode.status != "running":
        outcome = man.get("outcome")
        if not isinstance(outcome, dict) or (_is_int(worlds, 1, 1 << 31)
                                             and set(outcome) != {str(w) for w in range(worlds)}):
            problem(f"manifest: outcome does not give one outcome per world 0..{worlds!r} - 1")
        ticks = man.get("ticks", 0)
        if ticks is not None and not _is_int(ticks, 0, 1 << 31):
            problem(f"manifest: ticks = {ticks!r} is not a tick count")
    every = man.get("frame_every", 1)
    if not _is_int(every, 1, 1 << 31):
        problem(f"manifest: frame_every = {every!r} is not a positive tick count")
    return len(report.problems) == before


def check_rows(episode, report: AuditReport) -> None:
    """Row counts agree with the ticks run: a closed episode of T ticks (ticks 0..T-1) holds T metrics rows
    per world and the frames of every `frame_every`-th tick plus the last one per recorded world; a running
    one holds no tick twice."""
    man = episode.manifest
    W, every = int(man["worlds"]), int(man.get("frame_every", 1))
    if not episode.metrics_schema.names:  # a writer killed before its first metrics batch
        report.notes.append("no metrics rows recorded")
        return
    ticks, worlds = (episode.metrics(["tick", "world"]).column(c).to_numpy() for c in ("tick", "world"))
    if len(ticks) and (worlds.min() < 0 or worlds.max() >= W):
        report.problems.append(f"metrics.arrow has rows for world {int(worlds.max())} outside 0..{W - 1}")
        return
    per_world = np.bincount(worlds, minlength=W)
    last = int(ticks.max()) if len(ticks) else -1
    closed = episode.status != "running" and man.get("ticks") is not None
    T = int(man["ticks"]) if closed else last + 1
    if closed and last + 1 != T and len(ticks):
        report.problems.append(f"metrics.arrow ends at tick {last} but the manifest says {T} ticks were run")
    expect = T if closed else None
    for w in range(W):
        mine = np.sort(ticks[worlds == w])
        if len(np.unique(mine)) != len(mine):
            report.problems.append(f"world {w}: metrics.arrow holds a tick twice")
            return
        if expect is not None and per_world[w] != expect:
            report.problems.append(f"world {w}: metrics.arrow holds {per_world[w]} rows for {T} ticks run")
            return
    for w in episode.worlds():
        frames = episode.frame_ticks(w)
        if closed and len(frames) and frames.max() > last:  # a killed writer may have written frames first
            report.problems.append(f"world {w}: frames.arrow holds tick {int(frames.max())}, past the last metrics "
                                   f"row (tick {last})")
        elif closed:
            wanted = np.arange(0, T, every)
            if episode.status == "complete" and T:
                wanted = np.union1d(wanted, [T - 1])  # the recorder always keeps the final state
            got = set(frames.tolist())
            if not got <= set(wanted.tolist()) | {T - 1} or not set(wanted.tolist()) <= got:
                report.problems.append(f"world {w}: frames.arrow holds {len(frames)} frames; {T} ticks recorded "
                                       f"every {every} should give {len(wanted)}")
    if closed:
        report.notes.append(f"row counts agree with {T} ticks run ({W} world(s), frames every {every})")


def audit(episode) -> AuditReport:
    """Run every check that needs only the files; a file that cannot be decoded is a problem, not a crash."""
    report = AuditReport()
    if episode.status == "running":
        report.notes.append("episode is PARTIAL (its writer never closed it); checked as far as it goes")
    report.problems += episode.file_problems()
    try:
        if not check_manifest(episode, report):
            return report
        check_rows(episode, report)
        check_plans(episode, report)
        check_wrong_moves(episode, report)  # wrong moves from the files alone, against the episode's own claims
        check_consistency(episode, report)
        report.problems += metrics_problems(episode)  # the run's per-tick invariants, on the recorded counters
    except EpisodeError as exc:  # a file that cannot be decoded: invalid, named (once)
        if str(exc) not in report.problems:
            report.problems.append(str(exc))
    return report
