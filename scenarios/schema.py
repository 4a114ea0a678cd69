"""Every scenario key in one declarative table: section, name, type, default, allowed values, meaning.

The loader validates against this table, `gridhanoi scenario show --defaults` and `new` print it, and the key table in
docs/scenarios.md is generated from it (`python -m scenarios.schema` prints it, `--write docs/scenarios.md` updates it).
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

from scenarios.tomlvalue import toml_value

I32_MAX = 2**31 - 1  # ticks, counts and seeds live in i32 on the device
REQUIRED = object()  # default of a field inside an array of tables that every item must give

KINDS = {"int": "int", "float": "float", "bool": "bool", "str": "str", "list[int]": "list of int",
         "list[float]": "list of float", "table": "inline table", "list[table]": "array of tables"}


@dataclass(frozen=True)
class Key:
    """One scenario key: where it lives, its type and default, what it may hold, what it means."""

    section: str  # "" for top-level keys; "agents.c0_patches" for a field of that table
    name: str
    kind: str  # one of KINDS
    default: object
    doc: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression accepted besides the choices
    pattern_doc: str = ""
    rule: str = ""  # constraint involving other keys, checked by scenarios.rules
    range_doc: str = ""  # replaces the generated range text where that would mislead
    fields: tuple["Key", ...] = ()  # the fields of a table or of each item of an array of tables
    attr: str = ""  # Python field name where the TOML name is a keyword ("from" -> "start")
    # Keys added after scenarios were first recorded: written to the effective text only when they (or another
    # such key of their section) differ from the default, so older scenarios keep their text and hash.
    omit_default: bool = False

    @property
    def field_name(self) -> str:
        """Return the dataclass field name of this key."""
        return self.attr or self.name

    @property
    def dotted(self) -> str:
        """Return section.name (or name for a top-level key)."""
        return f"{self.section}.{self.name}" if self.section else self.name

    def range_text(self, full: bool = False, element: bool = False) -> str:
        """Return the allowed values as text; full=True spells out i32 limits; element=True: one list item."""
        if element:
            return _interval(self, full, each="")
        if self.range_doc:
            text = self.range_doc
        elif self.choices or self.pattern:
            text = " | ".join(self.choices)
            if self.pattern_doc:
                text += (" | " if text else "") + self.pattern_doc
        elif self.lo is not None or self.hi is not None:
            text = _interval(self, full)
        else:
            text = ""
        if self.rule:
            text = f"{text}; {self.rule}" if text else self.rule
        return text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _interval(key: Key, full: bool, each: str | None = None) -> str:
    if each is None:
        each = "each " if key.kind.startswith("list") else ""
    lo, hi = key.lo, key.hi
    if hi is None or (hi == I32_MAX and not full):
        return f"{each}{'>' if key.lo_open else '≥'} {_num(lo)}"
    if lo is None:
        return f"{each}{'<' if key.hi_open else '≤'} {_num(hi)}"
    if key.kind in ("int", "list[int]"):
        return f"{each}{_num(lo)} … {_num(hi)}"
    return f"{each}{'(' if key.lo_open else '['}{_num(lo)}, {_num(hi)}{')' if key.hi_open else ']'}"


def _k(section: str, name: str, kind: str, default: object, doc: str, **kw) -> Key:
    if kind == "int" and "hi" not in kw and "choices" not in kw:
        kw["hi"] = I32_MAX
    return Key(section, name, kind, default, doc, **kw)


def _added_later(*keys: Key) -> tuple[Key, ...]:
    """Mark keys added after scenarios were first recorded (see Key.omit_default)."""
    return tuple(dataclasses.replace(key, omit_default=True) for key in keys)


def _unit(section: str, name: str, default: float, doc: str, **kw) -> Key:
    """A float in [0, 1] unless told otherwise."""
    return _k(section, name, "float", default, doc, lo=kw.pop("lo", 0.0), hi=kw.pop("hi", 1.0), **kw)


_PATCH = (
    _k("agents.c0_patches", "count", "int", 6, "number of round patches", lo=1),
    _k("agents.c0_patches", "radius", "float", 6.0, "patch radius in cells", lo=0.0, lo_open=True),
    _unit("agents.c0_patches", "inside", 0.4, "base competence inside a patch"),
    _unit("agents.c0_patches", "outside", 0.05, "base competence outside every patch"),
)
_DIE_AT = (
    _k("faults.die_at", "tick", "int", REQUIRED, "tick at which the agents die", lo=0),
    _unit("faults.die_at", "share", REQUIRED, "share of the grid's agents that die then (seeded)"),
)
_OUTAGE = (
    _k("faults.oracle_outage", "from", "int", REQUIRED, "first tick without the oracle", lo=0, attr="start"),
    _k("faults.oracle_outage", "to", "int", REQUIRED, "first tick with the oracle back", lo=1, rule="> from",
       attr="end"),
)

MANAGERS = ("none", "stages", "thompson", "uniform", "round_robin", "learning_progress", "learnability")

SCHEMA: tuple[Key, ...] = (
    _k("", "name", "str", "", "scenario name shown by the tools (default: the file name)"),
    _k("", "description", "str", "", "one-line summary shown by `gridhanoi scenario list`"),
    # [grid]
    _k("grid", "size", "int", 64, "grid side: size×size cells, one agent per cell", lo=4, hi=4096),
    _k("grid", "tile", "int", 4, "tile side in cells; every agent of a tile works on the same move", lo=1,
       rule="divides grid.size"),
    _k("grid", "tau_green", "int", 12, "agreeing Success agents needed to compose a tile's move", lo=1,
       range_doc="1 … tile²"),
    # [task]
    _k("task", "kind", "str", "hanoi", "task family", choices=("hanoi",)),
    _k("task", "disks", "int", 8, "disks; moves = 2^disks − 1 (3 pegs) or Frame–Stewart (4 pegs)", lo=1, hi=24,
       rule="moves ≤ tiles"),
    _k("task", "pegs", "int", 3, "pegs (4 = Frame–Stewart)", lo=3, hi=4),
    _k("task", "max_ticks", "int", 5000, "the episode ends as max_ticks after this many ticks", lo=1),
    _k("task", "stall_ticks", "int", 500, "ends as stalled when no move completes and no stage advances this long",
       lo=1),
    # [layout]
    _k("layout", "mapping", "str", "spiral", "order in which moves are laid on tiles",
       choices=("spiral", "raster", "hilbert", "random")),
    _k("layout", "order", "str", "free", "prefix: a tile works only once move k−1 is complete",
       choices=("free", "prefix")),
    _k("layout", "sectors", "int", 8, "curriculum zones per ring, by tile-centre angle", lo=1, hi=64),
    _k("layout", "seed", "int", 0, "seeds the random mapping, c0 patches and dead masks; shared by all worlds",
       lo=0),
    _k("layout", "difficulty", "str", "radial", "radial = the paper formula, else a grayscale PNG (white = 1.42)",
       range_doc="radial | PNG path relative to the scenario file"),
    _k("layout", "difficulty_ascii", "str", "", "square rows of digits 0–9; cell difficulty = digit/9·1.42",
       range_doc="empty | square digit art", rule="not with a PNG difficulty"),
    # [agents]
    _unit("agents", "c0", 0.1, "base competence c₀ of every agent"),
    _unit("agents", "s0", 0.0, "initial shared skill S₀ of every task category"),
    _unit("agents", "eta", 0.2, "η: competence gain on an own success"),
    _unit("agents", "eta_oracle", 0.3, "η_oracle: competence gain from an oracle answer"),
    _unit("agents", "eta_nbr", 0.5, "η_nbr: learning from more competent neighbours that succeed"),
    _unit("agents", "eta_shared", 0.002, "η_shared: shared-skill gain per successful attempt"),
    _k("agents", "distill", "bool", False, "adoptions and oracle answers also teach the shared skill"),
    _unit("agents", "kappa", 0.6, "κ: difficulty slope in p = e·(1 − κ·d) + α·min(a, a_max)", hi=10.0),
    _unit("agents", "alpha", 0.003, "α: pity bonus per failed attempt"),
    _k("agents", "a_max", "int", 10, "failed attempts counted in the pity bonus", lo=0),
    _unit("agents", "p_min", 0.02, "floor of the probability of a correct proposal", lo_open=True, hi_open=True),
    _unit("agents", "p_max", 0.995, "ceiling of the probability of a correct proposal", lo_open=True, hi_open=True,
          rule="> p_min"),
    _unit("agents", "b_over", 1.5, "over-confidence of inexperienced agents (logit units)", lo=-10.0, hi=10.0),
    _unit("agents", "omega", 2.0, "ω: how well experienced agents know when they are wrong", hi=20.0),
    _unit("agents", "sigma_conf", 0.5, "noise of the confidence p̂ (logit units)", hi=10.0),
    _k("agents", "slm_latency", "int", 1, "ticks one attempt takes", lo=1, hi=1000),
    _k("agents", "c0_patches", "table", None, "seeded round patches of base competence, replacing c0",
       range_doc="none | {count, radius, inside, outside}", fields=_PATCH),
    # [oracle]
    _k("oracle", "enabled", "bool", True, "agents may escalate to the oracle"),
    _unit("oracle", "tau_escalate", 0.12, "escalate when the confidence p̂ is below this…", lo_open=True,
          hi_open=True),
    _k("oracle", "a_escalate", "int", 2, "…and the agent has failed at least this often", lo=0),
    _k("oracle", "latency", "int", 3, "ticks until the oracle answers", lo=1, hi=1000),
    _unit("oracle", "error", 0.01, "probability that an oracle answer is wrong"),
    _k("oracle", "cost", "float", 20.0, "cost of one oracle call", lo=0.0),
    _k("oracle", "attempt_cost", "float", 1.0, "cost of one SLM attempt", lo=0.0),
    _k("oracle", "budget", "int", -1, "oracle calls allowed per world", lo=-1, range_doc="−1 (unlimited) | ≥ 0"),
    # [consensus] (DESIGN §2.8), added later: verified scenarios keep the text and hash they had before it
    *_added_later(
        _k("consensus", "feedback", "str", "verified", "verified: every proposal is checked (the paper); consensus: "
           "tiles vote and wrong moves can enter the plan", choices=("verified", "consensus")),
        _unit("consensus", "tau_commit", 0.7, "an attempt votes when its confidence p̂ ≥ tau_commit, else it "
              "abstains", hi_open=True),
        _k("consensus", "k_ahead", "int", 2, "a tile decides answer c once its votes lead every other answer by k",
           lo=1, hi=1000),
        _k("consensus", "w_oracle", "int", 1, "votes that one oracle answer casts", lo=0, hi=1000),
        _unit("consensus", "red_flag", 0.0, "probability that a wrong proposal is red-flagged (discarded, no vote)"),
        _k("consensus", "learn", "str", "self", "self: composed tiles and the leader's votes teach; oracle: only "
           "oracle answers teach", choices=("self", "oracle")),
        _k("consensus", "audit", "str", "off", "confidence: one oracle call checks a decision whose voters' mean p̂ "
           "< tau_audit; contested: one whose runner-up has votes", choices=("off", "confidence", "contested")),
        _unit("consensus", "tau_audit", 0.85, "mean p̂ of the leader's voters below which audit = confidence checks"),
        _k("consensus", "nll_source", "str", "leader", "label of the NLL managers see: agreement with the tile's "
           "leader or the oracle's answer", choices=("leader", "oracle")),
    ),
    # [curriculum]
    _k("curriculum", "manager", "str", "stages", "curriculum manager that picks the active zones",
       choices=MANAGERS, pattern=r"^[\w.]+:\w+$", pattern_doc="package.module:Class"),
    _k("curriculum", "zones_per_tick", "int", 2, "zones a bandit manager activates per tick", lo=1),
    _k("curriculum", "radii", "list[float]", (0.25, 0.5, 0.75, 1.0, 1.42),
       "stage radii R_s in difficulty units (1.42 covers the corners)", lo=0.0, lo_open=True,
       range_doc="each > 0", rule="non-empty, strictly increasing"),
    _unit("curriculum", "tau_stage", 0.8, "Success share inside R_s that advances the stage", lo_open=True),
    _k("curriculum", "nll_weight", "float", 1.0, "λ: bandit reward = success · exp(−λ·NLL)", lo=0.0),
    _unit("curriculum", "discount", 0.95, "γ: per-tick discount of the posteriors toward the prior",
          lo_open=True),
    _k("curriculum", "reward_scaling", "str", "none", "quantile: rescale rewards by their 20th/80th percentiles",
       choices=("none", "quantile")),
    _k("curriculum", "lp_window", "int", 20, "window (ticks with attempts) of the learning_progress and "
       "learnability managers", lo=2),
    *_added_later(_unit("curriculum", "epsilon", 0.1, "ε: share of the learnability manager's picks drawn at "
                                                       "random")),
    # [faults]
    _unit("faults", "dead_share", 0.0, "share of agents dead from tick 0 (seeded)", hi_open=True),
    _k("faults", "dead_ascii", "str", "", "square mask art, '#'/'X' dead, '.' alive; scaled to the grid",
       range_doc="empty | square mask art", rule="not with dead_png"),
    _k("faults", "dead_png", "str", "", "PNG mask relative to the scenario file; dark pixels are dead",
       range_doc="empty | PNG path"),
    _k("faults", "die_at", "list[table]", (), "agents that die later: [[faults.die_at]] tick, share",
       range_doc="none | items {tick, share}", fields=_DIE_AT),
    _k("faults", "oracle_outage", "list[table]", (), "oracle unavailable for from ≤ tick < to",
       range_doc="none | items {from, to}", fields=_OUTAGE),
    # [record]
    _k("record", "frame_every", "int", 0, "ticks between frames; 0 = every tick if size ≤ 128, else 16", lo=0),
    _k("record", "worlds", "list[int]", (0,), "worlds whose frames are recorded", lo=0, hi=I32_MAX,
       rule="distinct"),
    _k("record", "confidence", "bool", False, "also record the confidence p̂ of every cell"),
    _k("record", "chunk_ticks", "int", 64, "ticks per chunk exported from the device ring buffer", lo=1,
       hi=4096),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(k.section for k in SCHEMA if k.section))
TOP_LEVEL: dict[str, Key] = {k.name: k for k in SCHEMA if not k.section}
BY_SECTION: dict[str, dict[str, Key]] = {s: {k.name: k for k in SCHEMA if k.section == s} for s in SECTIONS}


def render_default(key: Key) -> str:
    """Return a key's default as it reads in TOML ("none" where it has none)."""
    if key.default is None or key.default == () and key.kind == "list[table]":
        return "none"
    if key.default is REQUIRED:
        return "required"
    return toml_value(key.default)


def key_rows() -> list[tuple[str, str, str, str, str, str]]:
    """Return one row per key and per table field: section, key, type, default, range, meaning."""
    rows = []
    for key in SCHEMA:
        section = key.section
        rows.append((section, key.name, KINDS[key.kind], render_default(key), key.range_text(), key.doc))
        for sub in key.fields:
            rows.append((section, f"{key.name}.{sub.name}", KINDS[sub.kind], render_default(sub),
                         sub.range_text(), sub.doc))
    return rows


def render_key_table_markdown() -> str:
    """Return the Markdown table of every key (the block between the markers in docs/scenarios.md)."""
    def cell(text: str, code: bool = False) -> str:
        text = text.replace("|", "\\|")
        return f"`{text}`" if code and text else text

    lines = ["| section | key | type | default | range | meaning |", "|---|---|---|---|---|---|"]
    for section, name, kind, default, allowed, doc in key_rows():
        lines.append(f"| {cell(section or '(top)')} | {cell(name, True)} | {kind} | {cell(default, True)} | "
                     f"{cell(allowed)} | {cell(doc)} |")
    return "\n".join(lines) + "\n"


DOC_BEGIN = "<!-- key table: generated by `python -m scenarios.schema`, do not edit by hand -->"
DOC_END = "<!-- end of key table -->"


def replace_key_table(doc_text: str) -> str:
    """Return doc_text with the block between DOC_BEGIN and DOC_END replaced by the current table."""
    head, sep, rest = doc_text.partition(DOC_BEGIN)
    _, sep2, tail = rest.partition(DOC_END)
    if not sep or not sep2:
        raise ValueError("the key table markers are missing")
    return f"{head}{DOC_BEGIN}\n{render_key_table_markdown()}{DOC_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Print the key table, or with --write PATH update the table inside that Markdown file."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        path.write_text(replace_key_table(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    if argv:
        print("usage: python -m scenarios.schema [--write docs/scenarios.md]", file=sys.stderr)
        return 2
    sys.stdout.write(render_key_table_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
