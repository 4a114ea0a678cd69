"""Memory guard: project a run's peak resident memory from measured costs and refuse, before anything is
allocated, a run whose projection exceeds ~70 % of the memory available (issue 13).

The projection is affine in the worlds W of a batch:

    peak = BASE + W · (N · AGENT + Z · ZONE)            N agents (G²) and Z zones per world
         + recording: RECORD_BASE + rows · RECORD_ROW   rows = the metrics rows the recorder buffers,
                                                        min(W · 256, PENDING_ROWS) (engine/sim/recording.py)

AGENT holds the device fields (state, competence, attempts, proposal, confidence, history, oracle_due, alive:
26 B), the per-world move tables and the host copies made at reset (c₀, alive mask); ZONE the zone statistics on
the device, their per-tick read-back and the managers' per-zone state. The constants are not estimates: they are
fitted to the peak RSS of real runs (`python -m engine.sim.memory` re-measures them and prints the fit;
tests/test_memory.py checks the projection against measured peaks). Taichi backend on the CPU; a GPU run keeps
the fields in device memory, so the projection is an upper bound of its host memory there.
"""
from __future__ import annotations

import os
import sys

from engine.errors import UsageError
from replay.reader import proc_bytes

# Fitted on the 2-core AMD EPYC (x64 backend, Python 3.11, Taichi 1.7.4) from the peak RSS of `measure_peak` runs:
# smoke (G = 16, Z = 40) and paper (G = 64, Z = 40) at several W, with and without recording; see `main`.
# Fit: smoke W = 1024 / 8192 (10 and 64 ticks) → 54 kB a world over 64 ticks; paper W = 64 / 512 / 2048 → 29-30 B
# an agent once the zone term is taken out; smoke W = 8192 recorded vs not, 64 ticks → 667 B a buffered row.
BASE_BYTES = 195 << 20    # interpreter, NumPy, pyarrow, Taichi and its kernels loaded from the offline cache
# (a cold LLVM compile of the tick kernel adds a transient of ~0.7 GB on top, measured on x64, not projected here)
AGENT_BYTES = 30          # per agent: device fields (26 B), move tables, host copies at reset
ZONE_BYTES = 1_170        # per world and zone: zone statistics (device, per-tick read-back, host sums), managers
RECORD_BASE_BYTES = 16 << 20  # recorder and writer thread, besides the frame ring and the buffered rows
RECORD_ROW_BYTES = 700    # per buffered metrics row at a flush: the tick statistics, the columns, the writer's copy
PENDING_ROWS = 1 << 18    # the recorder's cap on buffered metrics rows (engine/sim/recording.py keeps to it)

SHARE = 0.70              # refuse a run whose projected peak needs more than this share of the available memory


def available_memory() -> int:
    """Return the bytes this process may still use: MemAvailable, lowered by a cgroup memory limit (containers)."""
    have = proc_bytes("MemAvailable")
    have = 1 << 50 if have is None else have
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as f:
                limit = f.read().strip()
            with open(usage_file, encoding="ascii") as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            have = min(have, max(0, int(limit) - usage))
    return have


def resident_memory() -> int:
    """Return this process's resident memory now (VmRSS), 0 where /proc cannot tell."""
    return proc_bytes("VmRSS", "/proc/self/status") or 0


def per_world_bytes(scenario, n_zones: int) -> int:
    """Return the projected bytes one more world costs (agents and zones)."""
    per_world = scenario.grid.size ** 2 * AGENT_BYTES + n_zones * ZONE_BYTES
    if scenario.consensus.feedback == "consensus":  # field sizes, not fitted: V (i32) and Vp (i64) per tile and
        pegs = scenario.task.pegs                   # answer, and the u8 `cast` of each agent (kernels/worlds.py)
        per_world += (scenario.grid.size // scenario.grid.tile) ** 2 * pegs * (pegs - 1) * 12 + scenario.grid.size ** 2
    return per_world


def projected_peak(scenario, worlds: int, n_zones: int, record: bool = False) -> int:
    """Return the projected peak resident bytes of a run of ``worlds`` worlds of ``scenario``."""
    peak = BASE_BYTES + worlds * per_world_bytes(scenario, n_zones)
    if record:
        peak += RECORD_BASE_BYTES + 3 * ring_bytes(scenario) + min(worlds * 256, PENDING_ROWS) * RECORD_ROW_BYTES
    return peak


def ring_bytes(scenario) -> int:
    """Return the bytes of the recorder's frame ring (engine/sim/recording.py sizes it the same way); the
    projection counts it three times: the ring, its export and the writer's copy."""
    from engine.sim.recording import FRAME_RING_BYTES

    rec = scenario.record
    per_frame = max(1, len(rec.worlds)) * scenario.grid.size ** 2 * (3 if rec.confidence else 2)
    return int(max(1, min(rec.chunk_ticks, FRAME_RING_BYTES // per_frame))) * per_frame


def largest_worlds(scenario, n_zones: int, budget: int, record: bool = False) -> int:
    """Return the most worlds whose projected peak stays within ``budget`` bytes (0 when not even one)."""
    fixed = projected_peak(scenario, 0, n_zones, record) + (PENDING_ROWS * RECORD_ROW_BYTES if record else 0)
    worlds = max(0, (budget - fixed) // per_world_bytes(scenario, n_zones))
    while worlds and projected_peak(scenario, worlds + 1, n_zones, record) <= budget:
        worlds += 1  # the row buffer is capped, so a recorded run may fit a few more than the bound above
    return int(worlds)


def check_memory(scenario, worlds: int, n_zones: int, record: bool = False) -> None:
    """Refuse (UsageError, one line) a run whose projected peak exceeds SHARE of the available memory."""
    cells = worlds * scenario.grid.size ** 2
    if cells >= 2 ** 31:  # Taichi indexes a field with 32-bit integers
        raise UsageError(f"{scenario.source}: {worlds} world(s) of a {scenario.grid.size}×{scenario.grid.size} grid "
                         f"are {cells} agents, past the 2^31 a field can index; use at most "
                         f"{(2 ** 31 - 1) // scenario.grid.size ** 2} worlds or a smaller grid.size")
    peak = projected_peak(scenario, worlds, n_zones, record)
    # memory the process already holds (imports) is part of BASE and no longer counted as available
    budget = int(SHARE * available_memory()) + min(resident_memory(), BASE_BYTES)
    if peak > budget:
        fit = largest_worlds(scenario, n_zones, budget, record)
        what = "a recorded run" if record else "a run"
        advice = (f"use at most {fit} worlds (or a smaller grid.size)" if fit
                  else "not even one world fits: use a smaller grid.size")
        raise UsageError(
            f"{scenario.source}: {what} of {worlds} world(s) of a {scenario.grid.size}×{scenario.grid.size} grid "
            f"needs about {peak / 2**30:.2f} GiB at its peak (measured costs, engine/sim/memory.py), more than "
            f"{SHARE:.0%} of the {available_memory() / 2**30:.1f} GiB available; {advice}")


# ---- measurement (how the constants above were obtained; tests/test_memory.py uses it too)

_CHILD = """
import resource, sys, tempfile
from engine.sim.arch import init_taichi
from engine.sim.simulation import Simulation
from engine.sim.recording import attach_recorder
from scenarios.loader import load_scenario
init_taichi("cpu")
sim = Simulation(load_scenario(sys.argv[1]), worlds=int(sys.argv[2]), arch="cpu")
rec = attach_recorder(sim, tempfile.mkdtemp() + "/ep") if sys.argv[4] == "1" else None
for _ in range(int(sys.argv[3])):
    sim.step()
if rec is not None:
    rec.close()
print("PEAK", next(int(x.split()[1]) * 1024 for x in open("/proc/self/status") if x.startswith("VmHWM")), sim.Z)
"""


def measure_peak(scenario: str, worlds: int, ticks: int, record: bool, cwd: str | None = None) -> tuple[int, int]:
    """Run ``ticks`` ticks of ``worlds`` worlds in a fresh process (x64); return its peak RSS in bytes and Z."""
    import subprocess

    root = cwd or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, "-c", _CHILD, scenario, str(worlds), str(ticks), "1" if record else "0"],
                       capture_output=True, text=True, cwd=root, timeout=600)
    line = next((x for x in r.stdout.splitlines() if x.startswith("PEAK")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"measurement run failed: {r.stderr.strip().splitlines()[-1:]}")
    _, peak, zones = line.split()
    return int(peak), int(zones)  # VmHWM of the child: ru_maxrss would carry over the forking parent's RSS


def main() -> int:
    """Measure peak RSS over a few (scenario, W, recording) points and print the fitted per-agent figures."""
    from scenarios.loader import load_scenario

    points = [("smoke", 1024, False), ("smoke", 8192, False), ("paper", 64, False), ("paper", 512, False),
              ("smoke", 8192, True), ("paper", 512, True)]
    print(f"{'scenario':<8} {'W':>6} {'rec':>4} {'peak MiB':>9} {'projected':>9} {'ratio':>6}")
    for name, worlds, record in points:
        peak, zones = measure_peak(name, worlds, 10, record)
        proj = projected_peak(load_scenario(name), worlds, zones, record)
        print(f"{name:<8} {worlds:>6} {record!s:>4} {peak / 2**20:>9.0f} {proj / 2**20:>9.0f} {proj / peak:>6.2f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
