"""Check the rules that tie scenario keys together (tile divides size, moves fit the tiles, files exist, …)."""
from __future__ import annotations

import math
import os
import stat

from scenarios.checks import shown
from scenarios.errors import KeyProblem
from scenarios.move_count import moves_for
from scenarios.spec import Scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _near_divisors(size: int, tile: int) -> str:
    """Return the two divisors of size closest to tile (by ratio), e.g. "4 or 8"."""
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    near = sorted(divisors, key=lambda d: (abs(math.log(d / max(tile, 1))), -d))[:2]
    return " or ".join(str(d) for d in sorted(near))


def _check_grid(s: Scenario) -> None:
    size, tile, tau = s.grid.size, s.grid.tile, s.grid.tau_green
    if size % tile:
        raise KeyProblem("grid.tile", f"grid.tile = {tile} does not divide grid.size = {size}; use a divisor of "
                                      f"{size} such as {_near_divisors(size, tile)}", also=("grid.size",))
    if tau > tile * tile:
        agents = f"{tile * tile} agents" if tile > 1 else "1 agent"
        raise KeyProblem("grid.tau_green", f"grid.tau_green = {tau} is more than the {agents} of a "
                                           f"{tile}×{tile} tile; use 1 … {tile * tile}",
                         also=("grid.tile",))


def _check_moves(s: Scenario) -> None:
    disks, pegs = s.task.disks, s.task.pegs
    moves, tiles = moves_for(disks, pegs), (s.grid.size // s.grid.tile) ** 2
    if moves <= tiles:
        return
    fit = max((n for n in range(1, disks) if moves_for(n, pegs) <= tiles), default=0)
    fixes = [f"≤ {fit} disks"] if fit else []
    fixes.append("a smaller tile" if s.grid.tile > 1 else "a larger grid")
    size = s.grid.size
    raise KeyProblem("task.disks", f"task.disks = {disks}: {disks} disks need {moves} moves but a {size}×{size} grid "
                                   f"with tile {s.grid.tile} has {tiles} tiles; use {' or '.join(fixes)}",
                     also=("grid.size", "grid.tile", "task.pegs"))


def _check_png(s: Scenario, dotted: str, relative: str) -> None:
    """Check that a PNG path written in the scenario names a readable PNG file."""
    path = s.path(relative)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a folder, or a FIFO that would block the read
            raise IsADirectoryError
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        why = "no such file" if isinstance(exc, FileNotFoundError) else "not a readable file"
        raise KeyProblem(dotted, f"{dotted} = {shown(relative)}: {why} ({shown(str(path), 60)}); give a PNG path "
                                 f"relative to the scenario file") from None
    if magic != PNG_MAGIC:
        raise KeyProblem(dotted, f"{dotted} = {shown(relative)} is not a PNG file; save the map as PNG")


def _check_files(s: Scenario) -> None:
    layout, faults = s.layout, s.faults
    if layout.difficulty != "radial":
        if layout.difficulty_ascii:
            raise KeyProblem("layout.difficulty_ascii", "layout.difficulty_ascii and a PNG layout.difficulty are "
                                                        "both given; keep one (set difficulty = \"radial\")",
                             also=("layout.difficulty",))
        if not layout.difficulty:
            raise KeyProblem("layout.difficulty", 'layout.difficulty is empty; use "radial" or a PNG path')
        _check_png(s, "layout.difficulty", layout.difficulty)
    if faults.dead_png:
        if faults.dead_ascii:
            raise KeyProblem("faults.dead_png", "faults.dead_png and faults.dead_ascii are both given; keep one",
                             also=("faults.dead_ascii",))
        _check_png(s, "faults.dead_png", faults.dead_png)


def _check_outages(s: Scenario) -> None:
    for i, outage in enumerate(s.faults.oracle_outage):
        if outage.end <= outage.start:
            raise KeyProblem("faults.oracle_outage", f"faults.oracle_outage[{i}] has to = {outage.end} ≤ from = "
                                                     f"{outage.start}; the outage lasts from ≤ tick < to, so use "
                                                     f"to > {outage.start}", i)


def _check_probabilities(s: Scenario) -> None:
    if s.agents.p_min >= s.agents.p_max:
        raise KeyProblem("agents.p_max", f"agents.p_max = {s.agents.p_max!r} is not above agents.p_min = "
                                         f"{s.agents.p_min!r}; use p_min < p_max", also=("agents.p_min",))


RULES = (_check_grid, _check_moves, _check_probabilities, _check_outages, _check_files)


def check_rules(s: Scenario) -> None:
    """Raise KeyProblem for the first rule across keys that the scenario breaks."""
    for rule in RULES:
        rule(s)
