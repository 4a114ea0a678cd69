"""`gridhanoi sweep SPEC.toml`: run a parameter sweep as batched-world jobs, locally or on Ray (docs/sweeps.md).

Writes OUT/results/job-<id>.parquet (one row per run; read the folder with pandas, polars or DuckDB) and
OUT/failures.json. Re-running skips finished jobs. Exit 0 when every job executed (outcomes are data), 1 when a
job crashed after its retry, 2 for bad input.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.sim.arch import ARCH_CHOICES


def register(subparsers) -> None:
    """Add the `sweep` command."""
    p = subparsers.add_parser("sweep", help="run a parameter sweep (local process pool or Ray); resumable")
    p.add_argument("spec", help="sweep spec (.toml): scenarios, [params] grids, seeds")
    p.add_argument("--backend", default="local", choices=("local", "ray"),
                   help="local: a process pool on this machine (default); ray: one Ray task per job")
    p.add_argument("--address", default=None,
                   help="Ray cluster to join (e.g. auto); without it Ray starts on this machine")
    p.add_argument("--workers", type=int, default=None,
                   help="local: worker processes (default 1: one job already uses every core); "
                        "ray: jobs in flight at most (default no cap)")
    p.add_argument("--cpus-per-job", type=int, default=None,
                   help="ray: CPUs each job reserves (default a whole node on CPU runs, 1 with a GPU)")
    p.add_argument("--out", default=None, help="output folder (default sweeps/<spec name>); re-use it to resume")
    p.add_argument("--arch", default="auto", choices=ARCH_CHOICES, help="Taichi backend of each job (default auto)")
    p.set_defaults(func=run)


def check_jobs_memory(spec) -> None:
    """Refuse (exit 2) a sweep whose jobs of `worlds_per_job` worlds would not fit in memory, before any job."""
    from engine.batch.sweep.jobs import expand
    from engine.sim.preflight import check_scenario_memory
    from engine.sim.simulation import batch_key

    configs = expand(spec)  # the effective scenarios of the jobs, as the driver builds them
    worlds = min(spec.worlds_per_job, len(configs) * len(spec.seeds))  # a job holds at most worlds_per_job runs
    for variant in {batch_key(c.variant): c.variant for c in configs}.values():
        check_scenario_memory(variant, worlds)


def run(args: argparse.Namespace) -> int:
    """Run the sweep; 0 when every job executed, 1 when a job crashed, 2 for bad input."""
    from engine.batch.sweep.driver import run_sweep
    from engine.batch.sweep.spec import load_spec

    from engine.cli.output_paths import check_output_folder

    spec = load_spec(args.spec)
    out = args.out or str(Path("sweeps") / spec.name)
    check_output_folder(out, "--out")  # re-using a folder resumes the sweep; a file or /proc is a mistake
    check_jobs_memory(spec)
    report = run_sweep(args.spec, out, backend=args.backend, workers=args.workers, address=args.address,
                       arch=args.arch, cpus_per_job=args.cpus_per_job)
    print(f"{report.runs} runs written; {report.ran} jobs run, {report.skipped} skipped, "
          f"{len(report.failures)} configurations failed; {report.wall_s:.1f} s; results: {Path(out) / 'results'}")
    return 1 if report.failures else 0
