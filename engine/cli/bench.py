"""`gridhanoi bench`: throughput, scaling and ratios (Taichi vs NumPy reference, plain NumPy, roofline) in one run."""
import argparse
import os
import sys

from engine.sim.arch import ARCH_CHOICES

QUICK = {"worlds": "1,16,256", "grids": "64,256", "ticks": 10, "repeats": 5, "ref_repeats": 2}
FULL = {"worlds": "1,4,16,64,256", "grids": "64,256,1024", "ticks": 25, "repeats": 11, "ref_repeats": 3}


def register(subparsers) -> None:
    """Add the `bench` command."""
    p = subparsers.add_parser("bench", help="measure throughput and ratios (Taichi vs NumPy vs roofline)")
    p.add_argument("--quick", action="store_true",
                   help=f"fewer configurations and ticks, under 2 minutes (worlds {QUICK['worlds']}, grids "
                        f"{QUICK['grids']}, {QUICK['ticks']} ticks)")
    p.add_argument("--json", metavar="FILE", default=None, help="write every figure as JSON to FILE")
    p.add_argument("--plot", metavar="FILE", default=None, help="write the scaling curves as a PNG to FILE")
    p.add_argument("--markdown", metavar="FILE", default=None, help="write the tables as Markdown to FILE")
    p.add_argument("--force", action="store_true", help="overwrite the --json, --plot and --markdown files")
    p.add_argument("--from-json", metavar="FILE", default=None,
                   help="measure nothing: print (and re-plot) the results of an earlier --json FILE")
    p.add_argument("--arch", default="auto", choices=ARCH_CHOICES, help="Taichi backend (auto: CUDA, Vulkan, else CPU)")
    p.add_argument("--scenario", default="paper", help="scenario to measure (default paper: every rule on)")
    p.add_argument("--worlds", default=None,
                   help=f"comma-separated W values on the scenario's grid (default {FULL['worlds']})")
    p.add_argument("--grids", default=None, help=f"comma-separated grid sizes at W = 1 (default {FULL['grids']})")
    p.add_argument("--ticks", type=int, default=None, help=f"ticks timed from reset per run (default {FULL['ticks']})")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"Taichi runs per configuration (default {FULL['repeats']})")
    p.add_argument("--ref-repeats", type=int, default=None,
                   help=f"runs per configuration of the slow NumPy backends (default {FULL['ref_repeats']})")
    p.add_argument("--no-cold-jit", action="store_true", help="skip the JIT measurement in a fresh process")
    p.add_argument("--no-viewer", action="store_true", help="skip the viewer frame and seek times")
    p.add_argument("--profile", action="store_true",
                   help="instead of the benchmark: time each offloaded loop of the tick kernel (kernel profiler)")
    p.set_defaults(func=run)


def int_list(text: str, flag: str) -> list[int]:
    """Parse '1,4,16' into positive integers, or raise a one-line usage error."""
    from engine.errors import UsageError

    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise UsageError(f"{flag} takes comma-separated positive integers, got {text!r}")
    return values


def settings(args) -> dict:
    """Benchmark settings from the flags: --quick or full defaults, each overridable."""
    from engine.errors import UsageError
    from scenarios.loader import load_scenario

    d = QUICK if args.quick else FULL
    s = {"worlds": int_list(args.worlds or d["worlds"], "--worlds"),
         "grids": int_list(args.grids or d["grids"], "--grids"),
         "ticks": args.ticks or d["ticks"], "repeats": args.repeats or d["repeats"],
         "ref_repeats": args.ref_repeats or d["ref_repeats"]}
    for key in ("ticks", "repeats", "ref_repeats"):
        if s[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be ≥ 1, got {s[key]}")
    tile = load_scenario(args.scenario).grid.tile
    bad = [g for g in s["grids"] if g % tile]
    if bad:
        raise UsageError(f"--grids {bad} are not multiples of the scenario's tile ({tile}); choose multiples of {tile}")
    return s


def run(args: argparse.Namespace) -> int:
    """Run the benchmark (or the kernel profile), print tables, write JSON and PNG when asked."""
    from rich.console import Console

    from engine.cli.output_paths import check_output_file

    err = Console(stderr=True)
    s = settings(args)
    for flag in ("json", "plot", "markdown"):  # before minutes of measuring
        if getattr(args, flag):
            check_output_file(getattr(args, flag), f"--{flag}", force=args.force)
    if args.profile:
        return profile(args, s, err)
    from engine.bench import report as bench_report
    from engine.bench import suite as bench

    if args.from_json:
        out = load_results(args.from_json)
    else:
        out = bench.run_benchmark(args.scenario, s["worlds"], s["grids"], s["ticks"], s["repeats"], s["ref_repeats"],
                                  args.arch, quick=args.quick, measure_cold_jit=not (args.quick or args.no_cold_jit),
                                  measure_viewer=not args.no_viewer,
                                  progress=lambda msg: err.print(f"[dim]bench:[/dim] {msg}"))
    bench_report.print_report(out)
    for path, write in ((args.json, bench_report.write_json), (args.plot, bench_report.plot_scaling),
                        (args.markdown, bench_report.write_markdown)):
        if path:
            write(out, path)
            err.print(f"wrote {path}")
    return 0


def load_results(path: str) -> dict:
    """Results of an earlier `bench --json FILE`, or a one-line usage error."""
    import json

    from engine.errors import UsageError

    try:
        with open(path, encoding="utf-8") as f:
            out = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError(f"--from-json {path}: cannot read bench results ({e})") from None
    if not isinstance(out, dict) or "configs" not in out or "summary" not in out:
        raise UsageError(f"--from-json {path}: not the JSON of `gridhanoi bench --json`")
    return out


def profile(args, s: dict, err) -> int:
    """Print where the tick kernel spends its time, per offloaded loop, at the largest W and the largest grid."""
    import json

    from rich.console import Console
    from rich.table import Table

    os.environ["TI_KERNEL_PROFILER"] = "1"  # read by ti.init (engine/sim/arch.py) when it is not passed explicitly
    from engine.bench import hardware as bench_hardware
    from engine.bench import profile as bench_profile
    from engine.bench import suite as bench
    from engine.sim.arch import init_taichi

    init_taichi(args.arch)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    report = []
    for worlds, grid in ((max(s["worlds"]), None), (1, max(s["grids"]))):
        sc = bench.scenario_for(args.scenario, grid)
        err.print(f"[dim]profile:[/dim] W={worlds} G={sc.grid.size}")
        rows = bench_profile.profile_offloads(sc, worlds, s["ticks"], args.arch)
        report.append({"worlds": worlds, "grid": sc.grid.size, "ticks": s["ticks"], "tasks": rows})
        t = Table(title=f"Kernel profile, W={worlds} G={sc.grid.size}, {s['ticks']} ticks from reset")
        for col in ("task", "what", "ms/tick", "share"):
            t.add_column(col, justify="right" if col in ("ms/tick", "share") else "left")
        for r in rows:
            t.add_row(r["task"], r["loop"], f"{r['ms_per_tick']:.3f}", f"{100 * r['share']:.1f}%")
        console.print(t)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"source": bench_hardware.source_state(), "profile": report}, f, indent=1)
    return 0
