"""The exact check of consensus mode (DESIGN §2.8): the vote race against first principles.

With learning off, uniform p, no escalation and τ_commit 0, every tile of one agent runs an i.i.d. race: each vote is
right with probability p, else one of the m = P(P − 1) − 1 = 5 wrong answers uniformly, and the tile decides the first
time one answer leads every other by k. The per-move error and the votes per decision follow from an absorbing Markov
chain derived here in float64, independently of the engine: they must match the table in DESIGN §2.8 (to its printed
digits) and the kernel's tile-1 moves within binomial bounds. Red flags act as p′ = p / (p + (1 − p)(1 − r)).
"""
import math

import numpy as np
import pytest

from engine.sim.simulation import Simulation
from kernels.records import VOTE, ZONE
from scenarios.loader import load_scenario

WRONG_ANSWERS = 5  # 3 pegs: 6 ordered peg pairs, one right
# DESIGN §2.8, "Exact check": per-move error for k = 1…5
DESIGN_TABLE = {  # as printed, so each entry carries its precision
    0.5: (".5", ".1062", ".01906", ".003468", ".000647"),
    0.6: (".4", ".05260", ".006117", ".000731", ".0000900"),
    0.8: (".2", ".009340", ".0004153", ".0000187", ".00000086"),
}


def race_chain(k: int, m: int = WRONG_ANSWERS):
    """The race's transient states and moves, for any p: (n_states, from, answer voted (0 = right), to).

    A state is how far each answer is behind the current maximum count: the right answer first, then the m wrong
    ones sorted (they are exchangeable). `to` is −1 when the vote decides right, −2 when it decides wrong. Gaps are
    capped at 2k + 2: an answer that far behind almost never matters (raising the cap changes no printed digit)."""
    cap = 2 * k + 2
    index = {(0,) * (m + 1): 0}
    frontier = [(0,) * (m + 1)]
    moves = []
    while frontier:
        new = []
        for state in frontier:
            here = index[state]
            for i in range(m + 1):
                gaps = list(state)
                if gaps[i] == 0:  # a vote for a leader: everyone else falls one further behind
                    others_behind = min(g for j, g in enumerate(gaps) if j != i) + 1
                    if others_behind >= k:
                        moves.append((here, i, -1 if i == 0 else -2))
                        continue
                    gaps = [0 if j == i else min(g + 1, cap) for j, g in enumerate(gaps)]
                else:
                    gaps[i] -= 1
                nxt = (gaps[0], *sorted(gaps[1:]))
                if nxt not in index:
                    index[nxt] = len(index)
                    new.append(nxt)
                moves.append((here, i, index[nxt]))
        frontier = new
    src, answer, dst = (np.array(col) for col in zip(*moves))
    return len(index), src, answer, dst


def race_outcome(chain, p: float, m: int = WRONG_ANSWERS):
    """(P(decide wrong), E[votes], Var[votes]) of the race with per-vote accuracy p, by iterating the chain."""
    n_states, src, answer, dst = chain
    prob = np.where(answer == 0, p, (1.0 - p) / m)
    mass = np.zeros(n_states)
    mass[0] = 1.0
    wrong = mean = second = 0.0
    n = 0
    while mass.sum() > 1e-15:
        n += 1
        alive = mass.sum()  # P(votes ≥ n)
        mean += alive
        second += (2 * n - 1) * alive
        flow = mass[src] * prob
        wrong += flow[dst == -2].sum()
        mass = np.bincount(dst[dst >= 0], weights=flow[dst >= 0], minlength=n_states)
    return wrong, mean, second - mean * mean


@pytest.fixture(scope="module")
def chains():
    """The race chain for k = 1…5 (independent of p)."""
    return {k: race_chain(k) for k in range(1, 6)}


def test_derivation_matches_design_table(chains):
    """Our absorbing chain reproduces DESIGN §2.8's table to its printed digits, and k = 1 is the trivial 1 − p."""
    for p, row in DESIGN_TABLE.items():
        for k, printed in enumerate(row, start=1):
            wrong, votes, _ = race_outcome(chains[k], p)
            last_digit = 10.0 ** -(len(printed) - 1)  # ".1062" → 1e-4
            assert abs(wrong - float(printed)) <= 0.5 * last_digit, (p, k, wrong, printed)
            if k == 1:
                assert wrong == pytest.approx(1 - p) and votes == pytest.approx(1.0)
    # MAKER's two-candidate form (1 − p)^k / (p^k + (1 − p)^k) overstates the error when wrong votes scatter
    wrong, _, _ = race_outcome(chains[3], 0.6)
    assert wrong < 0.4 ** 3 / (0.6 ** 3 + 0.4 ** 3)


EXACT_BASE = {  # uniform p, learning off, no escalation, every attempt votes, every tile open
    "grid.size": 128, "grid.tile": 1, "grid.tau_green": 1, "task.disks": 14, "task.max_ticks": 100000,
    "curriculum.manager": "none", "oracle.enabled": False, "agents.eta": 0.0, "agents.eta_oracle": 0.0,
    "agents.eta_nbr": 0.0, "agents.eta_shared": 0.0, "agents.kappa": 0.0, "agents.alpha": 0.0,
    "consensus.feedback": "consensus", "consensus.tau_commit": 0.0,
}
CASES = [(p, k, 0.0) for p in DESIGN_TABLE for k in range(1, 6)] + [(0.6, 3, 0.5), (0.5, 2, 0.8)]


def test_kernel_race_matches_exact_values(taichi_cpu, chains):
    """16,383 tile-1 moves per (p, k, red flag r) in one batch: errors and votes per decision within binomial bounds."""
    variants = [load_scenario("smoke", {**EXACT_BASE, "agents.c0": p, "consensus.k_ahead": k,
                                        "consensus.red_flag": r}) for p, k, r in CASES]
    sim = Simulation(variants[0], seed=1, worlds=len(variants), arch="cpu", variants=variants).run()
    results = sim.summary()["world_results"]
    for w, (p, k, r) in enumerate(CASES):
        res = results[w]
        moves = res["moves_complete"]
        assert res["outcome"] == "complete" and moves == 2 ** 14 - 1
        valid = p + (1 - p) * (1 - r)  # share of attempts that are not red-flagged
        wrong, votes, votes_var = race_outcome(chains[k], p / valid)
        bound = 4.5 * math.sqrt(moves * wrong * (1 - wrong)) + 1
        assert abs(res["errors"] - moves * wrong) <= bound, (p, k, r, res["errors"], moves * wrong)
        counted = sim.vote_totals[w, VOTE.decision_votes] / moves
        assert abs(counted - votes) <= 4.5 * math.sqrt(votes_var / moves) + 1e-9, (p, k, r, counted, votes)
        # attempts per decision: the votes plus the red-flagged attempts between them (negative binomial)
        attempts = sim.totals[w, ZONE.resolved] / moves
        attempts_var = (votes * (1 - valid) + votes_var) / valid ** 2
        assert abs(attempts - votes / valid) <= 4.5 * math.sqrt(attempts_var / moves) + 1e-9, (p, k, r, attempts)
