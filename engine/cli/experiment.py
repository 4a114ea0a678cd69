"""`gridhanoi experiment`: run scenario × manager × ablation × seed (or a knob sensitivity) and write a report.

Writes OUT/results.parquet (one row per run), OUT/timeseries.parquet (per tick per run), OUT/report/report.md with
PNG plots — or, with --sensitivity, OUT/sensitivity.md. Exit 0 when every run executed (outcomes are data), 1 when
a configuration still crashed when run alone (its rows say "crashed"; the others are kept), 2 for bad input.
"""
from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from pathlib import Path

from engine.sim.arch import ARCH_CHOICES


def register(subparsers) -> None:
    """Add the `experiment` command."""
    p = subparsers.add_parser("experiment", help="compare managers and ablations over many seeds; write a report")
    p.add_argument("--scenario", default="paper", help="comma-separated built-in names or .toml paths (default paper)")
    p.add_argument("--managers", default="thompson,stages,none",
                   help="comma-separated managers (built-in or package.module:Class; default thompson,stages,none)")
    p.add_argument("--seeds", type=int, default=8, help="seeds per configuration (default 8)")
    p.add_argument("--ablations", default="",
                   help="comma-separated, besides the baseline: lambda0, alpha0, oracle_off, random_mapping, quantile")
    p.add_argument("--ticks", type=int, default=None, help="lower every scenario's max_ticks to this")
    p.add_argument("--out", default=None,
                   help="output folder (default experiments/<scenarios>-<timestamp>-<random suffix>)")
    p.add_argument("--arch", default="auto", choices=ARCH_CHOICES, help="Taichi backend (default auto)")
    p.add_argument("--paired", action="store_true",
                   help="one Simulation per configuration so every configuration runs seeds 0..N-1 (slower)")
    p.add_argument("--sensitivity", action="store_true",
                   help="step every model knob ×0.5 and ×2 on the first scenario; write OUT/sensitivity.md")
    p.set_defaults(func=run)


def _names(text: str, what: str) -> list[str]:
    """Split a comma-separated option; refuse empties and duplicates."""
    from engine.errors import UsageError

    names = [x.strip() for x in text.split(",") if x.strip()]
    if len(set(names)) != len(names):
        raise UsageError(f"--{what} lists a name twice: {text!r}")
    return names


def check_args(args) -> tuple[list[str], list[str], list[str]]:
    """Scenarios, managers and ablations from the arguments; UsageError (exit 2) on bad input."""
    from engine.errors import UsageError
    from engine.batch.experiment import ABLATIONS
    from engine.managers import ManagerError, manager_class

    scenarios = _names(args.scenario, "scenario")
    managers = _names(args.managers, "managers")
    ablations = _names(args.ablations, "ablations")
    if not scenarios or not managers:
        raise UsageError("--scenario and --managers need at least one name each")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be ≥ 1, got {args.seeds}")
    if args.ticks is not None and args.ticks < 1:
        raise UsageError(f"--ticks must be ≥ 1, got {args.ticks}")
    unknown = [a for a in ablations if a not in ABLATIONS]
    if unknown:
        raise UsageError(f"unknown ablation {unknown[0]!r}; choose from {', '.join(a for a in ABLATIONS)}")
    for m in managers:
        try:
            manager_class(m)
        except ManagerError as err:
            raise UsageError(f"--managers: {err}") from None
    if args.sensitivity and (ablations or len(scenarios) > 1):
        raise UsageError("--sensitivity takes one --scenario and no --ablations")
    return scenarios, managers, ablations


def output_folder(args, scenarios: list[str]) -> Path:
    """The output folder, created; UsageError when it cannot be."""
    from engine.errors import UsageError

    if args.out:
        folder = Path(args.out)
    else:
        import secrets

        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        tag = "-".join(Path(s).stem for s in scenarios) + ("-sensitivity" if args.sensitivity else "")
        # a random suffix, as for runs: two experiments started in the same second get folders of their own
        folder = Path("experiments") / f"{tag}-{stamp}-{secrets.token_hex(2)}"
    from engine.cli.output_paths import check_output_folder
    check_output_folder(folder, "--out")
    try:
        folder.mkdir(parents=True, exist_ok=bool(args.out))  # the default name is new: claim it atomically
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"--out {folder}: cannot write there ({err.strerror or err}); choose another folder") from None
    return folder


def run_all(batches, arch: str) -> tuple[list, list[str]]:
    """Run every batch (with the crash retry) and a rich progress bar on stderr; return the results, crashed runs
    included as rows with outcome "crashed", and one line per crashed configuration."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.batch.rows import crashed_rows
    from engine.batch.runner import run_with_retry

    console = Console(file=sys.stderr)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("tick {task.fields[tick]}"), TimeElapsedColumn())
    results, crashes = [], []
    total = sum(b.worlds for b in batches)
    # no stdout/stderr redirection: Taichi's import would take rich's proxy for an interactive shell
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal,
                  redirect_stdout=False, redirect_stderr=False) as bar:
        task = bar.add_task("runs", total=total, tick=0)
        done = 0
        for k, batch in enumerate(batches):
            def on_tick(sim, stats, k=k, batch=batch, done=done):
                if sim.tick % 4 == 0 or not sim.running.any():
                    bar.update(task, completed=done + int((~sim.running).sum()), tick=sim.tick,
                               description=f"batch {k + 1}/{len(batches)} {batch.label()}")
            ran = run_with_retry(batch, arch, on_tick)
            for result in ran:  # a crashed configuration is reported and the grid goes on (exit 1)
                for f in result.failures:
                    crashes.append(f.line())
                    console.print(f.line())
                    result.rows += crashed_rows(result.batch.configs[0], f.seeds, f.line())
            done += batch.worlds
            results += ran
            if not console.is_terminal:  # a log file gets one line per batch instead of a live bar
                wall = sum(r.wall_s for r in ran)
                print(f"batch {k + 1}/{len(batches)} {batch.label()}: {wall:.1f} s", file=sys.stderr, flush=True)
    return results, crashes


def run(args: argparse.Namespace) -> int:
    """Run the experiment grid (or the sensitivity), write results and the report; 0 ok, 1 crash, 2 bad input."""
    from engine.batch import experiment as E
    from engine.errors import UsageError

    scenarios, managers, ablations = check_args(args)
    if args.sensitivity:
        from engine.batch.sensitivity import sensitivity_configs
        configs = sensitivity_configs(scenarios[0], managers, args.ticks)
    else:
        configs = [c for s in scenarios for c in E.grid_configs(s, managers, ablations, args.ticks)]
    from engine.sim.seeds import MAX_SEED
    paired = args.paired or args.sensitivity  # paired: seeds 0 … N − 1 per configuration, else consecutive blocks
    last = args.seeds - 1 if paired else len(configs) * args.seeds - 1
    if last > MAX_SEED:  # before anything is planned or allocated: a seed past 2^32 − 1 would wrap on the device
        raise UsageError(f"--seeds {args.seeds} over {len(configs)} configurations reaches seed {last}, past "
                         f"{MAX_SEED}; use fewer --seeds")
    batches = E.plan_batches(configs, args.seeds, paired=paired)
    from engine.sim.preflight import check_scenario_memory
    for batch in batches:  # a batch too big for this machine is bad input (exit 2), not a crashed job
        check_scenario_memory(batch.configs[0].variant, batch.worlds)
    folder = output_folder(args, scenarios)
    from engine.sim.arch import init_taichi
    init_taichi(args.arch)  # once, before the progress bar, so its banner goes to stderr
    started = time.perf_counter()
    results, crashes = run_all(batches, args.arch)
    wall = time.perf_counter() - started
    command = "gridhanoi " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["experiment"] \
        else "gridhanoi experiment"
    arch = next((r.rows[0].get("arch") for r in results if r.rows and "arch" in r.rows[0]), args.arch)
    from engine.batch.parquet import as_table, write_parquet
    from engine.sim.recording import provenance

    meta = {"command": command, "wall_s": wall, "seeds": args.seeds, "arch": arch, **provenance()}
    rows = [row for r in results for row in r.rows]
    write_parquet(folder / "results.parquet", as_table(rows, {b"gridhanoi.experiment": meta}))
    write_parquet(folder / "timeseries.parquet", E.series_table(results))
    if args.sensitivity:
        from engine.batch.report import read_results
        from engine.batch.sensitivity import sensitivity_markdown
        cols, _, _ = read_results(folder)
        head = (f"<!-- {command}; {len(rows)} runs; {meta['hardware']}; wall {wall:.0f} s -->\n\n")
        report = folder / "sensitivity.md"
        report.write_text(head + sensitivity_markdown(cols), encoding="utf-8")
    else:
        from engine.batch.report import write_report
        report = write_report(folder, command)
    print(f"{len(rows)} runs in {wall:.1f} s ({meta['hardware']}); results: {folder / 'results.parquet'}; "
          f"report: {report}")
    return 1 if crashes else 0
