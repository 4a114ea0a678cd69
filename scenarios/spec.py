"""The validated scenario: a frozen dataclass tree whose field names are the TOML keys (see scenarios.schema).

Built only by scenarios.loader, which fills every field (defaults come from the schema, not from here); lists are
tuples, inline tables are the small dataclasses below. A test checks these fields against the schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PatchSpec:
    """Seeded round patches of base competence: c0 = inside within radius cells of a centre, else outside."""

    count: int
    radius: float
    inside: float
    outside: float


@dataclass(frozen=True)
class DieAtSpec:
    """At tick `tick`, a seeded share `share` of the grid's agents die."""

    tick: int
    share: float


@dataclass(frozen=True)
class OutageSpec:
    """The oracle is unavailable for start ≤ tick < end (TOML keys `from` and `to`)."""

    start: int
    end: int


@dataclass(frozen=True)
class GridSpec:
    """[grid]: size×size cells in tiles of tile×tile agents; tau_green agreeing agents compose a move."""

    size: int
    tile: int
    tau_green: int


@dataclass(frozen=True)
class TaskSpec:
    """[task]: the long-horizon task and when an episode gives up."""

    kind: str
    disks: int
    pegs: int
    max_ticks: int
    stall_ticks: int


@dataclass(frozen=True)
class LayoutSpec:
    """[layout]: moves → tiles, zones, difficulty map."""

    mapping: str
    order: str
    sectors: int
    seed: int
    difficulty: str
    difficulty_ascii: str


@dataclass(frozen=True)
class AgentsSpec:
    """[agents]: competence, learning rates and confidence model of every agent."""

    c0: float
    s0: float
    eta: float
    eta_oracle: float
    eta_nbr: float
    eta_shared: float
    distill: bool
    kappa: float
    alpha: float
    a_max: int
    p_min: float
    p_max: float
    b_over: float
    omega: float
    sigma_conf: float
    slm_latency: int
    c0_patches: PatchSpec | None


@dataclass(frozen=True)
class OracleSpec:
    """[oracle]: selective escalation and what the oracle costs."""

    enabled: bool
    tau_escalate: float
    a_escalate: int
    latency: int
    error: float
    cost: float
    attempt_cost: float
    budget: int


@dataclass(frozen=True)
class ConsensusSpec:
    """[consensus]: verified feedback (the paper) or first-to-ahead-by-k voting where errors can enter the plan."""

    feedback: str
    tau_commit: float
    k_ahead: int
    w_oracle: int
    red_flag: float
    learn: str
    audit: str
    tau_audit: float
    nll_source: str


@dataclass(frozen=True)
class CurriculumSpec:
    """[curriculum]: the manager, its stages and its reward."""

    manager: str
    zones_per_tick: int
    radii: tuple[float, ...]
    tau_stage: float
    nll_weight: float
    discount: float
    reward_scaling: str
    lp_window: int
    epsilon: float


@dataclass(frozen=True)
class FaultsSpec:
    """[faults]: dead agents (random share, ASCII or PNG mask, later deaths) and oracle outages."""

    dead_share: float
    dead_ascii: str
    dead_png: str
    die_at: tuple[DieAtSpec, ...]
    oracle_outage: tuple[OutageSpec, ...]


@dataclass(frozen=True)
class RecordSpec:
    """[record]: what an episode records and how often."""

    frame_every: int
    worlds: tuple[int, ...]
    confidence: bool
    chunk_ticks: int


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Equality ignores source and base_dir: equal scenarios describe the same simulation."""

    name: str
    description: str
    source: str = field(compare=False)  # the file path, or "builtin:NAME", or "<text>"
    base_dir: Path = field(compare=False)  # folder that relative PNG paths are read from
    text: str  # the effective scenario as TOML (after overrides); loading it gives an equal Scenario
    grid: GridSpec
    task: TaskSpec
    layout: LayoutSpec
    agents: AgentsSpec
    oracle: OracleSpec
    consensus: ConsensusSpec
    curriculum: CurriculumSpec
    faults: FaultsSpec
    record: RecordSpec

    def path(self, relative: str) -> Path:
        """Return a path written in the scenario (difficulty, dead_png) resolved against base_dir."""
        return self.base_dir / relative


SECTION_SPECS = {"grid": GridSpec, "task": TaskSpec, "layout": LayoutSpec, "agents": AgentsSpec,
                 "oracle": OracleSpec, "consensus": ConsensusSpec,
                 "curriculum": CurriculumSpec, "faults": FaultsSpec, "record": RecordSpec}
TABLE_SPECS = {"agents.c0_patches": PatchSpec, "faults.die_at": DieAtSpec, "faults.oracle_outage": OutageSpec}
