"""Consensus learning (DESIGN §2.8 step 6) worked by hand in float64: what a composed tile teaches its agents and the
shared skill, toward the label's correctness ℓ that only the simulator knows."""
import numpy as np

from engine.sim.simulation import Simulation
from scenarios.loader import load_scenario

ETA, ETA_SHARED = 0.3, 0.05


def test_composed_tiles_teach_toward_the_labels_correctness(taichi_cpu):
    """learn = self: each agent of a tile composed this tick moves c += η(ℓ − c), everyone else keeps c; the shared
    skill of disk q follows S ← 1 − (1 − S)(1 − η_s)^k_right, then S ← S(1 − η_s)^k_wrong, with k the leader's
    votes V[c] of the tiles decided right / wrong. learn = oracle (no oracle here): nothing learns at all."""
    base = {"consensus.feedback": "consensus", "consensus.k_ahead": 2, "consensus.tau_commit": 0.0,
            "grid.tile": 1, "grid.tau_green": 1, "oracle.enabled": False, "curriculum.manager": "none",
            "agents.eta": ETA, "agents.eta_shared": ETA_SHARED, "agents.eta_nbr": 0.0, "agents.c0": 0.3}
    variants = [load_scenario("smoke", {**base, "consensus.learn": learn}) for learn in ("self", "oracle")]
    sim = Simulation(variants[0], seed=4, worlds=2, arch="cpu", variants=variants)
    lay = sim.layout
    moves = sim.task.moves.astype(np.int64)
    truth = moves[:, 0] * 16 + moves[:, 1] * 4 + moves[:, 2]
    cell_of_move = np.full(sim.M, -1)
    cell_of_move[lay.move_of_cell[lay.move_of_cell >= 0]] = np.nonzero(lay.move_of_cell >= 0)[0]
    skill = np.zeros((2, sim.task.n_categories))
    seen = {"right": 0, "wrong": 0}
    while sim.running.any():
        c_before = sim.device.snapshot()["competence"].astype(np.float64)
        tick = sim.tick
        sim.step()
        c_after = sim.device.snapshot()["competence"].astype(np.float64)
        complete_tick, composed = sim.device.moves_table()
        votes = sim.device.votes.to_numpy()
        for w, learn in enumerate(("self", "oracle")):
            now = np.nonzero(complete_tick[w] == tick)[0]
            expected = c_before[w].copy()
            k_right = np.zeros(sim.task.n_categories)
            k_wrong = np.zeros(sim.task.n_categories)
            for move in now:
                n = cell_of_move[move]
                right = composed[w, move] == truth[move]
                src, dst = (composed[w, move] >> 2) & 3, composed[w, move] & 3
                leader_votes = votes[w, lay.tile_of_cell[n], src * 2 + dst - (dst > src)]
                if learn == "self":
                    expected[n] += ETA * (float(right) - expected[n])
                    (k_right if right else k_wrong)[moves[move, 0]] += leader_votes
                seen["right" if right else "wrong"] += 1
            assert np.allclose(c_after[w], expected, atol=2e-6), (w, tick)
            skill[w] = 1 - (1 - skill[w]) * (1 - ETA_SHARED) ** k_right
            skill[w] = skill[w] * (1 - ETA_SHARED) ** k_wrong
            assert np.allclose(sim.skill[w], skill[w], atol=2e-5), (w, tick)
    assert seen["right"] > 0 and seen["wrong"] > 0, seen  # both labels were taught
    assert skill[0].max() > 0.1 and skill[1].max() == 0.0
