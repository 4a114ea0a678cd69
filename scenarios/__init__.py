"""Scenarios: the TOML schema, the loader and validator, and the built-in scenario files (package data).

Names are re-exported lazily so that `python -m scenarios.schema` runs without importing the module twice.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names load on first use
    from scenarios.errors import ScenarioError
    from scenarios.loader import (apply_overrides, builtin_names, load_scenario, load_scenario_text,
                                  parse_override, scenario_hash)
    from scenarios.move_count import frame_stewart, n_moves
    from scenarios.schema import SCHEMA, Key, render_key_table_markdown
    from scenarios.spec import (AgentsSpec, CurriculumSpec, DieAtSpec, FaultsSpec, GridSpec, LayoutSpec,
                                OracleSpec, OutageSpec, PatchSpec, RecordSpec, Scenario, TaskSpec)
    from scenarios.tomlout import scenario_to_toml

_EXPORTS = {
    "scenarios.errors": ("ScenarioError",),
    "scenarios.loader": ("apply_overrides", "builtin_names", "load_scenario", "load_scenario_text", "parse_override",
                         "scenario_hash"),
    "scenarios.move_count": ("frame_stewart", "n_moves"),
    "scenarios.schema": ("SCHEMA", "Key", "render_key_table_markdown"),
    "scenarios.spec": ("AgentsSpec", "CurriculumSpec", "DieAtSpec", "FaultsSpec", "GridSpec", "LayoutSpec",
                       "OracleSpec", "OutageSpec", "PatchSpec", "RecordSpec", "Scenario", "TaskSpec"),
    "scenarios.tomlout": ("scenario_to_toml",),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'scenarios' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
