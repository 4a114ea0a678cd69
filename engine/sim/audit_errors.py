"""Find the wrong moves of a recorded episode from its files alone (DESIGN §2.8 point 8), for `gridhanoi verify`.

The expected plan comes from the independent validator (engine/sim/tasks/validate.py), never from the generator the
simulator used, and the composed moves from moves.arrow's disk/src/dst. The episode's own claims — the `wrong`
flags in moves.arrow and the `errors`/`first_error` per world in the manifest — are then checked against what was
found, so an edited file is reported even when the edit hides an error.
"""
from __future__ import annotations

import numpy as np

from engine.sim.tasks.validate import expected_plan, wrong_moves

SHOWN = 3  # wrong moves described one by one per world


def _describe(move: int, got, want) -> str:
    return (f"move {move} is disk {got[0]} {got[1]}→{got[2]} but the plan's move {move} is disk {want[0]} "
            f"{want[1]}→{want[2]}")


def world_wrong_moves(episode, world: int, expected: np.ndarray):
    """(WrongMoves, composed rows by move index, flagged move indices or None when the file has no flags)."""
    table = episode.moves()
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    mine = cols["world"] == world
    order = np.argsort(cols["move"][mine], kind="stable")
    index = cols["move"][mine][order].astype(np.int64)
    plan = np.stack([cols[c][mine][order] for c in ("disk", "src", "dst")], axis=1).astype(np.int64)
    found = wrong_moves(plan, index, expected)
    flagged = np.sort(index[cols["wrong"][mine][order]]) if "wrong" in cols else None
    return found, dict(zip(index.tolist(), plan.tolist())), flagged


def check_wrong_moves(episode, report) -> None:
    """Add to an AuditReport: each world's wrong composed moves, and any disagreement with the episode's claims."""
    man = episode.manifest
    try:
        disks, pegs, worlds = int(man["disks"]), int(man.get("pegs", 3)), int(man["worlds"])
    except (KeyError, TypeError, ValueError):
        return  # the manifest checks report a manifest without these
    expected = expected_plan(disks, pegs)
    claims = {}
    for row in man.get("world_results") or []:
        if isinstance(row, dict) and isinstance(row.get("world"), int):
            claims[row["world"]] = row
    for w in range(worlds):
        found, composed, flagged = world_wrong_moves(episode, w, expected)
        for move in found.indices[:SHOWN].tolist():
            want = expected[move].tolist() if 0 <= move < len(expected) else ("?", "?", "?")
            report.problems.append(f"world {w}: wrong move: {_describe(move, composed[move], want)}")
        if found.count:
            report.problems.append(f"world {w}: {found.count} wrong move(s) in the composed plan, the first is move "
                                   f"{found.first} (independent validator)")
        elif composed:
            report.notes.append(f"world {w}: no wrong move among {len(composed)} composed (independent validator)")
        if flagged is not None and not np.array_equal(flagged, found.indices):
            differ = np.setxor1d(flagged, found.indices)
            report.problems.append(f"world {w}: moves.arrow flags {flagged.size} move(s) wrong but the validator "
                                   f"finds {found.count} (they differ at move {int(differ[0])}); the file was "
                                   f"altered after recording")
        claim = claims.get(w)
        if claim is not None and episode.status != "running" and "errors" in claim:
            if (claim.get("errors"), claim.get("first_error")) != (found.count, found.first):
                report.problems.append(f"world {w}: the manifest says errors = {claim.get('errors')}, first_error = "
                                       f"{claim.get('first_error')} but moves.arrow holds {found.count} wrong "
                                       f"move(s), first {found.first}")
