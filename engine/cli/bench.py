"""`gridhanoi bench`: throughput, scaling and ratios (Taichi vs NumPy reference, plain NumPy, roofline) in one run."""
import argparse
import os
import sys

from engine.sim.arch import ARCH_CHOICES

QUICK = {"worlds": "1,16,256", "grids": "64,256", "ticks": 10, "repeats": 5, "ref_repeats": 2, "mid_worlds": "1,256",
         "episode_worlds": "1,256", "episode_repeats": 1}
FULL = {"worlds": "1,4,16,64,256", "grids": "64,256,1024", "ticks": 30, "repeats": 11, "ref_repeats": 3,
        "mid_worlds": "1,16,256", "episode_worlds": "1,256", "episode_repeats": 3}
START = 60  # the mid-episode window starts here: a `paper` episode under thompson is well under way (~150-400 ticks)


def register(subparsers) -> None:
    """Add the `bench` command."""
    p = subparsers.add_parser("bench", help="measure throughput and ratios (Taichi vs NumPy vs roofline)",
                              description="Measure active agent-steps/s (live agents in open tiles) with every tile "
                                          "open, in a window from the middle of real episodes, in whole episodes and "
                                          "on `million`, against the NumPy reference, plain NumPy and a roofline.")
    p.add_argument("--quick", action="store_true",
                   help=f"fewer configurations and ticks, a few minutes (worlds {QUICK['worlds']}, grids "
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
                   help=f"all-open: comma-separated W values on the scenario's grid (default {FULL['worlds']})")
    p.add_argument("--grids", default=None,
                   help=f"all-open: comma-separated grid sizes at W = 1 (default {FULL['grids']})")
    p.add_argument("--ticks", type=int, default=None, help=f"ticks timed per run (default {FULL['ticks']})")
    p.add_argument("--start", type=int, default=START,
                   help=f"mid-episode and million: ticks stepped untimed before the window (default {START})")
    p.add_argument("--mid-worlds", default=None,
                   help=f"mid-episode: comma-separated W values (default {FULL['mid_worlds']}; 0: none)")
    p.add_argument("--episode-worlds", default=None,
                   help=f"whole episodes: comma-separated W values (default {FULL['episode_worlds']}; 0: none)")
    p.add_argument("--episode-repeats", type=int, default=None,
                   help=f"whole-episode batches timed per W (default {FULL['episode_repeats']})")
    p.add_argument("--no-million", action="store_true", help="skip the `million` built-in")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"Taichi runs per configuration (default {FULL['repeats']})")
    p.add_argument("--ref-repeats", type=int, default=None,
                   help=f"runs per configuration of the slow NumPy backends (default {FULL['ref_repeats']})")
    p.add_argument("--no-cold-jit", action="store_true", help="skip the JIT measurement in a fresh process")
    p.add_argument("--no-viewer", action="store_true", help="skip the viewer frame and seek times")
    p.add_argument("--profile", action="store_true",
                   help="instead of the benchmark: time each offloaded loop of the tick kernel (kernel profiler)")
    p.set_defaults(func=run)


def int_list(text: str, flag: str, allow_none: bool = False) -> list[int]:
    """Parse '1,4,16' into positive integers ('0' for none where allowed), or raise a one-line usage error."""
    from engine.errors import UsageError

    if allow_none and text.strip() == "0":
        return []
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise UsageError(f"{flag} takes comma-separated positive integers{' (or 0: none)' if allow_none else ''}, "
                         f"got {text!r}")
    return values


def settings(args) -> dict:
    """Benchmark settings from the flags: --quick or full defaults, each overridable."""
    from engine.errors import UsageError
    from scenarios.loader import load_scenario

    d = QUICK if args.quick else FULL
    s = {"worlds": int_list(args.worlds or d["worlds"], "--worlds"),
         "grids": int_list(args.grids or d["grids"], "--grids"),
         "ticks": args.ticks or d["ticks"], "repeats": args.repeats or d["repeats"],
         "ref_repeats": args.ref_repeats or d["ref_repeats"],
         "mid_worlds": int_list(args.mid_worlds or d["mid_worlds"], "--mid-worlds", allow_none=True),
         "episode_worlds": int_list(args.episode_worlds or d["episode_worlds"], "--episode-worlds", allow_none=True),
         "episode_repeats": args.episode_repeats or d["episode_repeats"], "start": args.start}
    for key in ("ticks", "repeats", "ref_repeats", "episode_repeats"):
        if s[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be ≥ 1, got {s[key]}")
    if s["start"] < 0:
        raise UsageError(f"--start must be ≥ 0, got {s['start']}")
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
        out = bench.run_benchmark(args.scenario, s["worlds"], s["grids"], s["ticks"], s["start"], s["mid_worlds"],
                                  s["episode_worlds"], not args.no_million, s["repeats"], s["ref_repeats"],
                                  s["episode_repeats"], args.arch, quick=args.quick,
                                  measure_cold_jit=not (args.quick or args.no_cold_jit),
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
    if not isinstance(out, dict) or "configs" not in out or "summary" not in out or "all_open" not in out["summary"]:
        raise UsageError(f"--from-json {path}: not the JSON of this version's `gridhanoi bench --json`")
    return out


def profile(args, s: dict, err) -> int:
    """Print where the tick kernel spends its time, per offloaded loop: all-open at the largest W and the largest
    grid, and a mid-episode window at W = 1."""
    import json

    from rich.console import Console
    from rich.table import Table

    os.environ["TI_KERNEL_PROFILER"] = "1"  # read by ti.init (engine/sim/arch.py) when it is not passed explicitly
    from engine.bench import hardware as bench_hardware
    from engine.bench import profile as bench_profile
    from engine.bench import simulations as bench
    from engine.bench.cases import ALL_OPEN
    from engine.sim.arch import init_taichi

    init_taichi(args.arch)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    report = []
    for kind, worlds, grid, start in (("all-open", max(s["worlds"]), None, 0), ("all-open", 1, max(s["grids"]), 0),
                                      ("mid-episode", 1, None, s["start"])):
        sc = bench.scenario_for(args.scenario, grid, ALL_OPEN if kind == "all-open" else None)
        err.print(f"[dim]profile:[/dim] {kind} W={worlds} G={sc.grid.size}")
        rows = bench_profile.profile_offloads(sc, worlds, s["ticks"], args.arch, start)
        report.append({"kind": kind, "worlds": worlds, "grid": sc.grid.size, "start": start, "ticks": s["ticks"],
                       "tasks": rows})
        t = Table(title=f"Kernel profile, {kind} W={worlds} G={sc.grid.size}, ticks {start}–{start + s['ticks'] - 1}")
        for col in ("task", "what", "ms/tick", "share"):
            t.add_column(col, justify="right" if col in ("ms/tick", "share") else "left")
        for r in rows:
            t.add_row(r["task"], r["loop"], f"{r['ms_per_tick']:.3f}", f"{100 * r['share']:.1f}%")
        console.print(t)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"source": bench_hardware.source_state(), "profile": report}, f, indent=1)
    return 0
