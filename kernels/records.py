"""The named records the host and the tick kernel exchange, declared once: parameters, controls, statistics.

Each `Record` is an ordered list of (name, kind). Everything else derives from it: the Taichi struct types of
`kernels.worlds` (`p.eta`, `ctl.running`, `tally.oracle_answers`), the host packing of `engine.sim.params` (a NumPy
structured array), the column index the host reads (`zone_stats[..., ZONE.resolved]`), the NumPy reference
(`engine.sim.reference`) and the layout of the statistics the kernel hands back each tick (`stats_layout`).
To add a parameter or a statistic, add one line here and write the model code that uses it.

Pure Python (no Taichi), so the reference, the managers and the recorder can import it.
"""
from __future__ import annotations

import numpy as np

from kernels.constants import RELIABILITY_BINS, STATE_NAMES

NUMPY_KIND = {"f32": np.float32, "i32": np.int32, "i64": np.int64}


class Record:
    """Named columns of one row, in declaration order: `rec.eta` is eta's column index, `rec.names` the order."""

    def __init__(self, *fields: tuple[str, str]):
        self.fields = tuple(fields)
        self.names = tuple(name for name, _ in fields)
        assert len(set(self.names)) == len(self.names), f"duplicate names in {self.names}"
        for index, (name, kind) in enumerate(fields):
            assert kind in NUMPY_KIND, f"{name}: unknown kind {kind!r}"
            setattr(self, name, index)

    def __len__(self) -> int:
        return len(self.fields)

    def numpy_dtype(self) -> np.dtype:
        """A NumPy structured dtype with one field per name (packed, declaration order)."""
        return np.dtype([(name, NUMPY_KIND[kind]) for name, kind in self.fields])


def _all(kind: str, *names: str) -> tuple:
    """(name, kind) pairs for names that share one kind."""
    return tuple((name, kind) for name in names)


# Per-world model parameters (DESIGN §2.4, §2.5), constant over an episode. Floats are rounded to float32 on the
# host, once. Every field is 4 bytes, so the packed row travels to the device as one int32 array.
PARAMS = Record(
    ("eta", "f32"),            # own learning rate on a success: c ← c + η(1 − c)
    ("eta_oracle", "f32"),     # learning rate on a right oracle answer
    ("eta_nbr", "f32"),        # neighbour learning rate
    ("eta_shared", "f32"),     # shared-skill learning rate
    ("kappa", "f32"),          # difficulty slope of p
    ("alpha", "f32"),          # pity bonus per failed attempt
    ("p_min", "f32"), ("p_max", "f32"),
    ("b_over", "f32"),         # over-confidence of unskilled agents
    ("omega", "f32"),          # discrimination: how much p̂ knows whether the proposal is right
    ("sigma_conf", "f32"),     # confidence noise
    ("oracle_ok", "f32"),      # 1 − oracle.error, rounded once
    ("z_escalate", "f32"),     # logit(τ_escalate): escalation compares in logit space
    ("a_max", "i32"),          # pity bonus cap
    ("a_escalate", "i32"),     # failed attempts before an agent may escalate
    ("oracle_latency", "i32"),
    ("slm_latency", "i32"),
    ("tau_green", "i32"),      # agreeing Success agents that compose a tile's move
    ("distill", "i32"),        # 1: oracle answers and adoptions teach the shared skill too
    ("order_prefix", "i32"),   # 1: a tile works only once its predecessor move is complete
    # consensus mode (DESIGN §2.8)
    ("z_commit", "f32"),       # logit(τ_commit) (−inf at τ = 0): a vote is committed when z ≥ this
    ("red_flag", "f32"),       # probability that a wrong proposal is discarded
    ("k_ahead", "i32"),        # a tile decides when its leader is k votes ahead
    ("w_oracle", "i32"),       # votes an oracle answer casts
    ("learn_oracle", "i32"),   # 1: only oracle answers teach (learn = "oracle")
    ("audit", "i32"),          # kernels.constants.AUDIT_*
    ("tau_audit_fx", "i32"),   # round(τ_audit·2^16)
    ("nll_oracle", "i32"),     # 1: the NLL managers see is against the oracle's answers (nll_source = "oracle")
)

# Per-world host decisions of one tick, handed to the kernel with the launch.
CONTROLS = Record(*_all("i32", "running", "stage", "oracle_available", "oracle_up"))

# One count per agent state (Dead included), generated from STATE_NAMES so that column n_idle + state code is the
# count of that state: the kernel tallies `n_state[code]` into them, the host reads `ZONE.state_counts`.
STATE_COUNTS = tuple(f"n_{name}" for name in STATE_NAMES)

# Per-world, per-zone statistics of one tick (DESIGN §2.4 step 4): integer counts and fixed-point sums (i64, ×2^16).
ZONE = Record(*_all(
    "i64",
    "resolved",         # attempts resolved (Working → proposal)
    "correct",          # resolved attempts whose proposal was right
    "escalated",        # escalations to the oracle (= oracle calls)
    "escalated_wrong",  # escalations whose own proposal would have been wrong
    "oracle_answers",
    "oracle_wrong",
    "commit_success",   # verified correct commits (successful attempts)
    "commit_failure",   # verified wrong commits
    "adopted",
    "started",          # Idle/Failure → Working
    "nll_fx",           # Σ NLL over resolved attempts, fixed point
    "brier_fx",
    "phat_fx",
    *STATE_COUNTS,      # current state of the agents with a task (Dead included), after compose and adoption
    "competence_fx",    # Σ competence of live agents with a task, fixed point
    "open_tiles",       # task tiles not yet complete and not waiting for their predecessor (order = prefix)
    "completed_now",    # moves composed this tick
    "completable",      # open task tiles that still have ≥ τ_green live agents
    "active",           # live agents in open tiles (unlocked, not complete, not gated): the agents this tick
                        # advanced — the unit of every benchmark headline (active agent-steps)
))
ZONE.state_counts = slice(ZONE.n_idle, ZONE.n_idle + len(STATE_NAMES))           # every state, Dead included
ZONE.live_state_counts = slice(ZONE.n_idle, ZONE.n_idle + STATE_NAMES.index("dead"))  # the live states
FIXED_POINT = ("nll_fx", "brier_fx", "phat_fx", "competence_fx")  # sums ×2^16, not counts

# Per-world statistics that persist over the episode.
WORLD = Record(*_all("i64", "moves_done", "prefix"))  # moves composed so far; length of the complete prefix

# Consensus mode (DESIGN §2.8): per-world, per-zone vote statistics of one tick (i64).
VOTE = Record(*_all(
    "i64",
    "votes",            # attempts that committed a vote (p̂ ≥ τ_commit)
    "abstained",        # attempts below τ_commit: Failure, no vote
    "red_flagged",      # wrong proposals discarded by the red flag
    "audits",           # decisions checked by one oracle call (audit = confidence | contested)
    "audit_rejected",   # audits that rejected the decision (votes zeroed, tile stays open)
    "composed_wrong",   # moves composed this tick with a wrong answer
    "decision_votes",   # counted votes (Σ V) of the decisions composed this tick
    "agree",            # votes agreeing with their tile's leader after the tally (what managers see)
    "nll_seen_fx",      # Σ NLL against the observable label (leader agreement or oracle answer), fixed point
    "nll_seen_n",       # attempts (nll_source = leader) or oracle answers (= oracle) in nll_seen_fx
    "votes_right",      # votes whose answer is right: the simulator's measurement of per-vote accuracy (the built-in
                        # managers never read it: they use agree)
))

# Columns that carry the ground truth (whether a proposal, escalation, oracle answer or composed move was right):
# in consensus mode managers must not see them (DESIGN §2.8.7), so their observation has these zeroed.
GROUND_TRUTH = {"zone": ("correct", "escalated_wrong", "oracle_wrong", "commit_success", "commit_failure", "nll_fx",
                         "brier_fx"),
                "vote": ("composed_wrong", "votes_right")}

# Per-world reliability diagram: for each of RELIABILITY_BINS bins of p̂, these columns.
BIN = Record(*_all("i64", "count", "correct", "phat_fx"))


def stats_layout(n_zones: int, n_categories: int, consensus: bool = False) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Where each block of the kernel's per-world statistics row lies: name → (first column, shape per world).

    The kernel writes the row and `stats()` slices it from this one layout; `width` is the row's length. The vote
    statistics are there in consensus mode only."""
    blocks = [("zone_stats", (n_zones, len(ZONE))), ("world_totals", (len(ZONE),)), ("world_stats", (len(WORLD),)),
              ("reliability", (RELIABILITY_BINS, len(BIN))), ("kq", (n_categories,))]
    if consensus:
        blocks.append(("vote_stats", (n_zones, len(VOTE))))
    layout, start = {}, 0
    for name, shape in blocks:
        layout[name] = (start, shape)
        start += int(np.prod(shape))
    layout["width"] = (start, ())
    return layout
