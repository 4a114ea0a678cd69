"""The run summary as a rich table on stdout."""
import statistics

from rich.console import Console
from rich.table import Table

MAX_ROWS = 8


def _median(values):
    """Median, formatted compactly."""
    return f"{statistics.median(values):g}" if values else "-"


def print_summary(summary: dict) -> None:
    """Print per-world rows (or the median over worlds when there are many) and the throughput."""
    rows = summary["world_results"]
    m = summary["moves_total"]
    table = Table(title=f"{summary['scenario']} · seed {summary['seed']} · {summary['worlds']} world(s) · "
                        f"{summary.get('device') or summary['arch']}")
    for col in ("world", "outcome", "ticks", "moves", "prefix", "attempts", "oracle calls", "cost", "errors",
                "first error", "plan valid"):
        table.add_column(col, justify="right" if col not in ("outcome", "plan valid") else "left")
    for r in rows[:MAX_ROWS]:
        # with wrong moves the errors columns say why; else the validator's reason
        valid = {None: "-", True: "yes", False: "NO" if r["errors"] else f"NO: {r['plan_error']}"}[r["plan_valid"]]
        first = "-" if r["first_error"] is None else str(r["first_error"])
        table.add_row(str(r["world"]), r["outcome"], str(r["ticks"]), f"{r['moves_complete']}/{m}", str(r["prefix"]),
                      str(r["attempts"]), str(r["oracle_calls"]), f"{r['cost']:g}", str(r["errors"]), first, valid)
    if len(rows) > MAX_ROWS:
        outcomes = {}
        for r in rows:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        table.add_row("median", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
                      _median([r["ticks"] for r in rows]), _median([r["moves_complete"] for r in rows]),
                      _median([r["prefix"] for r in rows]), _median([r["attempts"] for r in rows]),
                      _median([r["oracle_calls"] for r in rows]), _median([r["cost"] for r in rows]),
                      _median([r["errors"] for r in rows]),
                      f"{sum(r['errors'] == 0 for r in rows)}/{len(rows)} error-free",
                      f"{sum(r['plan_valid'] is True for r in rows)}/{len(rows)} valid")
    console = Console() if Console().is_terminal else Console(width=120)
    console.print(table)
    for r in rows:
        if r["stalled_moves"]:
            console.print(f"world {r['world']} stalled: moves {r['stalled_moves']} can no longer complete "
                          f"(their tiles have fewer than tau_green live agents)")
    t = summary["timing"]
    # the first tick carries the JIT compile (seconds, once per batch shape): the rate is given without it
    rest = t["wall_s"] - t["first_tick_s"]
    rate = f" → {t['active_agent_steps'] / rest:,.0f} active agent-steps/s after it" if rest > 0 else ""
    console.print(f"{t['active_agent_steps']:,} active agent-steps ({t['agent_steps']:,} in all) in {t['wall_s']:.2f} s, "
                  f"of which the first tick (JIT compile included) {t['first_tick_s']:.2f} s{rate}")
