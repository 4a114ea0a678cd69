"""`gridhanoi run SCENARIO`: simulate, print a summary (table, or one JSON object with --json)."""
import argparse
import json
import sys

from engine.sim.arch import ARCH_CHOICES


def register(subparsers) -> None:
    """Add the `run` command."""
    p = subparsers.add_parser("run", help="run a scenario headless and print a summary")
    p.add_argument("scenario", help="built-in name (paper, smoke, ...) or path to a .toml file")
    p.add_argument("--seed", type=int, default=0, help="seed of world 0; world w runs seed + w (default 0)")
    p.add_argument("--worlds", type=int, default=1, help="worlds stepped together in one batch (default 1)")
    p.add_argument("--ticks", type=int, default=None, help="lower the scenario's max_ticks to this")
    p.add_argument("--manager", default=None, help="override curriculum.manager")
    p.add_argument("--arch", default="auto", choices=ARCH_CHOICES, help="Taichi backend (auto: CUDA, Vulkan, else CPU)")
    p.add_argument("--out", default=None,
                   help="episode folder (default runs/<scenario>-<seed>-<timestamp>-<random suffix>, new each run)")
    p.add_argument("--no-record", action="store_true", help="do not record an episode")
    p.add_argument("--record-worlds", default=None, help="comma-separated worlds to record (default: scenario's)")
    p.add_argument("--frame-every", type=int, default=None, help="record a frame every N ticks")
    p.add_argument("--view", action="store_true", help="open the live viewer while the run goes on")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    p.set_defaults(func=run)


def scenario_overrides(args) -> dict:
    """Dotted scenario overrides from the command-line flags."""
    from engine.errors import UsageError

    overrides = {}
    if args.manager:
        overrides["curriculum.manager"] = args.manager
    if args.ticks is not None:
        if args.ticks < 1:
            raise UsageError(f"--ticks must be ≥ 1, got {args.ticks}")
        overrides["task.max_ticks"] = args.ticks
    if args.frame_every is not None:
        overrides["record.frame_every"] = args.frame_every
    if args.record_worlds:
        try:
            overrides["record.worlds"] = [int(x) for x in args.record_worlds.split(",")]
        except ValueError:
            raise UsageError(f"--record-worlds takes comma-separated integers, got {args.record_worlds!r}") from None
    return overrides


def run(args: argparse.Namespace) -> int:
    """Run the scenario; exit 0 when every world completes with a valid plan, 1 otherwise, 130 when interrupted."""
    from engine.errors import UsageError
    from engine.cli.progress import run_with_progress
    from engine.cli.summary import print_summary
    from scenarios.loader import load_scenario

    if args.worlds < 1:
        raise UsageError(f"--worlds must be ≥ 1, got {args.worlds}")
    from engine.sim.seeds import check_seed_range
    check_seed_range(args.seed, args.worlds)  # before the scenario is loaded or anything is allocated
    if args.view and args.no_record:
        raise UsageError("--view watches the episode being recorded; drop --no-record")
    scenario = load_scenario(args.scenario, scenario_overrides(args))
    from engine.sim.recording import attach_recorder, default_folder
    from engine.sim.simulation import Simulation
    from replay.writer import check_writable

    folder = None if args.no_record else (args.out or default_folder(scenario, args.seed))
    if folder is not None:
        check_writable(folder)  # before any allocation or JIT: a bad --out costs the user nothing
    sim = Simulation(scenario, seed=args.seed, worlds=args.worlds, arch=args.arch, record=folder is not None)
    recorder = None if folder is None else attach_recorder(sim, args.out)  # no --out: claims a fresh name
    if args.view:
        start_live_viewer(recorder)
    interrupted = run_with_progress(sim, quiet=args.json)
    if recorder is not None:
        recorder.close()
    summary = sim.summary()
    if recorder is not None:
        summary["episode"] = str(recorder.folder)
    if args.json:
        json.dump(summary, sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print_summary(summary)
        if recorder is not None:
            print(f"\nepisode: {recorder.folder}\nreplay it: {own_command()} replay {recorder.folder}")
    if interrupted:
        return 130
    # a complete world with a wrong move in its plan (consensus mode) is a failure too
    return 0 if all(w["outcome"] == "complete" and w["plan_valid"] is not False
                    for w in summary["world_results"]) else 1


def start_live_viewer(recorder):
    """Open `gridhanoi replay EPISODE --follow` in its own process, so drawing never slows the simulation."""
    import subprocess

    return subprocess.Popen([sys.executable, "-m", "engine.cli", "replay", str(recorder.folder), "--follow"])


def own_command() -> str:
    """How the user can call gridhanoi again: `gridhanoi` when that is on PATH, else the path of this script."""
    import os
    import shutil

    here = os.path.abspath(sys.argv[0])
    on_path = shutil.which("gridhanoi")
    if os.path.basename(here) != "gridhanoi" or (on_path and os.path.abspath(on_path) == here):
        return "gridhanoi"
    relative = os.path.relpath(here)
    return here if relative.startswith("..") else relative
