"""report/report.md and PNG plots from an experiment folder (results.parquet + timeseries.parquet).

Medians and interquartile ranges over seeds per scenario × manager × ablation; plots of moves complete and oracle
calls over time (median line, IQR band), cost, stage timelines, ablation effects and the reliability diagram.
Matplotlib runs on the Agg backend: no display needed.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kernels import constants as K

TABLE_METRICS = (  # column, heading, format
    ("errors", "errors", "{:.0f}"),  # wrong composed moves (consensus mode; always 0 in verified mode)
    ("ticks", "ticks", "{:.0f}"),
    ("attempts", "SLM attempts", "{:.0f}"),
    ("oracle_calls", "oracle calls", "{:.0f}"),
    ("cost", "cost", "{:.0f}"),
    ("ece", "ECE", "{:.3f}"),
    ("mean_nll", "NLL", "{:.3f}"),
    ("brier", "Brier", "{:.3f}"),
    ("escalation_precision", "esc. precision", "{:.3f}"),
    ("longest_plateau", "longest plateau", "{:.0f}"),
)
EFFECT_METRICS = (("ticks", "ticks", "{:+.1f}"), ("attempts", "SLM attempts", "{:+.0f}"),
                  ("oracle_calls", "oracle calls", "{:+.1f}"), ("cost", "cost", "{:+.0f}"),
                  ("longest_plateau", "longest plateau", "{:+.1f}"))
COLORS = {"thompson": "tab:red", "stages": "tab:blue", "none": "tab:gray", "uniform": "tab:green",
          "round_robin": "tab:purple", "learning_progress": "tab:orange",
          "learnability": "tab:cyan"}


def read_results(folder) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """Results columns, time-series columns and the run metadata of an experiment folder."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    table = pq.read_table(folder / "results.parquet")
    meta = json.loads((table.schema.metadata or {}).get(b"gridhanoi.experiment", b"{}"))
    cols = {name: _column(table.column(name)) for name in table.column_names}
    series_path = folder / "timeseries.parquet"
    series = {}
    if series_path.exists():
        st = pq.read_table(series_path)
        series = {name: st.column(name).to_numpy() for name in st.column_names}
    return cols, series, meta


def _column(col) -> np.ndarray:
    """A Parquet column as a NumPy array (object array for lists, strings and nullable booleans)."""
    import pyarrow as pa

    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        return col.to_numpy()
    return np.array(col.to_pylist(), dtype=object)


def groups(cols: dict[str, np.ndarray], keys=("scenario", "manager", "ablation")) -> dict[tuple, np.ndarray]:
    """Row indices per distinct key tuple, in first-seen order."""
    out: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*(cols[k] for k in keys))):
        out.setdefault(tuple(key), []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """25th, 50th and 75th percentiles of the finite values (NaN when none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    q = np.percentile(v, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2])


def median_iqr(values: np.ndarray, fmt: str) -> str:
    """"median [q25–q75]" of the finite values, or "–"."""
    lo, mid, hi = quartiles(values)
    if not np.isfinite(mid):
        return "–"
    return f"{fmt.format(mid)} [{fmt.format(lo)}–{fmt.format(hi)}]"


def summary_table(cols: dict[str, np.ndarray], scenario: str) -> str:
    """Markdown table of one scenario: a row per manager × ablation, median [IQR] of each metric over seeds."""
    shown = [m for m in TABLE_METRICS if m[0] in cols]  # results written before a metric existed lack it
    errors = "errors" in cols
    head = ["ablation", "manager", "runs", "complete", *(["zero errors"] if errors else []),
            *(h for _, h, _ in shown), "ticks std"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (sc, manager, ablation), idx in groups(cols).items():
        if sc != scenario:
            continue
        complete = int(np.sum(cols["outcome"][idx] == "complete"))
        cells = [ablation, manager, str(len(idx)), f"{complete}/{len(idx)}"]
        if errors:  # episodes whose plan holds no wrong move, however far it got
            cells.append(f"{int(np.sum(cols['errors'][idx].astype(float) == 0))}/{len(idx)}")
        cells += [median_iqr(cols[c][idx], fmt) for c, _, fmt in shown]
        cells.append(f"{np.std(cols['ticks'][idx].astype(float), ddof=1) if len(idx) > 1 else 0.0:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def effect_cell(mean: float, se: float, fmt: str) -> str:
    """"+Δ ± se", bold where |Δ| > 2 se; "0" where there is exactly no difference."""
    if not np.isfinite(mean):
        return "–"
    if mean == 0 and (se == 0 or not np.isfinite(se)):
        return "0"
    text = f"{fmt.format(mean)} ± {fmt.format(se).lstrip('+')}"
    return f"**{text}**" if np.isfinite(se) and abs(mean) > 2 * se else text


def welch_effect(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Difference of means a − b of two independent samples and its standard error (NaN values dropped)."""
    a = np.asarray(a, float)[np.isfinite(np.asarray(a, float))]
    b = np.asarray(b, float)[np.isfinite(np.asarray(b, float))]
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan
    return float(a.mean() - b.mean()), float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))


def paired_effect(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of the per-seed differences a − b (same seeds, same order) and its standard error (NaN pairs dropped)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return np.nan, np.nan
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def same_seeds(cols, idx: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Both row sets ordered by seed when they ran exactly the same seeds (a paired comparison), else None."""
    if "seed" not in cols:
        return None
    a, b = np.asarray(cols["seed"])[idx], np.asarray(cols["seed"])[ref]
    if len(set(a.tolist())) != len(a) or sorted(a.tolist()) != sorted(b.tolist()):
        return None
    return idx[np.argsort(a, kind="stable")], ref[np.argsort(b, kind="stable")]


def effects_table(cols, pairs: list[tuple[str, np.ndarray, np.ndarray]], first: str) -> str:
    """Markdown table: one row per (label, rows, reference rows), Δ mean ± SE of each effect metric — the SE of
    per-seed differences where both ran the same seeds, Welch's otherwise."""
    shown = [m for m in EFFECT_METRICS if m[0] in cols]
    head = [first, *(f"Δ {h}" for _, h, _ in shown)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, idx, ref in pairs:
        matched = same_seeds(cols, idx, ref)
        effect = welch_effect if matched is None else paired_effect
        idx, ref = (idx, ref) if matched is None else matched
        cells = [label] + [effect_cell(*effect(cols[c][idx], cols[c][ref]), fmt) for c, _, fmt in shown]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pairing(cols, pairs) -> str:
    """How the comparisons of a table pair their runs: "paired seeds", "unpaired seeds" or "mixed pairing"."""
    kinds = {same_seeds(cols, idx, ref) is not None for _, idx, ref in pairs}
    return "paired seeds" if kinds == {True} else "unpaired seeds" if kinds == {False} else "mixed pairing"


def comparison_tables(cols, scenario: str, reference: str = "thompson") -> list[str]:
    """Markdown: each manager vs the reference manager (baseline), and each ablation vs its manager's baseline."""
    g = groups(cols)
    out = []
    ref = g.get((scenario, reference, "baseline"))
    if ref is not None:
        pairs = [(f"{m} − {reference}", idx, ref) for (s, m, a), idx in g.items()
                 if s == scenario and a == "baseline" and m != reference]
        if pairs:
            out += [f"Managers against `{reference}` (baseline; Δ of means ± SE, {pairing(cols, pairs)}):", "",
                    effects_table(cols, pairs, "manager"), ""]
    pairs = [(f"{m} · {a}", idx, g[(scenario, m, "baseline")]) for (s, m, a), idx in g.items()
             if s == scenario and a != "baseline" and (s, m, "baseline") in g]
    if pairs:
        out += [f"Ablations against the same manager's baseline (Δ of means ± SE, {pairing(cols, pairs)}):", "",
                effects_table(cols, pairs, "manager · ablation"), ""]
    return out


def write_report(folder, command: str = "") -> Path:
    """Write report/report.md and the PNG plots for an experiment folder; return the report path."""
    folder = Path(folder)
    cols, series, meta = read_results(folder)
    outcomes = ", ".join(f"{o} {n}" for o, n in zip(*np.unique(cols["outcome"].astype(str), return_counts=True)))
    ran = cols["outcome"] != "crashed"  # crashed runs have labels only: count them, leave them out of the figures
    cols = {k: v[ran] for k, v in cols.items()}
    out = folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    scenarios = list(dict.fromkeys(cols["scenario"]))
    plots = [p for p in (plot_over_time(cols, series, "moves", out / "moves_complete.png"),
                         plot_over_time(cols, series, "oracle_calls", out / "oracle_calls.png"),
                         plot_cost(cols, out / "cost.png"),
                         plot_stages(cols, out / "stages.png"),
                         plot_ablations(cols, out / "ablations.png"),
                         plot_reliability(cols, out / "reliability.png")) if p is not None]
    seeds = int(max(cols["replicate"]) + 1) if len(cols["replicate"]) else 0
    text = ["# Experiment report", "",
            f"- command: `{command or meta.get('command', '')}`",
            f"- runs: {int(ran.size)} ({seeds} seeds per configuration), outcomes: {outcomes}",
            f"- hardware: {meta.get('hardware', '?')}, arch {meta.get('arch', '?')}; "
            f"wall time {meta.get('wall_s', float('nan')):.1f} s",
            f"- gridhanoi {meta.get('gridhanoi_version', '?')}, commit {meta.get('git_commit', '?')}",
            "", "Cells are median [25th–75th percentile] over seeds; `ticks` counts ticks until the episode ended "
            "(complete, stalled or max_ticks); `ticks std` is the standard deviation over seeds (stability); "
            "`esc. precision` is the share of oracle calls where the agent would have been wrong.", ""]
    for sc in scenarios:
        text += [f"## {sc}", "", summary_table(cols, sc), ""] + comparison_tables(cols, sc)
    text += ["**Bold**: |Δ| > 2 SE. `longest plateau`: most consecutive ticks without a newly completed move.", ""]
    text += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    path = out / "report.md"
    path.write_text("\n".join(text), encoding="utf-8")
    return path


# ---- plots
def _pyplot():
    """matplotlib.pyplot on the Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _baseline(cols) -> dict[tuple, np.ndarray]:
    """Row groups (scenario, manager) of the baseline ablation."""
    return {(s, m): idx for (s, m, a), idx in groups(cols).items() if a == "baseline"}


def _subplots(n: int, width: float = 5.0, height: float = 3.6):
    """A row of n axes."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return plt, fig, list(axes[0])


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_matrix(series: dict[str, np.ndarray], runs: np.ndarray, field: str) -> np.ndarray:
    """(runs, ticks) values of one series, carried forward after each run ended."""
    sel = np.isin(series["run"], runs)
    r, t, v = series["run"][sel], series["tick"][sel], series[field][sel]
    length = int(t.max()) + 1 if t.size else 1
    out = np.full((len(runs), length), np.nan)
    row_of = {int(x): i for i, x in enumerate(runs)}
    out[[row_of[int(x)] for x in r], t] = v
    for i in range(len(runs)):  # forward fill (a run's values freeze once it ended)
        row = out[i]
        valid = np.isfinite(row)
        if valid.any():
            last = np.maximum.accumulate(np.where(valid, np.arange(length), 0))
            out[i] = row[last]
            out[i, ~np.maximum.accumulate(valid)] = np.nan
    return out


def plot_over_time(cols, series, field: str, path: Path) -> Path | None:
    """Median and IQR band over seeds of a per-tick series, one panel per scenario, one line per manager."""
    if not series or not len(series.get("run", [])):
        return None
    scenarios = list(dict.fromkeys(cols["scenario"]))
    plt, fig, axes = _subplots(len(scenarios))
    for ax, sc in zip(axes, scenarios):
        for (s, manager), idx in _baseline(cols).items():
            if s != sc:
                continue
            m = run_matrix(series, idx, field)
            if field == "moves":
                m = m / float(cols["moves_total"][idx[0]])
            lo, mid, hi = np.nanpercentile(m, [25, 50, 75], axis=0)
            x = np.arange(m.shape[1]) + 1
            color = COLORS.get(manager)
            ax.plot(x, mid, color=color, label=manager, lw=1.5)
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
        ax.set_title(sc)
        ax.set_xlabel("tick")
        ax.set_ylabel("share of moves complete" if field == "moves" else "oracle calls (cumulative)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(("Moves complete" if field == "moves" else "Oracle calls") + " over time (median, IQR band over seeds)", fontsize=10)
    return _save(plt, fig, path)


def plot_cost(cols, path: Path) -> Path:
    """Box plot of total cost per manager (baseline), one panel per scenario."""
    scenarios = list(dict.fromkeys(cols["scenario"]))
    plt, fig, axes = _subplots(len(scenarios))
    for ax, sc in zip(axes, scenarios):
        items = [(m, cols["cost"][idx].astype(float)) for (s, m), idx in _baseline(cols).items() if s == sc]
        box = ax.boxplot([v for _, v in items], patch_artist=True)
        for patch, (m, _) in zip(box["boxes"], items):
            patch.set_facecolor(COLORS.get(m, "white"))
            patch.set_alpha(0.5)
        ax.set_xticks(range(1, len(items) + 1), [m for m, _ in items], rotation=30, ha="right", fontsize=8)
        ax.set_title(sc)
        ax.set_ylabel("cost (attempts + oracle calls, priced)")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Total cost per run", fontsize=10)
    return _save(plt, fig, path)


def plot_stages(cols, path: Path) -> Path | None:
    """Stage timeline: the median tick at which each stage began (IQR whiskers), one line per manager."""
    stage_cols = sorted((c for c in cols if c.startswith("stage_") and c.endswith("_tick")),
                        key=lambda c: int(c.split("_")[1]))
    if not stage_cols:
        return None
    scenarios = list(dict.fromkeys(cols["scenario"]))
    plt, fig, axes = _subplots(len(scenarios))
    for ax, sc in zip(axes, scenarios):
        for (s, manager), idx in _baseline(cols).items():
            if s != sc or manager == "none":  # `none` opens every stage at tick 0
                continue
            q = np.array([quartiles(cols[c][idx]) for c in stage_cols])
            stages = np.arange(1, len(stage_cols) + 1)
            ok = np.isfinite(q[:, 1])
            if not ok.any():
                continue
            x = np.concatenate([[0], q[ok, 1]])
            y = np.concatenate([[0], stages[ok]])
            ax.step(x, y, where="post", color=COLORS.get(manager), label=manager)
            ax.errorbar(q[ok, 1], stages[ok], xerr=[q[ok, 1] - q[ok, 0], q[ok, 2] - q[ok, 1]], fmt="o",
                        color=COLORS.get(manager), ms=3, capsize=2)
        ax.set_title(sc)
        ax.set_xlabel("tick")
        ax.set_ylabel("stage")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Stage timeline (median tick each stage opened, IQR whiskers)", fontsize=10)
    return _save(plt, fig, path)


def plot_ablations(cols, path: Path) -> Path | None:
    """Median ticks and cost per manager under each ablation (IQR whiskers), one column per scenario."""
    ablations = list(dict.fromkeys(cols["ablation"]))
    if len(ablations) < 2:
        return None
    scenarios = list(dict.fromkeys(cols["scenario"]))
    managers = list(dict.fromkeys(cols["manager"]))
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(scenarios), figsize=(6.0 * len(scenarios), 7.0), squeeze=False)
    width = 0.8 / len(ablations)
    g = groups(cols)
    for col, sc in enumerate(scenarios):
        for row, metric in enumerate(("ticks", "cost")):
            ax = axes[row][col]
            for k, ab in enumerate(ablations):
                q = np.array([quartiles(cols[metric][g[(sc, m, ab)]]) if (sc, m, ab) in g else (np.nan,) * 3
                              for m in managers])
                x = np.arange(len(managers)) + (k - (len(ablations) - 1) / 2) * width
                ax.bar(x, q[:, 1], width, label=ab, yerr=[q[:, 1] - q[:, 0], q[:, 2] - q[:, 1]], capsize=1.5)
            ax.set_xticks(range(len(managers)), managers, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{sc}: {metric}")
            ax.set_ylabel(f"{metric} (median, IQR)")
            ax.grid(alpha=0.3, axis="y")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(ablations), fontsize=8)
    fig.suptitle("Ablations: ticks and cost per manager", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(cols, path: Path) -> Path:
    """Reliability diagram per scenario: accuracy vs mean confidence of p̂, pooled over seeds, per manager."""
    scenarios = list(dict.fromkeys(cols["scenario"]))
    plt, fig, axes = _subplots(len(scenarios), width=4.2, height=4.2)
    for ax, sc in zip(axes, scenarios):
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="perfect")
        for (s, manager), idx in _baseline(cols).items():
            if s != sc:
                continue
            count = np.sum([cols["rel_count"][i] for i in idx], axis=0).astype(float)
            correct = np.sum([cols["rel_correct"][i] for i in idx], axis=0)
            conf = np.sum([cols["rel_conf_fx"][i] for i in idx], axis=0) / K.FX_SCALE
            ok = count > 0
            ax.plot(conf[ok] / count[ok], correct[ok] / count[ok], "o-", ms=3, color=COLORS.get(manager),
                    label=manager)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean confidence p̂ (15 bins)")
        ax.set_ylabel("accuracy")
        ax.set_title(sc)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Reliability diagram (pooled over seeds)", fontsize=10)
    return _save(plt, fig, path)
