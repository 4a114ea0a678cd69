"""Everything a run checks about a scenario before it allocates, as one function: `gridhanoi scenario check` calls
it too, so a file that checks ok is one that runs (issue 13). No Taichi: layout and maps are built on the host."""
from __future__ import annotations

from engine.sim.manager_check import check_manager
from engine.sim.memory import SHARE, available_memory, check_memory, largest_worlds
from engine.sim.simulation import build_world_layout
from scenarios.errors import ScenarioError


def check_record_worlds(scenario, most_worlds: int) -> None:
    """Refuse record.worlds beyond the worlds a run of this scenario can have on this machine."""
    beyond = [w for w in scenario.record.worlds if w >= most_worlds]
    if beyond:
        raise ScenarioError(f"{scenario.source}: record.worlds lists world {beyond[0]}, but a run of this scenario "
                            f"can have at most {most_worlds} worlds here (memory); record worlds below that")


def preflight(scenario) -> None:
    """Run the checks `run` makes before allocating: maps (PNG size, aspect, decompression bombs), curriculum
    radii against the layout, the manager plugin, and record.worlds against the worlds that fit in memory."""
    _, layout = build_world_layout(scenario)
    check_manager(scenario, layout.zone_ring)
    most = max(1, largest_worlds(scenario, layout.n_zones, int(SHARE * available_memory())))
    check_record_worlds(scenario, min(most, (2**31 - 1) // scenario.grid.size ** 2))


def check_scenario_memory(scenario, worlds: int, record: bool = False) -> None:
    """check_memory for a scenario whose layout is not built yet (experiment batches, sweep jobs)."""
    check_memory(scenario, worlds, build_world_layout(scenario)[1].n_zones, record)
