"""Consensus mode (DESIGN §2.8): the kernel against the NumPy reference bit for bit, the race replayed by hand, and
verified mode unchanged by the mode's existence."""
import hashlib

import numpy as np
import pytest

from engine.sim.simulation import Simulation
from kernels.records import VOTE, ZONE
from scenarios.loader import load_scenario

# one batch, one world per configuration: k 1…3, audits, red flags, learning from the oracle, a heavy oracle vote,
# the observable NLL from the oracle, the managers that read what consensus mode lets them see
WORLD_KNOBS = [
    {"consensus.k_ahead": 1},
    {"consensus.k_ahead": 2, "consensus.audit": "confidence", "consensus.tau_audit": 0.95},
    {"consensus.k_ahead": 3, "consensus.audit": "contested", "consensus.red_flag": 0.3},
    {"consensus.k_ahead": 2, "consensus.learn": "oracle", "consensus.nll_source": "oracle", "consensus.w_oracle": 2},
    {"consensus.k_ahead": 1, "consensus.tau_commit": 0.5, "consensus.red_flag": 0.5, "consensus.audit": "confidence",
     "consensus.tau_audit": 0.97, "curriculum.manager": "thompson", "curriculum.zones_per_tick": 1},
    {"consensus.k_ahead": 2, "curriculum.manager": "learning_progress", "oracle.error": 0.2},
]


def consensus_batch(tile: int, backend: str, pegs: int = 3):
    """A smoke-sized consensus batch of len(WORLD_KNOBS) worlds with tiles of `tile`×`tile` agents."""
    common = {"consensus.feedback": "consensus", "grid.tile": tile, "grid.tau_green": 1, "agents.c0": 0.05,
              "curriculum.manager": "stages", "task.pegs": pegs}
    variants = [load_scenario("smoke", {**common, **knobs}) for knobs in WORLD_KNOBS]
    return Simulation(variants[0], seed=5, worlds=len(variants), arch="cpu", backend=backend, variants=variants)


def votes_of(device):
    """(V, Vp) of a device as NumPy arrays, whichever backend."""
    as_np = lambda x: x if isinstance(x, np.ndarray) else x.to_numpy()  # noqa: E731
    return as_np(device.votes), as_np(device.vote_phat)


@pytest.mark.parametrize("tile, pegs", [(1, 3), (2, 3), (2, 4)])
def test_consensus_kernel_matches_reference_bit_for_bit(taichi_cpu, tile, pegs):
    """Every agent field, vote counter and statistic equal after every tick, in every configuration (4 pegs: 12
    answers, 13 Frame–Stewart moves)."""
    a, b = consensus_batch(tile, "taichi", pegs), consensus_batch(tile, "reference", pegs)
    while a.running.any():
        a.step()
        b.step()
        if a.tick % 4 == 0 or not a.running.any():  # agent fields every 4 ticks (a difference persists), the rest always
            sa, sb = a.device.snapshot(), b.device.snapshot()
            for name in sa:
                assert np.array_equal(sa[name], sb[name]), f"{name} differs at tick {a.tick}"
        ta, tb = a.device.stats(), b.device.stats()
        assert ta.keys() == tb.keys()
        for name in ta:
            assert np.array_equal(ta[name], tb[name]), f"{name} differs at tick {a.tick}"
        for x, y in zip(a.device.moves_table(), b.device.moves_table()):
            assert np.array_equal(x, y), f"move table differs at tick {a.tick}"
        for x, y in zip(votes_of(a.device), votes_of(b.device)):
            assert np.array_equal(x, y), f"vote counters differ at tick {a.tick}"
    assert a.summary()["world_results"] == b.summary()["world_results"]
    # the batch exercised every branch of the consensus tick
    votes, totals = a.vote_totals, a.totals
    for stat in (VOTE.votes, VOTE.abstained, VOTE.red_flagged, VOTE.audits, VOTE.audit_rejected, VOTE.composed_wrong,
                 VOTE.agree):
        assert votes[:, stat].sum() > 0, VOTE.names[stat]
    for stat in (ZONE.escalated, ZONE.oracle_answers, ZONE.oracle_wrong) + ((ZONE.adopted,) if tile > 1 else ()):
        assert totals[:, stat].sum() > 0, ZONE.names[stat]
    assert all(o == "complete" for o in a.outcome)


def test_race_replayed_by_hand(taichi_cpu):
    """Each tick, the tiles' decisions follow from the votes alone: replay first-to-ahead-by-2 in row-major cell
    order over the answers the agents cast (plain Python, V carried across ticks) and find the same composed moves,
    the same vote counters and no decision where the replay has none."""
    scenario = load_scenario("smoke", {"consensus.feedback": "consensus", "consensus.k_ahead": 2,
                                       "consensus.tau_commit": 0.0, "grid.tau_green": 1, "oracle.enabled": False,
                                       "curriculum.manager": "none"})
    sim = Simulation(scenario, seed=9, worlds=1, arch="cpu")
    G, t, lay = scenario.grid.size, scenario.grid.tile, sim.layout
    tally = {int(tile): [0] * 6 for tile in np.nonzero(lay.move_of_tile >= 0)[0]}  # V of each open tile
    decisions = 0
    while sim.running.any():
        sim.step()
        cast = sim.device.cast.to_numpy()[0]  # 128 | answer + 1 when the agent voted this tick
        complete_tick, composed = sim.device.moves_table()
        votes = sim.device.votes.to_numpy()[0]
        for tile, v in list(tally.items()):
            ty, tx = divmod(tile, G // t)
            decided = None
            for a_i in range(t):
                for a_j in range(t):
                    c = int(cast[(ty * t + a_i) * G + tx * t + a_j])
                    if c & 128 and decided is None:
                        answer = (c & 127) - 1
                        v[answer] += 1
                        if v[answer] - max(x for j, x in enumerate(v) if j != answer) >= 2:
                            decided = answer
            move = lay.move_of_tile[tile]
            assert list(votes[tile]) == v
            if decided is None:
                assert complete_tick[0, move] < 0
                continue
            src, dst = (composed[0, move] >> 2) & 3, composed[0, move] & 3
            assert complete_tick[0, move] == sim.tick - 1 and src * 2 + dst - (dst > src) == decided
            del tally[tile]
            decisions += 1
    assert decisions == sim.M and not tally


# verified mode is the paper's model: the consensus mode must not change a single bit of it. Figures and digest of
# `paper` and `smoke` (seed 3, 2 worlds, Taichi on the CPU) from the code before consensus mode existed (37012be).
VERIFIED_BEFORE = {
    "paper": ([(141, 10700, 490, 719), (150, 10740, 452, 726)], "3f6184f1d6e9a11c"),
    "smoke": ([(58, 551, 13, 27), (52, 529, 8, 29)], "fa59cccb8763bf49"),
}


@pytest.mark.parametrize("name", sorted(VERIFIED_BEFORE))
def test_verified_mode_unchanged(taichi_cpu, name):
    """Same seeds → the same episodes as before consensus mode: figures, moves, final agents and statistics."""
    sim = Simulation(load_scenario(name), seed=3, worlds=2, arch="cpu").run()
    complete_tick, composed = sim.device.moves_table()
    snap = sim.device.snapshot()
    digest = hashlib.sha256()
    totals = np.delete(sim.totals, ZONE.active, axis=1)  # a statistic added later (active agents) is not hashed
    for array in (complete_tick, composed, snap["competence"], snap["state"], snap["attempts"], snap["history"],
                  totals, sim.reliability):
        digest.update(np.ascontiguousarray(array).tobytes())
    figures = [(w["ticks"], w["attempts"], w["oracle_calls"], w["adoptions"]) for w in sim.summary()["world_results"]]
    assert (figures, digest.hexdigest()[:16]) == VERIFIED_BEFORE[name]
