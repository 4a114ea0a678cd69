"""Statistical model tests (DESIGN §2.4): rates and distributions against DESIGN's formulas worked in float64 here.

With learning off (η = η_oracle = η_nbr = η_shared = 0) every agent keeps c = c₀ and S = S₀, so each resolved attempt
is a Bernoulli draw whose success probability the test computes from the scenario alone (one world lets the shared
skill learn: there S[q] is read before each tick and its update checked against the tick's successes):
    e = 1 − (1 − c)(1 − S[q]),  p = clip(e(1 − κd) + α·min(a, a_max), p_min, p_max),  d = digit/9·1.42 (drawn map),
and whose confidence must be p̂ = σ(logit p + b_over(1 − e) + ω e (2y − 1) + σ_conf ε) with ε ~ N(0, 1). Tiles are one
cell with τ_green = 1, so nothing is adopted and every resolved attempt is read off the agent: y is the newest history
bit, p̂ its confidence, the proposal its move. Bounds are 5 σ (fixed seeds: deterministic, never flaky) and each test
also checks that plausible misreadings of a formula would fail it, so the bounds are tight enough to matter.
"""
import functools
import math

import numpy as np
import pytest

from engine.sim.simulation import Simulation, unpack_moves
from scenarios.loader import load_scenario_text

WORKING, WAITING, SUCCESS = 1, 2, 3  # DESIGN §2.3
Z = 5.0  # bound in standard deviations
LEARNING_OFF = dict(eta=0.0, eta_oracle=0.0, eta_nbr=0.0, eta_shared=0.0)
BANDS = "0369"  # difficulty digits, one band of columns each


def band_art(size: int) -> str:
    """A size×size difficulty map drawn at full resolution: four bands of columns with digits 0, 3, 6, 9."""
    row = "".join(BANDS[4 * j // size] for j in range(size))
    return "\n".join([row] * size)


def scenario_text(size: int, disks: int, pegs: int) -> str:
    """One agent per move, learning off, every zone active from tick 0, the oracle off unless a world turns it on."""
    agents = "".join(f"{k} = {v}\n" for k, v in LEARNING_OFF.items())
    return (f"[grid]\nsize = {size}\ntile = 1\ntau_green = 1\n[task]\ndisks = {disks}\npegs = {pegs}\n"
            f"[layout]\ndifficulty_ascii = '''\n{band_art(size)}\n'''\n[agents]\n{agents}"
            "[oracle]\nenabled = false\n[curriculum]\nmanager = \"none\"\n")


# per world: (c0, S0, κ, α, a_max, p_min, p_max, b_over, ω, σ_conf) and oracle knobs
DEFAULTS = dict(c0=0.3, s0=0.0, kappa=0.5, alpha=0.0, a_max=10, p_min=0.02, p_max=0.995, b_over=1.5, omega=2.0,
                sigma_conf=0.5, eta_shared=0.0)
WORLDS_3 = (
    dict(),                                                                    # e = c
    dict(c0=0.0, s0=0.3),                                                      # e = S: the same p as world 0
    dict(c0=0.2, s0=0.5, kappa=0.6, b_over=-1.0, omega=0.5, sigma_conf=1.0),  # e = 0.6
    dict(c0=0.5, s0=0.4, kappa=0.3, alpha=0.05, a_max=3, b_over=3.0, omega=4.0, sigma_conf=0.25),  # pity, capped
    dict(c0=0.9, s0=0.9, kappa=1.0, p_min=0.05, p_max=0.95),                 # clipped at both ends
    dict(c0=0.1, kappa=0.0, alpha=0.1, a_max=5),                               # p = 0.1 + 0.1·min(a, 5)
    dict(oracle=dict(enabled=True, tau_escalate=0.99, a_escalate=0, latency=1, error=0.3)),  # always escalates
    dict(c0=0.2, oracle=dict(enabled=True, tau_escalate=0.99, a_escalate=0, latency=2, error=0.1)),
    dict(c0=0.1, s0=0.05, kappa=0.4, eta_shared=0.003),                       # S[q] learns, per category q
)
LEARNS_S = 8
WORLDS_4 = (dict(c0=0.05, kappa=0.0), dict(c0=0.3, s0=0.2, kappa=0.6, b_over=-0.5, omega=3.0, sigma_conf=0.8),
            dict(c0=0.6, kappa=0.4, alpha=0.02, a_max=4))


def knobs(world: dict) -> dict:
    """A world's agent knobs with the defaults above filled in."""
    return {**DEFAULTS, **{k: v for k, v in world.items() if k != "oracle"}}


def overrides(world: dict) -> dict:
    """Scenario overrides (dotted keys) for one world."""
    out = {f"agents.{k}": v for k, v in knobs(world).items()}
    out.update({f"oracle.{k}": v for k, v in world.get("oracle", {}).items()})
    return out


class Observed:
    """Every resolved attempt and oracle answer of a run, one entry per event, as flat arrays."""

    def __init__(self, sim: Simulation, ticks: int, s0):
        G = sim.layout.size
        digit = np.array([int(ch) for ch in band_art(G).replace("\n", "")])
        category = sim.task.moves[np.maximum(sim.layout.move_of_cell, 0), 0]  # q = the disk the cell's move moves
        rows = {k: [] for k in ("tick", "world", "cell", "a", "S", "y", "phat", "proposal", "escalated",
                                "oracle_right", "oracle_world", "oracle_cell")}
        # S[w, q] before tick 0 (S₀), then after each tick
        self.skill = [np.repeat(np.float32(s0)[:, None], sim.task.moves[:, 0].max() + 1, axis=1).astype(np.float64)]
        for tick in range(ticks):
            before = sim.device.snapshot()
            running = sim.running.copy()
            sim.step()
            after = sim.device.snapshot()
            due = before["due"] <= tick
            resolved = (before["state"] == WORKING) & due & running[:, None]
            w, n = np.nonzero(resolved)
            rows["tick"].append(np.full(len(w), tick))
            rows["S"].append(self.skill[-1][w, category[n]])
            rows["world"].append(w)
            rows["cell"].append(n)
            rows["a"].append(before["attempts"][w, n])
            rows["y"].append(after["history"][w, n] & 1)
            rows["phat"].append(after["confidence"][w, n].astype(np.float64))
            rows["proposal"].append(after["proposal"][w, n])
            rows["escalated"].append(after["state"][w, n] == WAITING)
            answered = (before["state"] == WAITING) & due & running[:, None]
            w, n = np.nonzero(answered)
            rows["oracle_world"].append(w)
            rows["oracle_cell"].append(n)
            rows["oracle_right"].append(after["state"][w, n] == SUCCESS)
            assert np.array_equal(after["competence"], before["competence"]), "η = η_oracle = η_nbr = 0"
            self.skill.append(np.array(sim.skill, dtype=np.float64))
        self.__dict__.update({k: np.concatenate(v) for k, v in rows.items()})
        self.skill = np.array(self.skill)  # (ticks + 1, W, Q)
        self.category = category[self.cell]
        self.d = digit[self.cell] / 9.0 * 1.42
        self.true_move = sim.task.moves[sim.layout.move_of_cell[self.cell]]
        self.oracle_true = sim.task.moves[sim.layout.move_of_cell[self.oracle_cell]]


@functools.lru_cache(maxsize=None)
def observe(backend: str, pegs: int) -> tuple[Simulation, Observed]:
    """Run the 3-peg (32×32, 1,023 moves, 24 ticks) or 4-peg (20×20, 289 moves, 40 ticks) batch and record it."""
    size, disks, worlds, ticks = (32, 10, WORLDS_3, 24) if pegs == 3 else (20, 20, WORLDS_4, 40)
    text = scenario_text(size, disks, pegs)
    variants = [load_scenario_text(text, "rates.toml", overrides(w)) for w in worlds]
    sim = Simulation(variants[0], seed=101, worlds=len(worlds), arch="cpu", backend=backend, variants=variants)
    return sim, Observed(sim, ticks, [knobs(w)["s0"] for w in worlds])


@pytest.fixture(params=["taichi", "reference"])
def backend(request):
    """Each statistical test runs on the Taichi kernel (CPU) and on the NumPy reference."""
    if request.param == "taichi":
        request.getfixturevalue("taichi_cpu")
    return request.param


def effective_skill(k: dict, S):
    """e = 1 − (1 − c)(1 − S[q]) with c = c₀ (learning off)."""
    return 1 - (1 - k["c0"]) * (1 - S)


def design_p(k: dict, d, a, S, e=None):
    """DESIGN §2.4 in float64: p = clip(e(1 − κd) + α·min(a, a_max), p_min, p_max), e = 1 − (1 − c)(1 − S[q])."""
    if e is None:
        e = effective_skill(k, S)
    return np.clip(e * (1 - k["kappa"] * d) + k["alpha"] * np.minimum(a, k["a_max"]), k["p_min"], k["p_max"])


def chi2_bound(df: int, z: float = Z) -> float:
    """Upper z-sigma point of χ²(df) (Wilson–Hilferty)."""
    h = 2.0 / (9.0 * df)
    return df * (1 - h + z * math.sqrt(h)) ** 3


def binomial_misfit(p: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Group attempts by their probability p: (max |z|, Σ z², number of groups) of successes against n·p."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    keys, inverse = np.unique(np.round(p, 9), return_inverse=True)
    n = np.bincount(inverse).astype(float)
    k = np.bincount(inverse, weights=y).astype(float)
    mean = np.bincount(inverse, weights=p) / n
    z = (k - n * mean) / np.sqrt(n * mean * (1 - mean))
    return float(np.abs(z).max()), float((z ** 2).sum()), len(keys)


def per_world(obs: Observed, worlds, p_of) -> np.ndarray:
    """Probability of each observed attempt from a per-world formula p_of(knobs, d, a, S)."""
    p = np.empty(len(obs.world))
    for w, world in enumerate(worlds):
        sel = obs.world == w
        p[sel] = p_of(knobs(world), obs.d[sel], obs.a[sel], obs.S[sel])
    return p


@pytest.mark.parametrize("pegs", [3, 4])
def test_attempts_are_right_at_rate_p(backend, pegs):
    """Successes of every (world, c, S, d, a) group match n·p within 5 σ, and in χ² over all groups; misreadings of
    e, of the difficulty term, of the pity cap or of the clip fail the same bounds."""
    sim, obs = observe(backend, pegs)
    worlds = WORLDS_3 if pegs == 3 else WORLDS_4
    assert len(obs.y) > (25_000 if pegs == 3 else 5_000)
    for w, world in enumerate(worlds):
        if knobs(world)["eta_shared"] == 0:
            assert np.allclose(obs.S[obs.world == w], knobs(world)["s0"], rtol=0, atol=1e-7), "S stays S₀"
    worst, chi2, groups = binomial_misfit(per_world(obs, worlds, design_p), obs.y)
    assert groups >= (30 if pegs == 3 else 10)
    assert worst < Z, f"a group is {worst:.1f} σ from n·p"
    assert chi2 < chi2_bound(groups), (chi2, groups)
    # the proposal is the true move exactly when y = 1
    right = np.all(unpack_moves(obs.proposal) == obs.true_move, axis=1)
    assert np.array_equal(right, obs.y == 1)
    if pegs == 4:
        return
    misreadings = {
        "e = c": lambda k, d, a, S: design_p(k, d, a, S, e=k["c0"]),
        "e = c + S": lambda k, d, a, S: design_p(k, d, a, S, e=np.minimum(1.0, k["c0"] + S)),
        "p = e − κd": lambda k, d, a, S: design_p(dict(k, kappa=0.0), d, a, S) - k["kappa"] * d,
        "pity not capped": lambda k, d, a, S: design_p(dict(k, a_max=10**6), d, a, S),
        "no clip": lambda k, d, a, S: design_p(dict(k, p_min=0.0, p_max=1.0), d, a, S),
    }
    for name, p_of in misreadings.items():
        worst, chi2, groups = binomial_misfit(per_world(obs, worlds, p_of), obs.y)
        assert worst > Z or chi2 > chi2_bound(groups), f"the bounds would not catch {name!r}"


def test_shared_skill_learns_per_category(backend):
    """In the world with η_shared > 0: after each tick S[q] = 1 − (1 − S[q])(1 − η_shared)^k_q, k_q the tick's
    successful attempts of category q (disk), and each attempt used its own category's S (using S[0] for every
    category is rejected by the binomial bounds)."""
    sim, obs = observe(backend, 3)
    k = knobs(WORLDS_3[LEARNS_S])
    Q = obs.skill.shape[2]
    sel = obs.world == LEARNS_S
    for tick in range(obs.skill.shape[0] - 1):
        now = sel & (obs.tick == tick)
        k_q = np.bincount(obs.category[now], weights=obs.y[now], minlength=Q)
        before = obs.skill[tick, LEARNS_S]
        np.testing.assert_allclose(obs.skill[tick + 1, LEARNS_S], 1 - (1 - before) * (1 - k["eta_shared"]) ** k_q,
                                   rtol=0, atol=2e-6 * (1 + k_q.max()) ** 0.5)
    final = obs.skill[-1, LEARNS_S]
    assert final[0] > 0.5 and final[-1] < 0.1, "disk 0 moves often, the largest disk once: S differs by category"
    p = lambda S: design_p(k, obs.d[sel], obs.a[sel], S)  # noqa: E731
    worst, chi2, groups = binomial_misfit(p(obs.S[sel]), obs.y[sel])
    assert worst < Z and chi2 < chi2_bound(groups)
    first = obs.skill[obs.tick[sel], LEARNS_S, 0]
    worst, chi2, groups = binomial_misfit(p(first), obs.y[sel])
    assert worst > Z or chi2 > chi2_bound(groups), "S[0] for every category would pass"


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x)."""
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def ks_distance(sample: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance between a sample and N(0, 1)."""
    x = np.sort(sample)
    cdf = normal_cdf(x)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))


def ks_bound(n: int) -> float:
    """KS distance exceeded with probability ≈ 10⁻⁷ by a sample of n from the right distribution."""
    return math.sqrt(math.log(2 / 1e-7) / (2 * n))


def implied_noise(obs: Observed, worlds, b_sign=1.0, omega_sign=1.0, over_e=False) -> np.ndarray:
    """ε = (logit p̂ − logit p − b_over(1 − e) − ω e (2y − 1)) / σ_conf for each attempt (DESIGN §2.4, float64)."""
    eps = np.empty(len(obs.world))
    for w, world in enumerate(worlds):
        sel = obs.world == w
        k = knobs(world)
        e = effective_skill(k, obs.S[sel])
        p = design_p(k, obs.d[sel], obs.a[sel], obs.S[sel])
        over = e if over_e else 1 - e
        z = (np.log(p / (1 - p)) + b_sign * k["b_over"] * over
             + omega_sign * k["omega"] * e * (2 * obs.y[sel].astype(float) - 1))
        ph = obs.phat[sel]
        eps[sel] = (np.log(ph / (1 - ph)) - z) / k["sigma_conf"]
    return eps


@pytest.mark.parametrize("pegs", [3, 4])
def test_confidence_follows_its_formula(backend, pegs):
    """The noise implied by each p̂ is standard normal in every world and for right and wrong proposals alike (KS,
    mean, spread); flipping the sign of ω, of b_over, or weighting b_over by e instead of 1 − e is rejected."""
    sim, obs = observe(backend, pegs)
    worlds = WORLDS_3 if pegs == 3 else WORLDS_4
    assert np.all((obs.phat > 1e-5) & (obs.phat < 1 - 1e-5)), "the fixture keeps p̂ away from its clip"
    eps = implied_noise(obs, worlds)
    groups = [obs.world == w for w in range(len(worlds))] + [obs.y == 0, obs.y == 1]
    for sel in groups:
        n = int(sel.sum())
        assert n > 500
        assert ks_distance(eps[sel]) < ks_bound(n)
        assert abs(eps[sel].mean()) < Z / math.sqrt(n)
        assert abs(eps[sel].std() - 1) < Z / math.sqrt(2 * n)
    for name, kw in {"ω sign": dict(omega_sign=-1.0), "b_over sign": dict(b_sign=-1.0),
                     "b_over·e": dict(over_e=True)}.items():
        wrong = implied_noise(obs, worlds, **kw)
        assert any(ks_distance(wrong[sel]) > ks_bound(int(sel.sum())) for sel in groups), name


def wrong_pair_counts(obs: Observed, pegs: int):
    """Counts of wrong proposals per (true pair, proposed pair) after checking each keeps the disk and moves it."""
    wrong = obs.y == 0
    got = unpack_moves(obs.proposal[wrong])
    true = obs.true_move[wrong]
    assert np.array_equal(got[:, 0], true[:, 0]), "a wrong proposal moves the same disk"
    assert np.all(got[:, 1] != got[:, 2]) and np.all((got[:, 1:] >= 0) & (got[:, 1:] < pegs))
    assert not np.any(np.all(got[:, 1:] == true[:, 1:], axis=1)), "a wrong proposal is not the true pair"
    counts = np.zeros((pegs, pegs, pegs, pegs), int)
    np.add.at(counts, (true[:, 1], true[:, 2], got[:, 1], got[:, 2]), 1)
    return counts


@pytest.mark.parametrize("pegs", [3, 4])
def test_wrong_proposals_are_uniform_over_the_other_pairs(backend, pegs):
    """Given its true pair, a wrong proposal is each of the other P(P − 1) − 1 ordered peg pairs equally often
    (χ² over every true pair; each pair within 5 σ); a rule that never proposes one of them is rejected."""
    sim, obs = observe(backend, pegs)
    counts = wrong_pair_counts(obs, pegs)
    pairs = [(s, t) for s in range(pegs) for t in range(pegs) if s != t]
    chi2, skewed_chi2, df, seen = 0.0, 0.0, 0, 0
    for ts, td in pairs:
        row = np.array([counts[ts, td, s, t] for s, t in pairs if (s, t) != (ts, td)], float)
        n = row.sum()
        if n < 20 * len(row):
            continue
        seen += 1
        expect = n / len(row)
        z = (row - expect) / math.sqrt(expect * (1 - 1 / len(row)))
        assert np.abs(z).max() < Z, (ts, td, row)
        chi2 += float(((row - expect) ** 2 / expect).sum())
        df += len(row) - 1
        # a misreading that never proposes one of the other pairs puts n/(m − 1) on each of the rest
        skewed = np.append(np.full(len(row) - 1, n / (len(row) - 1)), 0.0)
        skewed_chi2 += float(((skewed - expect) ** 2 / expect).sum())
    assert seen >= (3 if pegs == 3 else 8)
    assert chi2 < chi2_bound(df), (chi2, df)
    assert skewed_chi2 > chi2_bound(df), "the bound would not catch a pair that is never proposed"


def test_oracle_answers_are_right_at_one_minus_error(backend):
    """Answers due in the always-escalating worlds are right (Success, the true move) at rate 1 − error."""
    sim, obs = observe(backend, 3)
    for w in (6, 7):  # the worlds with the oracle on
        error = WORLDS_3[w]["oracle"]["error"]
        sel = obs.oracle_world == w
        n, k = int(sel.sum()), int(obs.oracle_right[sel].sum())
        assert n > 1000
        sd = math.sqrt(n * error * (1 - error))
        assert abs(k - n * (1 - error)) < Z * sd, (w, n, k)
        assert abs(k - n * error) > Z * sd, "error and 1 − error must be told apart"
    # a right answer leaves the true move as the agent's proposal
    final = unpack_moves(sim.device.snapshot()["proposal"][[6, 7]].ravel())
    state = sim.device.snapshot()["state"][[6, 7]].ravel()
    true = np.tile(sim.task.moves[np.maximum(sim.layout.move_of_cell, 0)], (2, 1))
    has_task = np.tile(sim.layout.move_of_cell >= 0, 2)
    assert np.all(final[(state == SUCCESS) & has_task] == true[(state == SUCCESS) & has_task])


def test_move_table_is_designs_closed_form_on_the_spiral():
    """The true moves the rates are checked against: DESIGN §2.1's closed form (3 pegs) on its spiral, and the
    Frame–Stewart length for 20 disks on 4 pegs (289)."""
    from engine.sim.layout import build_layout
    from engine.sim.tasks import make_task

    n, L = 10, 32
    task = make_task("hanoi", n, 3)
    swap = {0: 0, 1: 2, 2: 1} if n % 2 == 0 else {0: 0, 1: 1, 2: 2}
    closed = [((k & -k).bit_length() - 1, swap[(k & (k - 1)) % 3], swap[((k | (k - 1)) + 1) % 3])
              for k in range(1, 2 ** n)]
    assert [tuple(m) for m in task.moves] == closed
    # spiral: start at ((L − 1)//2, (L − 1)//2) (x = column, y = row), runs 1, 1, 2, 2, … along +x, +y, −x, −y
    x = y = (L - 1) // 2
    order = [(y, x)]
    run, direction = 1, 0
    steps = ((1, 0), (0, 1), (-1, 0), (0, -1))
    while len(order) < L * L:
        for _ in range(2):
            dx, dy = steps[direction % 4]
            for _ in range(run):
                x, y = x + dx, y + dy
                if 0 <= x < L and 0 <= y < L:
                    order.append((y, x))
            direction += 1
        run += 1
    expected = np.full((L, L), -1)
    for k, (row, col) in enumerate(order[:len(closed)]):
        expected[row, col] = k
    layout = build_layout(L, 1, len(closed))
    assert np.array_equal(layout.move_of_cell.reshape(L, L), expected)
    assert make_task("hanoi", 20, 4).n_moves == 289


def test_statistics_count_what_happened(backend):
    """The run's statistics against the attempts seen agent by agent (DESIGN §2.4 Measure): attempts, correct,
    oracle calls and wrong escalations; mean NLL = mean of −[y log p̂ + (1 − y) log(1 − p̂)]; 15 equal-width
    reliability bins of p̂ holding count, correct and Σ p̂ (fixed point, scale 2¹⁶)."""
    sim, obs = observe(backend, 3)
    results = sim.summary()["world_results"]
    for w, r in enumerate(results):
        sel = obs.world == w
        y, phat = obs.y[sel].astype(float), np.clip(obs.phat[sel], 1e-6, 1 - 1e-6)
        assert (r["attempts"], r["correct"]) == (int(sel.sum()), int(y.sum())), w
        assert (r["oracle_calls"], r["escalations_wrong"]) == (
            int(obs.escalated[sel].sum()), int((obs.escalated[sel] & (y == 0)).sum())), w
        nll = -(y * np.log(phat) + (1 - y) * np.log(1 - phat))
        assert abs(r["mean_nll"] - nll.mean()) < 3e-5, (w, r["mean_nll"], nll.mean())
        bins = np.minimum((phat * 15).astype(int), 14)
        reliability = np.asarray(sim.reliability[w], dtype=np.float64)
        assert np.array_equal(reliability[:, 0], np.bincount(bins, minlength=15)), w
        assert np.array_equal(reliability[:, 1], np.bincount(bins, weights=y, minlength=15)), w
        sums = np.bincount(bins, weights=phat, minlength=15)
        assert np.all(np.abs(reliability[:, 2] / 65536.0 - sums) <= reliability[:, 0] * 2.0 ** -16 + 1e-9), w
    oracle_worlds = [w for w, world in enumerate(WORLDS_3) if "oracle" in world]
    assert all((r["oracle_calls"] > 1000) == (w in oracle_worlds) for w, r in enumerate(results))
