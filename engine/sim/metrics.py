"""Calibration and cost metrics of a Simulation's worlds (DESIGN §2.7), pure NumPy.

Inputs are the Simulation's own integer statistics — `totals` (W, len(ZONE)), `reliability` (W, 15, len(BIN)): count,
correct, Σp̂ in fixed point — so every figure here is as deterministic as the run. `TimeSeries` is a Simulation
listener that keeps a few small per-tick arrays (moves complete, oracle calls, attempts, stage) for the plots.
"""
from __future__ import annotations

import math

import numpy as np

from kernels import constants as K
from kernels.records import BIN, VOTE, WORLD, ZONE


def _per_attempt(totals: np.ndarray, column: int, fixed_point: bool) -> np.ndarray:
    """Column of `totals` divided by resolved attempts (NaN where a world resolved none)."""
    totals = np.asarray(totals, dtype=np.int64)
    n = totals[..., ZONE.resolved].astype(float)
    value = totals[..., column] / (K.FX_SCALE if fixed_point else 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, value / np.maximum(n, 1), np.nan)


def mean_nll(totals: np.ndarray) -> np.ndarray:
    """Mean negative log-likelihood of p̂ over resolved attempts, per world."""
    return _per_attempt(totals, ZONE.nll_fx, fixed_point=True)


def brier(totals: np.ndarray) -> np.ndarray:
    """Mean Brier score (p̂ − y)² over resolved attempts, per world."""
    return _per_attempt(totals, ZONE.brier_fx, fixed_point=True)


def accuracy(totals: np.ndarray) -> np.ndarray:
    """Share of resolved attempts whose proposal was right, per world."""
    return _per_attempt(totals, ZONE.correct, fixed_point=False)


def escalation_precision(totals: np.ndarray) -> np.ndarray:
    """Share of escalations where the agent's own proposal was wrong (NaN where nothing was escalated)."""
    totals = np.asarray(totals, dtype=np.int64)
    calls = totals[..., ZONE.escalated].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(calls > 0, totals[..., ZONE.escalated_wrong] / np.maximum(calls, 1), np.nan)


def reliability_bins(reliability: np.ndarray) -> dict[str, np.ndarray]:
    """Reliability-diagram bins: edges (16,), and per bin count, accuracy, mean confidence (NaN in empty bins)."""
    rel = np.asarray(reliability, dtype=np.int64)
    count = rel[..., BIN.count].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(count > 0, rel[..., BIN.correct] / np.maximum(count, 1), np.nan)
        conf = np.where(count > 0, rel[..., BIN.phat_fx] / K.FX_SCALE / np.maximum(count, 1), np.nan)
    edges = np.linspace(0.0, 1.0, rel.shape[-2] + 1)
    return {"edges": edges, "count": rel[..., BIN.count], "accuracy": acc, "confidence": conf}


def ece(reliability: np.ndarray) -> np.ndarray:
    """Expected calibration error over the equal-width bins: Σ_b (n_b / N) |accuracy_b − confidence_b|."""
    bins = reliability_bins(reliability)
    count = bins["count"].astype(float)
    total = count.sum(axis=-1)
    gap = np.nan_to_num(np.abs(bins["accuracy"] - bins["confidence"]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (count * gap).sum(axis=-1) / np.maximum(total, 1), np.nan)


def world_metrics(sim, world: int) -> dict:
    """Every per-run figure of one world: the one formula behind `run`'s summary and experiment and sweep rows.

    A figure added here appears in `Simulation.summary()` (run --json, the manifest) and, when it is not a list,
    as a column of every experiment and sweep row (engine/batch/rows.py). Undefined ratios are NaN."""
    v = sim.variants[world]
    t = sim.totals[world]
    attempts = int(t[ZONE.resolved])
    calls = int(sim.oracle_calls[world])
    outcome = sim.outcome[world] or "running"
    ticks = int(sim.end_tick[world] or sim.tick)
    return {
        "world": world,
        "seed": int(sim.seeds[world]),
        "manager": v.curriculum.manager,
        "outcome": outcome,
        "ticks": ticks,
        "ticks_to_complete": float(ticks) if outcome == "complete" else math.nan,
        "moves_complete": int(sim.world_stats[world, WORLD.moves_done]),
        "moves_total": int(sim.M),
        "prefix": int(sim.world_stats[world, WORLD.prefix]),
        "final_stage": int(sim.stage[world]),
        "stage_ticks": [int(x) for x in sim.stage_ticks[world]],
        "attempts": attempts,
        "correct": int(t[ZONE.correct]),
        "wrong_attempts": attempts - int(t[ZONE.correct]),
        "adoptions": int(t[ZONE.adopted]),
        "oracle_calls": calls,
        "escalations_wrong": int(t[ZONE.escalated_wrong]),
        "oracle_wrong": int(t[ZONE.oracle_wrong]),
        "cost": attempts * v.oracle.attempt_cost + calls * v.oracle.cost,
        "accuracy": float(accuracy(t)),
        "mean_nll": float(mean_nll(t)),
        "brier": float(brier(t)),
        "ece": float(ece(sim.reliability[world])),
        "escalation_precision": float(escalation_precision(t)),
        **sim.plan_verdict(world),  # errors, first_error, plan_valid, plan_error
        "stalled_moves": sim.stalled_moves(world) if outcome == "stalled" else [],
        **consensus_columns(sim, world),
    }


def consensus_columns(sim, world: int) -> dict:
    """Consensus mode's vote figures of one world (DESIGN §2.8; none in verified mode): SLM votes cast, right,
    abstained, red-flagged; audits; counted votes of the decisions; oracle answers (w_oracle votes each); and the
    ratios MAKER's law is written in: per-vote accuracy p (votes_right / votes), valid share v (votes / attempts)
    and counted votes per composed move."""
    if not getattr(sim, "consensus", False):
        return {}
    vt, t = sim.vote_totals[world], sim.totals[world]
    n = {name: int(vt[getattr(VOTE, name)]) for name in
         ("votes", "votes_right", "abstained", "red_flagged", "audits", "audit_rejected", "decision_votes")}
    moves = int(sim.world_stats[world, WORLD.moves_done])
    attempts = int(t[ZONE.resolved])
    return {**n, "oracle_answers": int(t[ZONE.oracle_answers]),
            "vote_accuracy": n["votes_right"] / n["votes"] if n["votes"] else math.nan,
            "valid_share": n["votes"] / attempts if attempts else math.nan,
            "votes_per_move": n["decision_votes"] / moves if moves else math.nan}


def reliability_columns(sim, world: int) -> dict[str, list[int]]:
    """One world's reliability-diagram counts (per bin: attempts, correct ones, Σp̂ in fixed point)."""
    return {"rel_count": sim.reliability[world, :, 0].tolist(),
            "rel_correct": sim.reliability[world, :, 1].tolist(),
            "rel_conf_fx": sim.reliability[world, :, 2].tolist()}


def longest_plateau(moves: np.ndarray) -> int:
    """Most consecutive ticks without a newly completed move, up to the last completed move (progress stability)."""
    m = np.asarray(moves, dtype=np.int64)
    grew = np.nonzero(np.diff(np.concatenate([[0], m])) > 0)[0]
    if grew.size == 0:
        return int(m.size)
    return int(np.diff(np.concatenate([[-1], grew])).max() - 1)


def stage_tick_columns(stage_ticks: list[int], n_stages: int) -> dict[str, float]:
    """`stage_ticks` (tick at which each stage began) as columns stage_1_tick … (NaN for stages never reached)."""
    return {f"stage_{s}_tick": float(stage_ticks[s]) if s < len(stage_ticks) else math.nan
            for s in range(1, n_stages)}


class TimeSeries:
    """Simulation listener: per tick and world, moves complete, oracle calls, attempts and stage (cumulative)."""

    FIELDS = ("moves", "oracle_calls", "attempts", "stage")

    def __init__(self):
        self.rows: dict[str, list[np.ndarray]] = {f: [] for f in self.FIELDS}

    def __call__(self, sim, stats) -> None:
        """Append this tick's values (ended worlds keep their last values)."""
        self.rows["moves"].append(sim.world_stats[:, WORLD.moves_done].astype(np.int32))
        self.rows["oracle_calls"].append(sim.oracle_calls.astype(np.int32))
        self.rows["attempts"].append(sim.totals[:, ZONE.resolved].astype(np.int32))
        self.rows["stage"].append(sim.stage.astype(np.int8))

    def arrays(self) -> dict[str, np.ndarray]:
        """Each field as a (ticks, W) array; row t holds the values after tick t."""
        return {f: np.stack(v) if v else np.zeros((0, 0), np.int32) for f, v in self.rows.items()}
