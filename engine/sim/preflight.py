"""Everything a run checks about a scenario before it allocates, as one function: `gridhanoi scenario check` calls
it too, so a file that checks ok is one that runs (issue 13). No Taichi: layout and maps are built on the host."""
from __future__ import annotations

import numpy as np

from engine.managers import Manager, ManagerError, manager_class
from scenarios.errors import ScenarioError


def check_manager(scenario, zone_ring: np.ndarray) -> type:
    """Import curriculum.manager (built-in or "package.module:Class"), check its interface and start one for a
    single world; return the class or raise ScenarioError naming the key."""
    name = scenario.curriculum.manager
    where = f"{scenario.source}: curriculum.manager = {name!r}"
    try:
        cls = manager_class(name)
    except ManagerError as err:
        raise ScenarioError(f"{scenario.source}: curriculum.manager: {err}") from None
    missing = [m for m in ("choose", "update") if not callable(getattr(cls, m, None))]
    if missing:
        raise ScenarioError(f"{where} has no {' or '.join(missing)}(obs) method; subclass engine.managers.Manager")
    try:
        manager = cls(scenario.curriculum, np.zeros(1, np.uint64), zone_ring)
    except Exception as err:  # noqa: BLE001 — user code: any failure is the plugin's, reported in one line
        raise ScenarioError(f"{where} fails to start for one world: {type(err).__name__}: {err}") from None
    if not isinstance(manager, Manager) and not callable(getattr(manager, "choose", None)):
        raise ScenarioError(f"{where} does not build a manager with choose(obs)")
    return cls


def check_record_worlds(scenario, most_worlds: int) -> None:
    """Refuse record.worlds beyond the worlds a run of this scenario can have on this machine."""
    beyond = [w for w in scenario.record.worlds if w >= most_worlds]
    if beyond:
        raise ScenarioError(f"{scenario.source}: record.worlds lists world {beyond[0]}, but a run of this scenario "
                            f"can have at most {most_worlds} worlds here (memory); record worlds below that")


def preflight(scenario) -> None:
    """Run the checks `run` makes before allocating: maps (PNG size, aspect, decompression bombs), curriculum
    radii against the layout, the manager plugin, and record.worlds against the worlds that fit in memory."""
    from engine.sim.memory import available_memory, largest_worlds, SHARE
    from engine.sim.simulation import build_world_layout

    _, layout = build_world_layout(scenario)
    check_manager(scenario, layout.zone_ring)
    most = max(1, largest_worlds(scenario, layout.n_zones, int(SHARE * available_memory())))
    check_record_worlds(scenario, min(most, (2**31 - 1) // scenario.grid.size ** 2))
