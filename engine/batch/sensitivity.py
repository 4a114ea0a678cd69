"""Sensitivity of the model to each knob (DESIGN §2.6 "every knob is measured").

Each knob is stepped down (×0.5) and up (×2) from the scenario's value, clipped to its schema range (a knob at 0
is stepped up to a small absolute value instead), and every step runs the same seeds as the default (paired), so
the effect of a step is a paired difference: mean over seeds of (step − default), with its standard error.
"""
from __future__ import annotations

import math

import numpy as np

from engine.batch.plan import Config, make_config
from engine.batch.report import effect_cell

KNOBS = (  # symbol, scenario key
    ("η", "agents.eta"), ("η_oracle", "agents.eta_oracle"), ("η_nbr", "agents.eta_nbr"),
    ("η_shared", "agents.eta_shared"), ("α", "agents.alpha"), ("κ", "agents.kappa"), ("ω", "agents.omega"),
    ("λ", "curriculum.nll_weight"), ("γ", "curriculum.discount"), ("τ_escalate", "oracle.tau_escalate"),
    ("zones_per_tick", "curriculum.zones_per_tick"), ("c₀", "agents.c0"), ("S₀", "agents.s0"),
)
FROM_ZERO = 0.05  # the "up" step of a knob whose value is 0 (S₀)
EFFECT_METRICS = (("ticks", "ticks", "{:+.1f}"), ("attempts", "SLM attempts", "{:+.0f}"),
                  ("oracle_calls", "oracle calls", "{:+.1f}"), ("cost", "cost", "{:+.0f}"),
                  ("escalation_precision", "esc. precision", "{:+.4f}"))


def knob_value(scenario, dotted: str):
    """The value of a dotted key in a loaded scenario."""
    section, name = dotted.split(".")
    return getattr(getattr(scenario, section), name)


def steps(scenario, dotted: str) -> list[tuple[str, float]]:
    """(direction, value) pairs for one knob: ×0.5 and ×2 clipped to the key's range, distinct from the default."""
    from scenarios.schema import BY_SECTION

    section, name = dotted.split(".")
    key = BY_SECTION[section][name]
    default = knob_value(scenario, dotted)
    raw = [("down", default * 0.5), ("up", default * 2.0)] if default != 0 else [("up", FROM_ZERO)]
    out = []
    for direction, value in raw:
        if key.hi is not None:
            value = min(value, key.hi - (1e-3 if key.hi_open else 0.0))
        if key.lo is not None:
            value = max(value, key.lo + (1e-3 if key.lo_open else 0.0))
        if key.kind == "int":
            value = max(int(round(value)), int(key.lo or 0))
        if value != default:
            out.append((direction, value))
    return out


def sensitivity_configs(scenario: str, managers: list[str], ticks: int | None) -> list[Config]:
    """The default and every knob step of `scenario`, for each manager."""
    configs = []
    for manager in managers:
        base = {"curriculum.manager": manager}
        if ticks is not None:
            base["task.max_ticks"] = ticks
        default = make_config(scenario, {"manager": manager, "knob": "default", "key": "", "direction": "default",
                                         "value": math.nan}, base)
        configs.append(default)
        for symbol, dotted in KNOBS:
            for direction, value in steps(default.variant, dotted):
                labels = {"manager": manager, "knob": symbol, "key": dotted, "direction": direction,
                          "value": float(value)}
                configs.append(make_config(scenario, labels, {**base, dotted: value}))
    return configs


def paired_effect(step: np.ndarray, base: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the per-seed differences step − base (NaN pairs dropped)."""
    d = np.asarray(step, float) - np.asarray(base, float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return math.nan, math.nan
    se = float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
    return float(d.mean()), se


def sensitivity_markdown(cols: dict[str, np.ndarray]) -> str:
    """Markdown tables (one per manager): default means, then each step's paired effect ± SE."""
    out = []
    for manager in dict.fromkeys(cols["manager"]):
        rows = np.nonzero(cols["manager"] == manager)[0]
        base = rows[cols["direction"][rows] == "default"]
        base = base[np.argsort(cols["seed"][base])]
        n = len(base)
        out.append(f"### {cols['scenario'][base[0]]} · `{manager}` · {n} paired seeds")
        out.append("")
        means = ", ".join(f"{h} {fmt.replace('+', '').format(np.nanmean(cols[c][base].astype(float)))}"
                          for c, h, fmt in EFFECT_METRICS)
        out.append(f"Default (mean over seeds): {means}.")
        out.append("")
        head = ["knob", "key", "step", "value", *(f"Δ {h}" for _, h, _ in EFFECT_METRICS)]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for symbol, dotted in KNOBS:
            for direction in ("down", "up"):
                sel = rows[(cols["key"][rows] == dotted) & (cols["direction"][rows] == direction)]
                if sel.size == 0:
                    continue
                sel = sel[np.argsort(cols["seed"][sel])]
                cells = [symbol, f"`{dotted}`", direction, f"{cols['value'][sel[0]]:g}"]
                for c, _, fmt in EFFECT_METRICS:
                    cells.append(effect_cell(*paired_effect(cols[c][sel], cols[c][base]), fmt))
                out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out.append("Δ = mean over seeds of (step − default), paired by seed, ± its standard error; **bold** where "
               "|Δ| > 2 SE; `0` where every seed gave exactly the default's figure (the knob has no effect at all).")
    return "\n".join(out) + "\n"
