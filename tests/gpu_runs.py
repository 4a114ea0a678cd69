"""Run a list of (scenario, seed, worlds) on one arch and print, per run, the per-world results, a digest of every
tick's statistics (all but the fixed-point sums of float diagnostics: NLL, Brier, p̂) and those sums as JSON. tests/test_gpu.py runs it in a fresh process
per GPU arch (Taichi initialises once per process) and compares with the same runs on the CPU.

Usage: python -m tests.gpu_runs ARCH SCENARIO:SEED:WORLDS ...
"""
import hashlib
import json
import sys

NO_DEVICE = 3  # exit code: the arch asked for has no device here
RESULT_KEYS = ("outcome", "ticks", "moves_complete", "prefix", "attempts", "correct", "oracle_calls", "adoptions",
               "cost", "final_stage")


def run(arch: str, scenario: str, seed: int, worlds: int) -> dict:
    """One run: its device, per-world results and the SHA-256 of every tick's statistics in order."""
    import numpy as np

    from engine.sim.simulation import Simulation
    from kernels.records import BIN, VOTE, ZONE
    from scenarios.loader import load_scenario

    fx_sums = [ZONE.nll_fx, ZONE.brier_fx, ZONE.phat_fx]  # sums of float diagnostics: compared on their own
    counts = [b for b in range(len(BIN)) if b != BIN.phat_fx]

    sim = Simulation(load_scenario(scenario), seed=seed, worlds=worlds, arch=arch)
    digest = hashlib.sha256()
    while sim.running.any():
        sim.step()
        s = sim.last_stats
        totals = s["world_totals"].copy()
        totals[:, fx_sums] = 0  # (docs/gpu.md)
        digest.update(totals.tobytes())
        digest.update(np.ascontiguousarray(s["reliability"][:, :, counts]).tobytes())  # per-bin Σ p̂: a float sum
        for key in ("world_stats", "kq", "skill"):
            digest.update(np.ascontiguousarray(s[key]).tobytes())
        if "vote_stats" in s:  # consensus mode
            votes = s["vote_stats"].copy()
            votes[..., VOTE.nll_seen_fx] = 0
            digest.update(votes.tobytes())
    summary = sim.summary()
    fx = np.concatenate([sim.totals[:, fx_sums], sim.reliability[:, :, BIN.phat_fx].sum(axis=1, keepdims=True)],
                        axis=1)
    return {"run": f"{scenario}:{seed}:{worlds}", "arch": sim.arch, "device": summary["device"],
            "ticks_digest": digest.hexdigest(), "fx_sums": fx.tolist(),
            "worlds": [{k: r[k] for k in RESULT_KEYS} for r in summary["world_results"]]}


def run_in_child(arch: str, specs, env: dict | None = None) -> tuple[int, dict | str]:
    """Run `specs` on `arch` in a fresh process (Taichi initialises once per process): (exit code, rows by run
    spec) on success, else (exit code, the child's stderr)."""
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, "-m", "tests.gpu_runs", arch, *specs], capture_output=True, text=True,
                       timeout=900, cwd=root, env={**os.environ, **(env or {})})
    if r.returncode != 0:
        return r.returncode, r.stderr
    return 0, {row["run"]: row for row in map(json.loads, r.stdout.splitlines())}


def main(argv: list[str]) -> int:
    """Print one JSON line per run spec."""
    from engine.sim.arch import ArchError, init_taichi

    arch = argv[0]
    try:
        init_taichi(arch)
    except ArchError as err:
        print(err, file=sys.stderr)
        return NO_DEVICE
    for spec in argv[1:]:
        scenario, seed, worlds = spec.split(":")
        print(json.dumps(run(arch, scenario, int(seed), int(worlds))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
