"""Present `gridhanoi bench` results: rich tables on stdout, a JSON file, a PNG of the scaling curves."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

CURVES = (  # (rate key, label, style): what the plot and the throughput table show
    ("taichi_kernel", "Taichi kernels", "-o"),
    ("taichi_full", "Taichi full loop", "-s"),
    ("taichi_record", "Taichi full loop + recording", ":s"),
    ("reference", "NumPy reference (exact float32)", "--^"),
    ("plain", "plain NumPy (np.log/np.exp)", "--v"),
)


def mega(x: float | None) -> str:
    """Millions, three significant digits."""
    return "—" if x is None else f"{x / 1e6:.3g}"


def with_range(r: dict | None, fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    """value [lo–hi] of a ratio dict."""
    if r is None:
        return "—"
    return f"{fmt.format(r['value'] * scale)} [{fmt.format(r['lo'] * scale)}–{fmt.format(r['hi'] * scale)}]"


def rate_cell(rates: dict, key: str) -> str:
    """Median M active agent-steps/s with its min–max."""
    r = rates.get(key)
    if r is None:
        return "—"
    a = r["active_agent_steps_per_s"]
    return f"{mega(a['median'])} [{mega(a['min'])}–{mega(a['max'])}]"


def label(r: dict) -> str:
    """Kind, W and G of a case, and its window when it does not start at reset."""
    window = f", ticks {r['start']}–{r['start'] + r['ticks'] - 1}" if r.get("start") else ""
    return f"{r['kind']} W={r['worlds']} G={r['grid']}{window}"


def hardware_line(out: dict) -> str:
    """One line naming the machine and the software."""
    h = out["hardware"]
    mem = f", {h['memory_bytes'] / 2**30:.0f} GiB" if h.get("memory_bytes") else ""
    gpu = f", GPU {h['gpu_name']}" if h.get("gpu_name") else ", no GPU" if not h.get("gpu") else ""
    return (f"{h['cpu']}{gpu}, {h['usable_cores']} usable of {h['logical_cores']} logical cores{mem}; "
            f"Taichi {h['taichi']} on {h['arch']} ({h.get('jit', 'optimized')} JIT), NumPy {h['numpy']}, "
            f"Python {h['python']}")


def throughput_rows(out: dict) -> tuple[str, list[str], list[list[str]]]:
    """Title, header and rows of the throughput table: active agent-steps/s per case and backend."""
    s = out["settings"]
    title = (f"Throughput, M active agent-steps/s (live agents in open tiles): median [min–max] of {s['repeats']} "
             f"(Taichi) / {s['ref_repeats']} (NumPy) runs of {s['ticks']} ticks")
    header = ["case", "agents", "active share", *[name for _, name, _ in CURVES], "all agent-steps/s (kernels)",
              "ms/tick (full loop)"]
    rows = []
    for r in out["configs"]:
        full = r["rates"].get("taichi_full", {}).get("ms_per_tick", {}).get("median")
        rows.append([label(r), f"{r['agents']:,}", f"{100 * r.get('active_share', 0):.0f}%",
                     *[rate_cell(r["rates"], k) for k, _, _ in CURVES],
                     mega(r["rates"]["taichi_kernel"]["agent_steps_per_s"]["median"]) + " M",
                     "—" if full is None else f"{full:.3g}"])
    return title, header, rows


def ratio_rows(out: dict) -> tuple[str, list[str], list[list[str]]]:
    """Title, header and rows of the ratio table: value [range] per case."""
    header = ["case", "× reference", "× plain NumPy", "full / kernels", "host share", "recording ×",
              "% of roofline", "same decisions"]
    rows = []
    for r in out["configs"]:
        q = r["ratios"]
        rows.append([label(r), with_range(q.get("speedup_vs_reference"), "{:.1f}"),
                     with_range(q.get("speedup_vs_plain"), "{:.1f}"), with_range(q.get("full_over_kernel")),
                     with_range(q.get("host_share"), "{:.0f}%", 100), with_range(q.get("record_overhead")),
                     with_range(q.get("roofline_fraction"), "{:.1f}%", 100),
                     ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in r.get("same_work", {}).items()) or "—"])
    return "Ratios: value [min–max over runs]", header, rows


def episode_rows(out: dict) -> tuple[str, list[str], list[list[str]]]:
    """Title, header and rows of the whole-episode table."""
    header = ["batch", "ticks", "ticks/s", "world-ticks/s", "episodes/s", "episodes/s recorded",
              "M active agent-steps/s", "full / kernels", "outcomes"]
    rows = []
    for e in out.get("episodes", []):
        p, rec = e["plain"], e.get("recorded")
        med = lambda d, k: d[k]["median"] if d else None  # noqa: E731
        rows.append([f"{e['scenario']} ({e['manager']}) W={e['worlds']} G={e['grid']}", f"{e['ticks']:,}",
                     f"{med(p, 'ticks_per_s'):,.0f}", f"{med(p, 'world_ticks_per_s'):,.0f}",
                     f"{med(p, 'episodes_per_s'):.3g}", "—" if rec is None else f"{med(rec, 'episodes_per_s'):.3g}",
                     mega(med(p, "active_agent_steps_per_s")), f"{med(p, 'full_over_kernel'):.2f}",
                     ", ".join(e["outcomes"])])
    title = (f"Whole episodes from reset to the last world's outcome, Taichi, median of "
             f"{out['settings'].get('episode_repeats', 1)} runs")
    return title, header, rows


def rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    """A rich table, first column left-aligned, numbers right-aligned."""
    t = Table(title=escape(title))  # titles hold [min–max], which rich would take for markup
    for i, col in enumerate(header):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*row)
    return t


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, numbers right-aligned."""
    return ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1),
            *["| " + " | ".join(row) + " |" for row in rows]]


def summary_rows(out: dict) -> list[tuple[str, str]]:
    """Headline figures and the targets (met or not; never asserted) as (what, value) rows."""
    s, h = out["summary"], out["hardware"]
    bw = out["bandwidth"]["bytes_per_s"]
    load = out["settings"].get("load_average_before")
    load_after = out["settings"].get("load_average_after")
    gb = lambda x: f"{x / 1e9:.1f}"  # noqa: E731
    launch = s.get("empty_launch_s")
    rows = [
        ("hardware", hardware_line(out)),
        ("load average (1, 5, 15 min) at start / end", (", ".join(map(str, load)) if load else "—") + " / "
         + (", ".join(map(str, load_after)) if load_after else "—")),
        ("copy bandwidth (NumPy, read+write)", f"{gb(bw['median'])} GB/s [{gb(bw['min'])}–{gb(bw['max'])}], "
                                               f"roofline uses the peak {gb(out['bandwidth']['peak_bytes_per_s'])}"),
        ("empty Taichi kernel launch", "—" if launch is None else f"{launch * 1e6:.1f} µs"),
    ]
    for name, what in (("w_max", "all-open, largest W"), ("w_1", "all-open, W=1"), ("grid_max", "all-open, largest G")):
        a = s["all_open"].get(name)
        if a:
            rows.append((f"{what} (W={a['worlds']} G={a['grid']})",
                         f"{mega(a['active_agent_steps_per_s'])} M active agent-steps/s kernels, "
                         f"{mega(a['full_active_agent_steps_per_s'])} M full loop; "
                         f"{with_range(a['speedup_vs_reference'], '{:.1f}×')} reference, "
                         f"{with_range(a['roofline_fraction'], '{:.1f}%', 100)} of roofline"))
    for name, what in (("w_1", "mid-episode, W=1"), ("w_max", "mid-episode, largest W"), ("million", "million")):
        m = s["mid_episode"].get(name)
        if m:
            rows.append((f"{what} ({m['scenario']} W={m['worlds']} G={m['grid']}, ticks {m['start']}–"
                         f"{m['start'] + m['ticks'] - 1})",
                         f"{mega(m['active_agent_steps_per_s'])} M active agent-steps/s "
                         f"({100 * (m['active_share'] or 0):.0f}% of {mega(m['agent_steps_per_s'])} M all); "
                         f"{m['full_ms_per_tick']:.3g} ms/tick full loop, {m['kernel_ms_per_tick']:.3g} ms kernels"))
    for e in s.get("episodes", []):
        rows.append((f"whole episodes W={e['worlds']}", f"{e['ticks_per_s']:,.0f} ticks/s, "
                                                         f"{e['episodes_per_s']:.3g} episodes/s"))
    rows += [("JIT: first step in the process", jit_text(out["jit"])),
             ("viewer frame / seek time", viewer_text(out["viewer"]))]
    for tg in s["targets"]:
        verdict = "n/a" if tg["met"] is None else ("MET" if tg["met"] else "NOT MET")
        shown = "" if tg["value"] is None else f" ({tg['value']:.3g})"
        note = f" ({tg['note']})" if tg.get("note") else ""
        rows.append((f"target: {tg['target']}", f"{verdict}{shown}{note}"))
    rows.append(("bench wall time", f"{out.get('wall_s', 0):.0f} s ({h['arch']})"))
    return rows


def jit_text(jit: dict) -> str:
    """First step in this process, and build + first step in fresh processes (cold, warm cache) when measured."""
    text = f"{jit['first_step_s']:.2f} s in this process"
    for key in ("cold", "warm"):
        r = jit.get(key)
        if r and "first_step_s" in r:
            text += f"; fresh process, {key} cache: build {r['build_s']:.2f} s + first step {r['first_step_s']:.2f} s"
    return text


def viewer_text(viewer: dict) -> str:
    """Frame and seek time (median ms) when the viewer measured them, else its status."""
    if viewer.get("status") != "measured":
        return viewer.get("status", "n/a")
    ms = lambda key: f"{viewer[key]['median'] * 1e3:.1f} ms"  # noqa: E731
    return (f"frame 64×64 {ms('frame_64_s')}, 1024×1024 {ms('frame_1024_s')}; "
            f"seek in {viewer['seek_episode_ticks']:,} ticks {ms('seek_s')}")


def print_report(out: dict, console: Console | None = None) -> None:
    """Print the throughput, ratio and summary tables."""
    console = console or (Console() if Console().is_terminal else Console(width=190))
    console.print(rich_table(*throughput_rows(out)))
    console.print(rich_table(*ratio_rows(out)))
    if out.get("episodes"):
        console.print(rich_table(*episode_rows(out)))
    console.print(rich_table("Summary", ["what", "value"], [list(r) for r in summary_rows(out)]))


def write_json(out: dict, path: str | Path) -> None:
    """Write the results as indented JSON."""
    Path(path).write_text(json.dumps(out, indent=1, default=float) + "\n", encoding="utf-8")


def write_markdown(out: dict, path: str | Path) -> None:
    """Write the tables as Markdown."""
    Path(path).write_text(markdown(out), encoding="utf-8")


def plot_scaling(out: dict, path: str | Path) -> None:
    """All-open active agent-steps/s vs W (base grid) and vs G (W = 1), every backend and the roofline, log axes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = [r for r in out["configs"] if r["kind"] == "all-open"]
    base = res[0]["grid"]
    by_w = sorted((r for r in res if r["grid"] == base), key=lambda r: r["worlds"])
    by_g = sorted((r for r in res if r["worlds"] == 1), key=lambda r: r["grid"])
    per = [r["roofline"]["bytes_per_active_agent"] for r in res if "roofline" in r]
    roof_label = (f"roofline: {out['bandwidth']['peak_bytes_per_s'] / 1e9:.0f} GB/s copy ÷ "
                  f"{min(per, default=0):.0f}–{max(per, default=0):.0f} B per active agent-step")
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.8))
    for ax, rows, x_of, xlabel in ((axes[0], by_w, lambda r: r["worlds"], f"worlds W ({base}×{base} each)"),
                                   (axes[1], by_g, lambda r: r["grid"], "grid size G (W = 1, G×G agents)")):
        xs = [x_of(r) for r in rows]
        for key, name, style in CURVES:
            pts = [(x, r["rates"][key]["active_agent_steps_per_s"]) for x, r in zip(xs, rows) if key in r["rates"]]
            if not pts:
                continue
            x = [p[0] for p in pts]
            med = [p[1]["median"] for p in pts]
            err = [[p[1]["median"] - p[1]["min"] for p in pts], [p[1]["max"] - p[1]["median"] for p in pts]]
            ax.errorbar(x, med, yerr=err, fmt=style, capsize=3, label=name, markersize=5)
        roof = [(x, r["roofline"]["active_agent_steps_per_s"]) for x, r in zip(xs, rows)
                if r.get("roofline", {}).get("active_agent_steps_per_s")]
        if roof:
            ax.plot([p[0] for p in roof], [p[1] for p in roof], "k:", label=roof_label)
        ax.set_xscale("log", base=2 if ax is axes[0] else 4)
        ax.set_yscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("active agent-steps / s")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("scaling with worlds")
    axes[1].set_title("scaling with grid size")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    s = out["settings"]
    fig.suptitle(f"gridhanoi bench — {s['scenario']} with every tile open, ticks 0–{s['ticks'] - 1} from reset; "
                 f"{hardware_line(out)}",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.09, 1, 1))  # room for the shared legend below the two panels
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(out: dict) -> str:
    """The tables as Markdown (for docs/benchmarks.md)."""
    lines = []
    tables = [throughput_rows(out), ratio_rows(out)] + ([episode_rows(out)] if out.get("episodes") else [])
    for title, header, rows in (*tables, ("Summary", ["what", "value"], [list(r) for r in summary_rows(out)])):
        lines += [f"{title}.", "", *markdown_table(header, rows), ""]
    return "\n".join(lines)
