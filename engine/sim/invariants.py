"""Cheap checks that a tick's statistics are possible at all, whatever backend computed them (issue 12).

A backend that miscomputes (a driver bug, a misaligned field: docs/gpu.md) must stop the run with an error that names
the arch, the tick and the world — never pass as a "stalled" world or an impossible count. The same rules check
recorded metrics in `verify` (`metrics_problems`). Every check is a few vectorised comparisons over the W worlds.
"""
from __future__ import annotations

import numpy as np

from engine.errors import InvariantError
from kernels.records import WORLD, ZONE

__all__ = ["InvariantError", "check_tick", "metrics_problems"]

STATE_COLUMNS = ZONE.live_state_counts  # live agents with a task, by state (dead ones are ZONE.n_dead)


def _fail(arch: str, tick: int, bad: np.ndarray, what: str, got: np.ndarray, bound) -> None:
    """Raise for the first world where `bad` holds, quoting its value and the bound it broke."""
    w = int(np.flatnonzero(bad)[0])
    limit = bound[w] if np.ndim(bound) else bound
    raise InvariantError(f"the {arch} backend returned impossible statistics at tick {tick}, world {w}: {what} "
                         f"({int(got[w])} vs {int(limit)}); this is a backend fault, not a property of the model "
                         "(see docs/gpu.md)")


FEW_WORLDS = 8  # up to this many worlds the rules run on Python integers: cheaper than ~30 NumPy calls on tiny rows


def _broken(negative, resolved, correct, escalated, composed, states, dead, done, prefix, done_before, prefix_before,
            running, live, task, moves):
    """Every rule in one expression: True where one breaks. Evaluated on NumPy columns (one entry per world) or on
    one world's Python integers alike (`|` and `&` of booleans)."""
    return (negative | (resolved > live) | (correct > resolved) | (escalated > resolved) | (done > moves)
            | (prefix > done) | (prefix < prefix_before) | (done - done_before != composed)
            | (running & ((states != live) | (dead != task - live))))


def check_tick(arch: str, tick: int, running: np.ndarray, stats: dict, before: np.ndarray, live: int, task: int,
               moves: int) -> None:
    """Check one tick of W worlds. `running`: the worlds stepped this tick; `before`: world_stats before the tick;
    `live` / `task`: agents with a task that are alive / in total; `moves`: M. One combined test per tick; the
    rule that broke is worked out only when one did."""
    totals, after = stats["world_totals"], stats["world_stats"]
    if len(totals) <= FEW_WORLDS:
        D, P = WORLD.moves_done, WORLD.prefix
        bad = any(_broken(min(t) < 0, t[ZONE.resolved], t[ZONE.correct], t[ZONE.escalated], t[ZONE.completed_now],
                          sum(t[STATE_COLUMNS]), t[ZONE.n_dead], a[D], a[P], b[D], b[P], r, live, task, moves)
                  for t, a, b, r in zip(totals.tolist(), after.tolist(), before.tolist(), np.asarray(running).tolist()))
    else:
        bad = _broken((totals < 0).any(axis=1), totals[:, ZONE.resolved], totals[:, ZONE.correct],
                      totals[:, ZONE.escalated], totals[:, ZONE.completed_now], totals[:, STATE_COLUMNS].sum(axis=1),
                      totals[:, ZONE.n_dead], after[:, WORLD.moves_done], after[:, WORLD.prefix],
                      before[:, WORLD.moves_done], before[:, WORLD.prefix], running, live, task, moves).any()
    if bad:
        _diagnose(arch, tick, running, totals, after, before, live, task, moves)


def _diagnose(arch, tick, running, totals, after, before, live, task, moves) -> None:
    """Raise for the first rule broken, in the order a reader would check them."""
    if np.any(totals < 0):  # every per-tick counter is a count: cumulative totals never decrease
        bad = (totals < 0).any(axis=1)
        col = int(np.flatnonzero(totals[int(np.flatnonzero(bad)[0])] < 0)[0])
        _fail(arch, tick, bad, f"per-tick counter {ZONE.names[col]} is negative", totals[:, col], 0)
    run = np.asarray(running, bool)
    states = totals[:, STATE_COLUMNS].sum(axis=1)
    _check(arch, tick, run & (states != live), "agents counted by state ≠ live agents with a task", states, live)
    dead = totals[:, ZONE.n_dead]
    _check(arch, tick, run & (dead != task - live), "dead agents with a task ≠ task agents − live", dead,
           task - live)
    resolved = totals[:, ZONE.resolved]
    _check(arch, tick, resolved > live, "attempts this tick > live agents with a task", resolved, live)
    for col, name in ((ZONE.correct, "correct attempts"), (ZONE.escalated, "oracle calls")):
        _check(arch, tick, totals[:, col] > resolved, f"{name} this tick > attempts this tick", totals[:, col],
               resolved)
    done, prefix = after[:, WORLD.moves_done], after[:, WORLD.prefix]
    _check(arch, tick, done < before[:, WORLD.moves_done], "moves complete decreased", done, before[:, WORLD.moves_done])
    _check(arch, tick, done > moves, "moves complete > moves of the task", done, moves)
    _check(arch, tick, prefix > done, "complete prefix > moves complete", prefix, done)
    _check(arch, tick, prefix < before[:, WORLD.prefix], "complete prefix decreased", prefix, before[:, WORLD.prefix])
    new = done - before[:, WORLD.moves_done]
    composed = totals[:, ZONE.completed_now]
    _check(arch, tick, new != composed, "moves complete grew by a different count than moves composed this tick",
           new, composed)


def _check(arch: str, tick: int, bad: np.ndarray, what: str, got: np.ndarray, bound) -> None:
    """Raise naming the first world where `bad` holds."""
    if np.any(bad):
        _fail(arch, tick, bad, what, np.broadcast_to(got, bad.shape), bound)


COUNTERS = ("attempts", "correct", "escalations", "oracle_calls", "moves_complete", "prefix")
RECORDED_STATES = ("idle", "working", "waiting", "success", "failure")


def metrics_problems(episode, limit: int = 5) -> list[str]:
    """The same rules on a recorded episode's metrics.arrow (one finding per world, at most `limit`): state counts
    that do not add up to the agents with a task (layout.arrow), cumulative counters that decrease, more attempts
    than agent-steps so far, more correct attempts or oracle calls than attempts, more moves than the task has, a
    prefix longer than the moves complete."""
    names = [n for n in ("tick", "world", *RECORDED_STATES, "dead", *COUNTERS) if n in episode.metrics_schema.names]
    if "tick" not in names or "world" not in names:
        return []
    table = episode.metrics(names)
    cols = {n: table.column(n).to_numpy().astype(np.int64) for n in names}
    task = int(np.sum(episode.layout().column("move").to_numpy() >= 0))
    moves = int(episode.layout().column("move").to_numpy().max(initial=-1)) + 1
    problems: list[str] = []
    for w in np.unique(cols["world"]):
        rows = np.flatnonzero(cols["world"] == w)
        rows = rows[np.argsort(cols["tick"][rows], kind="stable")]
        found = _world_problem(int(w), {n: v[rows] for n, v in cols.items()}, task, moves)
        if found:
            problems.append(found)
            if len(problems) >= limit:
                break
    return problems


def _world_problem(w: int, c: dict, task: int, moves: int) -> str | None:
    """The first impossible row of one world's metrics (rows in tick order), as a sentence, or None."""
    ticks = c["tick"]
    at = lambda i: f"world {w} tick {int(ticks[i])}"  # noqa: E731
    if all(n in c for n in (*RECORDED_STATES, "dead")):
        live = sum(c[n] for n in RECORDED_STATES)
        states = live + c["dead"]
        bad = np.flatnonzero((states != 0) & (states != task))  # 0: the world had ended before this tick
        if bad.size:
            i = int(bad[0])
            return f"{at(i)}: state counts add up to {int(states[i])} agents, but {task} agents have a task"
        steps = np.cumsum(live)
        if "attempts" in c and np.any(c["attempts"] > steps):
            i = int(np.flatnonzero(c["attempts"] > steps)[0])
            return f"{at(i)}: {int(c['attempts'][i])} attempts, more than the {int(steps[i])} agent-steps run so far"
    for name in COUNTERS:
        if name in c:
            v = c[name]
            if np.any(v < 0):
                i = int(np.flatnonzero(v < 0)[0])
                return f"{at(i)}: {name} is negative ({int(v[i])})"
            down = np.flatnonzero(np.diff(v) < 0)
            if down.size:
                i = int(down[0]) + 1
                return f"{at(i)}: {name} decreased ({int(v[i - 1])} → {int(v[i])})"
    for name, bound, what in (("correct", "attempts", "attempts"), ("oracle_calls", "attempts", "attempts"),
                              ("prefix", "moves_complete", "moves complete")):
        if name in c and bound in c and np.any(c[name] > c[bound]):
            i = int(np.flatnonzero(c[name] > c[bound])[0])
            return f"{at(i)}: {name} {int(c[name][i])} > {what} {int(c[bound][i])}"
    if "moves_complete" in c and np.any(c["moves_complete"] > moves):
        i = int(np.flatnonzero(c["moves_complete"] > moves)[0])
        return f"{at(i)}: {int(c['moves_complete'][i])} moves complete, but the task has {moves}"
    return None
