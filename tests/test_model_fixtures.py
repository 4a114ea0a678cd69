"""Drawn fixture worlds (DESIGN §2.3–2.5): tiny grids as ASCII art, next states and competences worked by hand.

Every expected value here comes from DESIGN's rules, worked in float64 in this file, never from the kernel or the NumPy
reference; both run each fixture (parametrised) and must match the drawing. Knobs make every outcome certain:
S₀ = 1 makes the effective skill e = 1 − (1 − c)(1 − S) = 1, so p = clip(1 − κd, p_min, p_max) with κ = 1 is p_max on a
'0' cell (d = 0) and p_min on a '9' cell (d = 1.42). A uniform is u = ((h >> 9) + 0.5)·2⁻²³ ∈ [2⁻²⁴, 1 − 2⁻²⁴]:
never below p_min = 1e-8, and below p_max = 1 − 2⁻²⁴ (float32) for every draw but the largest. σ_conf = 0 makes p̂
certain too: ≈ 1 on a right proposal, ≈ 0 on a wrong one, so τ_escalate = 0.5 escalates exactly the wrong ones.

The 4×4 grid with 2×2 tiles and 2 disks (DESIGN §2.1: spiral from tile (0, 0), then +x, then +y; closed-form moves,
pegs 1 and 2 swapped for even n):

    A A B B     A = move 0: disk 0, peg 0 → 1
    A A B B     B = move 1: disk 1, peg 0 → 2
    . . C C     C = move 2: disk 0, peg 1 → 2
    . . C C     . = no task (stays Idle, never learns)
"""
import functools

import numpy as np
import pytest

from engine.sim.simulation import Simulation, unpack_moves
from scenarios.loader import load_scenario, load_scenario_text

# DESIGN §2.3 states, drawn as one character each
STATES = {".": 0, "W": 1, "O": 2, "S": 3, "F": 4, "X": 5}
LETTER = {code: ch for ch, code in STATES.items()}
MOVES = {0: (0, 0, 1), 1: (1, 0, 2), 2: (0, 1, 2)}  # move → (disk, src, dst)
TILE_MOVE = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [-1, -1, 2, 2], [-1, -1, 2, 2]])
HAS_TASK = TILE_MOVE >= 0
P_MAX = 0.99999994  # 1 − 2⁻²⁴ in float32
AGENTS = dict(c0=0.2, s0=1.0, eta=0.25, eta_oracle=0.5, eta_nbr=0.0, eta_shared=0.0, kappa=1.0, alpha=0.0,
              p_min=1e-8, p_max=P_MAX, b_over=0.0, omega=2.0, sigma_conf=0.0)
ORACLE = dict(enabled=False, tau_escalate=0.5, a_escalate=0, latency=2, error=0.0)
F32 = dict(rtol=0, atol=2e-6)  # float32 arithmetic on values in [0, 1]


def drawn(art: str) -> np.ndarray:
    """A 4×4 state grid from its drawing ('.' Idle, W Working, O WaitingOracle, S Success, F Failure, X Dead)."""
    rows = ["".join(line.split()) for line in art.strip().splitlines()]
    return np.array([[STATES[ch] for ch in row] for row in rows])


def toml_value(v) -> str:
    """A Python scalar as TOML."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def fixture_toml(difficulty: str, dead: str = "", tau_green: int = 4, order: str = "free", manager: str = "none",
                 agents: dict | None = None, oracle: dict | None = None, curriculum: dict | None = None,
                 tail: str = "") -> str:
    """Scenario text of a 4×4 fixture world: the drawn maps plus the knobs that make outcomes certain."""
    section = lambda name, values: f"[{name}]\n" + "".join(  # noqa: E731
        f"{k} = {toml_value(v)}\n" for k, v in values.items())
    text = (f"[grid]\nsize = 4\ntile = 2\ntau_green = {tau_green}\n[task]\ndisks = 2\n"
            f"[layout]\norder = \"{order}\"\ndifficulty_ascii = '''\n{difficulty.strip()}\n'''\n"
            + section("agents", {**AGENTS, **(agents or {})}) + section("oracle", {**ORACLE, **(oracle or {})})
            + section("curriculum", {"manager": manager, **(curriculum or {})}))
    if dead:
        text += f"[faults]\ndead_ascii = '''\n{dead.strip()}\n'''\n"
    return text + tail


class Trace:
    """One fixture run: per tick (after its step) every agent field as (W, 4, 4), the shared skill, stage, summary."""

    def __init__(self, sim: Simulation, ticks: int):
        self.sim, self.fields, self.skill, self.stage, self.summary = sim, [], [], [], []
        for _ in range(ticks):
            sim.step()
            self.fields.append({k: v.reshape(sim.W, 4, 4) for k, v in sim.device.snapshot().items()})
            self.skill.append(np.array(sim.skill, dtype=np.float64))
            self.stage.append(sim.stage.copy())
            self.summary.append(sim.summary()["world_results"])

    def state(self, tick: int, world: int = 0) -> np.ndarray:
        """States after `tick`."""
        return self.fields[tick]["state"][world]

    def field(self, name: str, tick: int, world: int = 0) -> np.ndarray:
        """One agent field after `tick`."""
        return self.fields[tick][name][world]

    def result(self, tick: int, world: int = 0) -> dict:
        """Simulation.summary() row of one world after `tick`."""
        return self.summary[tick][world]


@functools.lru_cache(maxsize=None)
def _run(text: str, backend: str, ticks: int, variants: tuple) -> Trace:
    base = load_scenario_text(text, "fixture.toml")
    worlds = [load_scenario_text(text, "fixture.toml", dict(v)) for v in variants] or [base]
    sim = Simulation(base, seed=5, worlds=len(worlds), arch="cpu", backend=backend, variants=worlds)
    return Trace(sim, ticks)


def run(text: str, backend: str, ticks: int, *variants: dict) -> Trace:
    """Step a fixture `ticks` ticks (one world per variant: override dicts); cached, so tests share a run."""
    return _run(text, backend, ticks, tuple(tuple(sorted(v.items())) for v in variants))


@pytest.fixture(params=["taichi", "reference"])
def backend(request):
    """Each fixture runs on the Taichi kernel (CPU) and on the NumPy reference."""
    if request.param == "taichi":
        request.getfixturevalue("taichi_cpu")
    return request.param


def test_fixture_layout_is_the_drawn_one(backend):
    """The drawing above is what the engine lays out (spiral, closed-form moves): the fixtures rely on it."""
    sim = verified(backend).sim
    assert np.array_equal(sim.layout.move_of_cell.reshape(4, 4), TILE_MOVE)
    assert [tuple(m) for m in sim.task.moves] == [MOVES[k] for k in range(3)]


def assert_proposes(trace: Trace, tick: int, world: int, cells, right: bool):
    """The proposal of each cell is its tile's true move (right) or a wrong pair of the same disk (DESIGN §2.4)."""
    packed = trace.field("proposal", tick, world)
    for i, j in cells:
        disk, src, dst = unpack_moves(np.array([packed[i, j]]))[0]
        true = MOVES[TILE_MOVE[i, j]]
        if right:
            assert (disk, src, dst) == true, (i, j)
        else:
            assert disk == true[0] and (src, dst) != true[1:], (i, j)
            assert src != dst and {src, dst} <= {0, 1, 2}, (i, j)


# ---- verified success and failure, compose and adoption, a dead agent (one drawn world, three knob variants)
VERIFIED = fixture_toml(difficulty="""
    0 9 0 0
    0 0 0 0
    9 9 9 0
    9 9 0 0
""", dead="""
    . . . .
    . . . .
    . . # .
    . . . .
""")
STRICT, COMPOSE, ESCALATE_THEN_ADOPT = 0, 1, 2
VERIFIED_WORLDS = ({}, {"grid.tau_green": 3}, {"grid.tau_green": 3, "oracle.enabled": True})


def verified(backend) -> Trace:
    """World 0: τ_green 4 (no adoption); world 1: τ_green 3; world 2: τ_green 3 and the oracle on."""
    return run(VERIFIED, backend, 4, *VERIFIED_WORLDS)


def test_verified_attempts_succeed_or_fail(backend):
    """Idle → Working (due tick + 1) → Success with c + η(1 − c), or Failure with a + 1; Failure retries."""
    tr, w = verified(backend), STRICT
    assert np.array_equal(tr.state(0, w), drawn("""
        W W W W
        W W W W
        . . X W
        . . W W"""))
    assert np.all(tr.field("due", 0, w)[tr.state(0, w) == STATES["W"]] == 1)
    after1 = drawn("""
        S F S S
        S S S S
        . . X S
        . . S S""")
    assert np.array_equal(tr.state(1, w), after1)
    right = after1 == STATES["S"]
    c0, eta = 0.2, 0.25
    expected_c = np.where(right, c0 + eta * (1 - c0), c0)  # 0.4 on Success; failures, the dead, no-task stay c0
    np.testing.assert_allclose(tr.field("competence", 1, w), expected_c, **F32)
    assert tr.field("attempts", 1, w)[0, 1] == 1 and tr.field("attempts", 1, w).sum() == 1
    assert np.array_equal(tr.field("history", 1, w), right.astype(np.uint32)), "history shifts in y"
    assert np.all(tr.field("confidence", 1, w)[right] > 0.999) and tr.field("confidence", 1, w)[0, 1] < 1e-5
    assert_proposes(tr, 1, w, zip(*np.nonzero(right)), right=True)
    assert_proposes(tr, 1, w, [(0, 1)], right=False)
    assert tr.field("proposal", 1, w)[2, 2] == -1 and np.all(tr.field("proposal", 1, w)[~HAS_TASK] == -1)
    # tick 2: the failed agent starts again (due 3); tick 3: fails again, a = 2, history 00
    assert np.array_equal(tr.state(2, w), np.where(after1 == STATES["F"], STATES["W"], after1))
    assert tr.field("due", 2, w)[0, 1] == 3
    assert np.array_equal(tr.state(3, w), after1)
    assert tr.field("attempts", 3, w)[0, 1] == 2 and tr.field("history", 3, w)[0, 1] == 0
    np.testing.assert_allclose(tr.field("competence", 3, w), expected_c, **F32)
    # B composed (4 of 4); A has 3 of 4; C only 3 live agents for τ_green 4: it can never complete
    r = tr.result(1, w)
    assert (r["attempts"], r["correct"], r["adoptions"], r["moves_complete"]) == (11, 10, 0, 1)
    assert r["prefix"] == 0, "move 1 is complete but move 0 is not: the complete prefix is empty"
    plan = tr.sim.composed_plan(w)
    assert [tuple(m) for m in plan] == [(-1, -1, -1), MOVES[1], (-1, -1, -1)]


def test_compose_and_adoption(backend):
    """τ_green = 3 agreeing Successes compose the move; the tile's other live agent adopts it (c + η(1 − c)),
    the dead agent does not; every move composed → outcome complete with a valid plan, and the world stops."""
    tr, w = verified(backend), COMPOSE
    all_green = drawn("""
        S S S S
        S S S S
        . . X S
        . . S S""")
    assert np.array_equal(tr.state(1, w), all_green)
    c = tr.field("competence", 1, w)
    np.testing.assert_allclose(c[all_green == STATES["S"]], 0.2 + 0.25 * 0.8, **F32)  # adopter gains η too
    assert c[2, 2] == np.float32(0.2) and tr.field("attempts", 1, w)[2, 2] == 0, "the dead agent never acts"
    assert tr.field("attempts", 1, w)[0, 1] == 1, "the adopter's failed attempt still counts"
    assert_proposes(tr, 1, w, [(0, 1)], right=True)
    r = tr.result(1, w)
    assert (r["attempts"], r["correct"], r["adoptions"], r["moves_complete"], r["prefix"]) == (11, 10, 1, 3, 3)
    assert (r["outcome"], r["ticks"], r["plan_valid"]) == ("complete", 2, True)
    assert [tuple(m) for m in tr.sim.composed_plan(w)] == [MOVES[k] for k in range(3)]
    for name in tr.fields[1]:
        assert np.array_equal(tr.field(name, 3, w), tr.field(name, 1, w)), f"{name} changed after the end"


def test_adoption_of_an_agent_waiting_for_the_oracle(backend):
    """The wrong agent escalates (a ≥ a_escalate = 0) and is adopted in the same tick: Success, and its oracle call
    is still paid; an escalated attempt is a resolved attempt, not a failure (a stays 0)."""
    tr, w = verified(backend), ESCALATE_THEN_ADOPT
    assert tr.state(1, w)[0, 1] == STATES["S"]
    assert tr.field("attempts", 1, w)[0, 1] == 0
    np.testing.assert_allclose(tr.field("competence", 1, w)[0, 1], 0.4, **F32)
    r = tr.result(1, w)
    assert (r["attempts"], r["correct"], r["adoptions"], r["oracle_calls"], r["outcome"]) == (11, 10, 1, 1, "complete")
    assert r["cost"] == 11 * 1.0 + 1 * 20.0, "SLM attempts cost 1, an oracle call 20 (defaults)"
    assert tr.result(1, STRICT)["oracle_calls"] == tr.result(1, COMPOSE)["oracle_calls"] == 0


# ---- escalation and the oracle's answers
ESCALATION = fixture_toml(difficulty="""
    9 0 0 0
    0 0 0 0
    9 9 0 0
    9 9 0 0
""", oracle=dict(enabled=True, a_escalate=1, latency=2), tail="[[faults.oracle_outage]]\nfrom = 7\nto = 9\n")
ESCALATION_WORLDS = ({}, {"oracle.error": 1.0}, {"oracle.latency": 5}, {"oracle.budget": 0})
# the wrong agent at (0, 0), ticks 0 … 9: state, failed attempts a, cumulative oracle calls
X_TRACK = {
    0: ("W F W O O S S S S S", [0, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1),  # right answer at 3 + 2
    1: ("W F W O O F W F W O", [0, 1, 1, 1, 1, 2, 2, 3, 3, 3], 2),  # wrong answer; no escalation in the outage
    2: ("W F W O O O O O O S", [0, 1, 1, 1, 1, 1, 1, 1, 1, 1], 1),  # due at 8, inside the outage: answered at 9
    3: ("W F W F W F W F W F", [0, 1, 1, 2, 2, 3, 3, 4, 4, 5], 0),  # budget 0: never escalates
}


def test_escalation_and_oracle_answers(backend):
    """Escalate only when p̂ < τ_escalate, a ≥ a_escalate and the oracle is available (not in an outage, budget
    left); the answer comes at tick + latency (later if due in an outage): right → Success, c + η_oracle(1 − c),
    the true move; wrong (error 1) → Failure, a + 1."""
    tr = run(ESCALATION, backend, 10, *ESCALATION_WORLDS)
    for w, (states, attempts, calls) in X_TRACK.items():
        got = "".join(LETTER[tr.state(t, w)[0, 0]] for t in range(10))
        assert got == states.replace(" ", ""), f"world {w}"
        assert [int(tr.field("attempts", t, w)[0, 0]) for t in range(10)] == attempts, f"world {w}"
        assert tr.result(9, w)["oracle_calls"] == calls, f"world {w}"
    assert tr.field("due", 3, 0)[0, 0] == 5 and tr.field("due", 3, 2)[0, 0] == 8
    assert tr.field("due", 9, 1)[0, 0] == 11
    np.testing.assert_allclose(tr.field("competence", 5, 0)[0, 0], 0.2 + 0.5 * 0.8, **F32)
    np.testing.assert_allclose(tr.field("competence", 9, 2)[0, 0], 0.2 + 0.5 * 0.8, **F32)
    assert tr.field("competence", 9, 1)[0, 0] == np.float32(0.2), "a wrong answer teaches nothing"
    assert_proposes(tr, 5, 0, [(0, 0)], right=True)
    # the others succeeded at tick 1; tile A composes with the oracle's answer (4 of 4)
    assert tr.result(5, 0)["outcome"] == "complete" and tr.result(5, 0)["ticks"] == 6
    assert tr.result(9, 2)["moves_complete"] == 3 and tr.result(8, 2)["moves_complete"] == 2
    assert tr.result(9, 1)["moves_complete"] == tr.result(9, 3)["moves_complete"] == 2


# ---- neighbour learning, N, E, S, W
NEIGHBOURS = fixture_toml(difficulty="""
    0 9 9 0
    9 9 0 9
    9 9 9 0
    9 9 9 0
""", dead="""
    . . . .
    . . . .
    . . . .
    . . . #
""", agents=dict(eta=0.5, eta_oracle=0.5, eta_nbr=0.5), oracle=dict(enabled=True))


def learn_from_neighbours(c, turned, learner, eta_nbr):
    """DESIGN §2.4 in float64: c_j += η_nbr·max(0, c_i − c_j) for each neighbour i that turned Success, N, E, S, W,
    c_i after i's own update (this tick's input), c_j as updated by the previous neighbours."""
    out = c.copy()
    for i in range(4):
        for j in range(4):
            if not learner[i, j]:
                continue
            for di, dj in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                a, b = i + di, j + dj
                if 0 <= a < 4 and 0 <= b < 4 and turned[a, b]:
                    out[i, j] += eta_nbr * max(0.0, c[a, b] - out[i, j])
    return out


def test_neighbour_learning_order_and_teachers(backend):
    """Tick 1: the '0' agents succeed (c 0.2 → 0.6) and teach their neighbours; the '9' agents escalate. Tick 3: the
    oracle answers them (c + 0.5(1 − c)) and they teach, each from its own competence, in the order N, E, S, W.
    Dead agents and agents without a task neither learn nor teach."""
    tr = run(NEIGHBOURS, backend, 4)
    digits = drawn("S O O S\nO O S O\nO O O S\nO O O S") == STATES["S"]  # '0' cells
    alive = np.ones((4, 4), bool)
    alive[3, 3] = False
    learner = HAS_TASK & alive
    assert np.array_equal(tr.state(1), drawn("""
        S O O S
        O O S O
        . . O S
        . . O X"""))
    assert np.array_equal(tr.state(2), tr.state(1))
    assert np.array_equal(tr.state(3), drawn("""
        S S S S
        S S S S
        . . S S
        . . S X"""))
    c = np.full((4, 4), 0.2)
    turned1 = digits & learner
    c[turned1] += 0.5 * (1 - c[turned1])  # own success: η = 0.5
    c1 = learn_from_neighbours(c, turned1, learner, 0.5)
    np.testing.assert_allclose(tr.field("competence", 1), c1, **F32)
    np.testing.assert_allclose(tr.field("competence", 2), c1, **F32)  # nobody turned Success at tick 2
    # by hand: the four neighbours of j = (1, 2) after tick 1 learned from 2, 3, 2 and 1 teachers at 0.6
    assert np.allclose([c1[0, 2], c1[1, 3], c1[2, 2], c1[1, 1]], [0.5, 0.55, 0.5, 0.4])
    assert c1[3, 2] == 0.2, "the dead (3, 3) would have taught (3, 2)"
    turned3 = ~digits & learner
    c = c1.copy()
    c[turned3] += 0.5 * (1 - c[turned3])  # oracle answers: η_oracle = 0.5
    c3 = learn_from_neighbours(c, turned3, learner, 0.5)
    np.testing.assert_allclose(tr.field("competence", 3), c3, **F32)
    # j = (1, 2), c = 0.6, teachers N 0.75, E 0.775, S 0.75, W 0.7: 0.675, 0.725, 0.7375, then W is below it
    assert abs(c3[1, 2] - 0.7375) < 1e-12
    np.testing.assert_allclose(tr.field("competence", 3)[1, 2], 0.7375, **F32)
    assert np.all(tr.field("competence", 3)[~learner] == np.float32(0.2))
    # A and B complete at tick 3; C has 3 live agents for τ_green 4: stalled, and it names move 2
    r = tr.result(3)
    assert (r["outcome"], r["moves_complete"], r["stalled_moves"]) == ("stalled", 2, [2])


ADOPTION_TEACHES = fixture_toml(difficulty="""
    0 0 9 9
    0 9 9 9
    9 9 9 9
    9 9 9 9
""", tau_green=3, agents=dict(eta=0.5, eta_nbr=0.5))


def test_adoptions_teach_neighbours(backend):
    """Cooperation runs after Compose: the agent that adopts A's move (c 0.2 → 0.6) teaches its neighbour (1, 2) in the
    same tick, as the attempt-successes of A teach (0, 2); B and C fail everywhere and teach nobody."""
    tr = run(ADOPTION_TEACHES, backend, 3)
    assert np.array_equal(tr.state(1), drawn("""
        S S F F
        S S F F
        . . F F
        . . F F"""))
    expected = np.array([[0.6, 0.6, 0.4, 0.2],
                         [0.6, 0.6, 0.4, 0.2],   # (1, 2) learned from the adopter (1, 1) only
                         [0.2, 0.2, 0.2, 0.2],
                         [0.2, 0.2, 0.2, 0.2]])
    np.testing.assert_allclose(tr.field("competence", 1), expected, **F32)
    assert tr.result(1)["adoptions"] == 1
    np.testing.assert_allclose(tr.field("competence", 2), expected, **F32)  # tick 2: restarts, nobody turns


# ---- shared skill
SHARED = fixture_toml(difficulty="""
    0 9 0 9
    0 0 0 9
    9 9 0 0
    9 9 0 0
""", tau_green=3, agents=dict(c0=1.0, s0=0.3, eta_shared=0.1), oracle=dict(enabled=True))


def test_shared_skill_learns_from_successful_attempts(backend):
    """S[q] ← 1 − (1 − S[q])(1 − η_shared)^k_q with k_q this tick's successful attempts of category q (the disk);
    adoptions and oracle answers teach only with distill = true. c₀ = 1 keeps e = 1 whatever S is."""
    tr = run(SHARED, backend, 4, {}, {"agents.distill": True})
    assert np.array_equal(tr.state(1, 0), drawn("""
        S S S O
        S S S O
        . . S S
        . . S S"""))
    assert np.array_equal(tr.state(3, 1), drawn("SSSS\nSSSS\n..SS\n..SS"))
    s0, keep = 0.3, 1 - 0.1
    skill = lambda s, k: 1 - (1 - s) * keep ** k  # noqa: E731
    np.testing.assert_allclose(tr.skill[0], [[s0, s0]] * 2, **F32)
    # tick 1: category 0 (disk 0: tiles A and C) 3 + 4 successful attempts, category 1 (B) 2; A's escalated agent
    # is adopted (distill counts it); tick 3: B's two oracle answers (distill counts them)
    plain = [skill(s0, 7), skill(s0, 2)]
    distilled = [skill(s0, 8), skill(s0, 2)]
    np.testing.assert_allclose(tr.skill[1], [plain, distilled], **F32)
    np.testing.assert_allclose(tr.skill[2], [plain, distilled], **F32)
    np.testing.assert_allclose(tr.skill[3], [plain, [distilled[0], skill(distilled[1], 2)]], **F32)
    for w in (0, 1):
        r = tr.result(3, w)
        assert (r["adoptions"], r["oracle_calls"], r["outcome"]) == (1, 3, "complete")
        np.testing.assert_allclose(tr.field("competence", 3, w)[HAS_TASK], 1.0, **F32)


# ---- stages and the prefix order
STAGES = fixture_toml(difficulty="""
    0 0 3 3
    0 0 3 3
    9 9 5 5
    9 9 5 5
""", dead="""
    . . . #
    . . . .
    . . . .
    . . . .
""", tau_green=3, manager="stages", agents=dict(kappa=0.0), curriculum=dict(tau_stage=0.9))
# curriculum.radii stay the default [0.25, 0.5, 0.75, 1.0, 1.42]


def test_stage_advance(backend):
    """Tile-centre difficulty 0 → ring 0, 3/9·1.42 = 0.47 → ring 1, 5/9·1.42 = 0.79 → ring 3. The stage advances
    when the Success share of live agents with a task inside R_s reaches τ_stage = 0.9 (the dead agent is in no
    denominator: 7/8 would not), effective next tick, at most one stage per tick (ring 2 is empty)."""
    tr = run(STAGES, backend, 7)
    expect = {
        0: "WW.X WW.. .... ....", 1: "SS.X SS.. .... ....", 2: "SSWX SSWW .... ....", 3: "SSSX SSSS .... ....",
        4: "SSSX SSSS .... ....", 5: "SSSX SSSS ..WW ..WW", 6: "SSSX SSSS ..SS ..SS",
    }
    for t, art in expect.items():
        assert np.array_equal(tr.state(t), drawn(art.replace(" ", "\n"))), f"tick {t}"
    # the stage in force for the next tick; completing C fills ring 3 as well, so stage 4 is opened at the end
    assert [int(s[0]) for s in tr.stage] == [0, 1, 1, 2, 3, 3, 4]
    r = tr.result(6)
    assert (r["stage_ticks"], r["outcome"], r["ticks"]) == ([0, 2, 4, 5, 7], "complete", 7)


PREFIX = fixture_toml("0000\n0000\n0000\n0000", order="prefix", agents=dict(kappa=0.0))


def test_prefix_order_is_a_sequential_front(backend):
    """order = "prefix": a tile works only once move k − 1 is complete (free order: every tile starts at tick 0)."""
    tr = run(PREFIX, backend, 9)
    complete_tick, _ = tr.sim.device.moves_table()
    done = [int(t) for t in complete_tick[0]]
    assert done[0] == 1 and done[0] < done[1] < done[2], done
    for t in range(9):
        for k in (1, 2):
            tile = TILE_MOVE == k
            working = np.any(tr.state(t)[tile] != STATES["."])
            assert not working or done[k - 1] < t, f"move {k} works at tick {t} before move {k - 1} is complete"
    assert [tr.result(t)["prefix"] for t in range(9)] == [sum(d <= t for d in done) for t in range(9)]
    assert tr.result(8)["outcome"] == "complete"


def test_prefix_next_tile_starts_the_tick_after(backend):
    """Move k − 1 composed at tick t → move k's tile starts at t + 1 (it is unlocked and its zone open)."""
    tr = run(PREFIX, backend, 9)
    expect = {
        0: "WW.. WW.. .... ....", 1: "SS.. SS.. .... ....", 2: "SSWW SSWW .... ....", 3: "SSSS SSSS .... ....",
        4: "SSSS SSSS ..WW ..WW", 5: "SSSS SSSS ..SS ..SS",
    }
    for t, art in expect.items():
        assert np.array_equal(tr.state(t), drawn(art.replace(" ", "\n"))), f"tick {t}"
    assert [tr.result(t)["prefix"] for t in range(6)] == [0, 1, 1, 2, 2, 3]
    assert (tr.result(5)["outcome"], tr.result(5)["ticks"]) == ("complete", 6)



@pytest.mark.parametrize("manager", ["stages", "thompson"])
def test_prefix_order_with_stages_completes(backend, manager):
    """Smoke in prefix order under a staged manager: the stage share leaves out agents of gated tiles (they wait for
    their predecessor by design), so a ring whose next move lies in a locked ring still opens it and the episode
    completes. Counting them, smoke stalled with the complete prefix stuck at 6 of 31 (stage never past 1)."""
    smoke = load_scenario("smoke", {"layout.order": "prefix", "curriculum.manager": manager})
    sim = Simulation(smoke, seed=0, worlds=2, arch="cpu", backend=backend).run()
    for r in sim.summary()["world_results"]:
        assert (r["outcome"], r["prefix"], r["moves_complete"]) == ("complete", 31, 31), r  # 2⁵ − 1 moves
        assert len(r["stage_ticks"]) == sim.layout.n_rings, r  # every ring was opened by the stage rule

# ---- what an inactive zone still does
IN_FLIGHT = fixture_toml(difficulty="""
    9 0 0 0
    0 0 0 0
    9 9 0 0
    9 9 0 0
""", manager="tests.fixture_managers:EveryOtherTick")
IN_FLIGHT_WORLDS = ({}, {"agents.slm_latency": 2}, {"oracle.enabled": True})
# the agent at (0, 0) (always wrong), ticks 0 … 5; zones are active on even ticks only
IN_FLIGHT_TRACK = {
    0: "W F W F W F",  # due at odd ticks: attempts resolve although the zone is inactive then
    1: "W W F F W W",  # Failure at tick 2 waits through the inactive tick 3, starts again at tick 4
    2: "W O O S S S",  # escalated at tick 1, answered at 3 although the zone is inactive
}


def test_work_in_flight_finishes_in_an_inactive_zone(backend):
    """Only Idle or Failure agents in an active zone start an attempt; attempts in flight resolve and oracle answers
    arrive whether or not their zone is chosen this tick (DESIGN §2.4, §2.6)."""
    tr = run(IN_FLIGHT, backend, 6, *IN_FLIGHT_WORLDS)
    for w, states in IN_FLIGHT_TRACK.items():
        got = "".join(LETTER[tr.state(t, w)[0, 0]] for t in range(6))
        assert got == states.replace(" ", ""), f"world {w}"
    # the right agents: started at tick 0, resolved at tick 1 (slm_latency 1) or 2 (slm_latency 2)
    assert np.all(tr.state(1, 0)[HAS_TASK][1:] == STATES["S"])
    assert np.all(tr.state(1, 1)[HAS_TASK][1:] == STATES["W"]) and np.all(tr.state(2, 1)[HAS_TASK][1:] == STATES["S"])
    assert np.all(tr.field("due", 0, 1)[HAS_TASK] == 2)
