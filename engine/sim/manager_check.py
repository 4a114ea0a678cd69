"""Check a scenario's curriculum manager before a run allocates: import it (built-in or "package.module:Class"),
check its interface, start one for a single world. Used by Simulation and by `scenario check` (engine/sim/preflight.py)."""
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
