"""Measurements behind `gridhanoi bench` (DESIGN §7): throughput, ratios measured in one run, roofline, overheads.

Protocol, per configuration (scenario, worlds W, grid G) and backend: build the Simulation, time its first step (the
JIT compile on Taichi), warm up a few ticks, then `repeats` times: `reset()` and step the same `ticks` ticks from
tick 0. The engine is deterministic, so every repeat and every backend does the same work (checked: identical
statistics). Kernel time is `device.step(tick)` + `ti.sync()` (the device's step is wrapped, the engine is not
edited); full-loop time is `Simulation.step()` (scheduler, upload, kernel, statistics readback, managers); the
recording pass adds `attach_recorder` into a temporary folder and its `close()`. Medians over repeats, with spread.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kernels import constants as K

BACKENDS = ("taichi", "reference", "plain")
# integer counters of the zone statistics (decisions), without the fixed-point float sums (NLL, Brier, p̂, c):
# plain NumPy rounds those floats differently, so only its decisions can match the engine's
COUNTS = [s for s in range(K.N_ZONE_STATS) if s not in (K.Z_NLL_FX, K.Z_BRIER_FX, K.Z_PHAT_FX, K.Z_COMPETENCE_FX)]
TAICHI_WARMUP = 3  # ticks after the first (JIT) step before timing: caches, allocator and thread pool are hot
NUMPY_WARMUP = 1   # the NumPy backends have nothing to compile; one tick loads their code paths

# Bytes of device state each agent-step touches in `kernels/worlds.py` (advance_worlds), counting every field once
# per tick: its size when it is only read or only written, twice its size when it is read and written back.
# (field, bytes, read, written, why)
AGENT_FIELDS = (
    ("state", 1, True, True, "act reads it, writes the new state"),
    ("competence", 4, True, True, "act and neighbour learning read it, the copy-back writes it"),
    ("competence_next", 4, True, True, "neighbour learning writes it, the copy-back reads it"),
    ("attempts", 4, True, True, "pity bonus read, failures increment it"),
    ("proposal", 4, True, True, "composer agreement reads it, resolution writes it"),
    ("confidence", 4, False, True, "written when an attempt resolves"),
    ("history", 4, True, True, "shift register: read, shifted, written"),
    ("due", 4, True, True, "read to test due, written when work or an oracle call starts"),
    ("alive", 1, True, False, "fault mask, read only"),
    ("turned", 1, True, True, "act writes it, neighbour learning reads it"),
)
# Static per-cell fields are shared by all worlds of a batch: their bytes are amortised over W.
CELL_FIELDS = (
    ("move_of_cell", 4, True, False, "which move a cell works on (neighbour learning)"),
    ("difficulty", 4, True, False, "difficulty d of the cell"),
)


# ---- small statistics
def spread(values) -> dict:
    """Median, quartiles, min and max of a list of numbers."""
    v = np.asarray(values, dtype=float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()), "max": float(v.max()),
            "n": int(v.size)}


def rate(amount: float, seconds: dict) -> dict:
    """amount / time as a spread (the slowest run gives the minimum rate)."""
    return {"median": amount / seconds["median"], "q1": amount / seconds["q3"], "q3": amount / seconds["q1"],
            "min": amount / seconds["max"], "max": amount / seconds["min"], "n": seconds["n"]}


def ratio(num: dict, den: dict) -> dict:
    """num/den of two independent timings: value = median/median, range from the extremes."""
    return {"value": num["median"] / den["median"], "lo": num["min"] / den["max"], "hi": num["max"] / den["min"]}


def paired(values) -> dict:
    """A ratio measured within each run (same run, same ticks): median and range over runs."""
    s = spread(values)
    return {"value": s["median"], "lo": s["min"], "hi": s["max"]}


# ---- the machine
def hardware(arch: str) -> dict:
    """CPU model, cores, memory, Taichi arch and library versions."""
    from engine.recording import cpu_model, gpu_name, versions

    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
    except (OSError, StopIteration):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "logical_cores": os.cpu_count(), "usable_cores": usable, "memory_bytes": mem,
            "caches": cpu_caches(), "arch": arch, "gpu": arch in ("cuda", "vulkan"),
            "gpu_name": gpu_name() if arch == "cuda" else None, **versions()}


def cpu_caches() -> dict:
    """Data cache sizes of CPU 0 from sysfs, e.g. {"L1d": "32K", "L2": "1024K", "L3": "32768K"}."""
    out = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / n).read_text().strip() for n in ("level", "type", "size"))
        except OSError:
            continue
        if kind != "Instruction":
            out[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return out


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other processes on the machine make timings noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def taichi_cache_entries() -> int:
    """Files in gridhanoi's Taichi offline cache (engine/arch.py)."""
    cache = Path.home() / ".cache" / "gridhanoi" / "taichi"
    return sum(1 for _ in cache.rglob("*")) if cache.is_dir() else 0


def copy_bandwidth(mib: int = 256, repeats: int = 7) -> dict:
    """Seconds of large NumPy copies (one thread); bandwidth = bytes read + written / time."""
    src = np.ones(mib << 20, np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return {"bytes_per_copy": 2 * src.nbytes, "times": times}


def merge_bandwidth(measurements: list[dict]) -> dict:
    """Pool copy-bandwidth measurements; the roofline uses the best one (contention only ever lowers it)."""
    per_copy = measurements[0]["bytes_per_copy"]
    times = [t for m in measurements for t in m["times"]]
    s = spread(times)
    return {"bytes_per_copy": per_copy, "seconds": s, "bytes_per_s": rate(per_copy, s),
            "peak_bytes_per_s": per_copy / s["min"]}


def bytes_per_agent(worlds: int) -> float:
    """Bytes one agent-step touches (see AGENT_FIELDS), static cell fields amortised over the W worlds."""
    per = lambda rows: sum(size * (int(r) + int(w)) for _, size, r, w, _ in rows)  # noqa: E731
    return per(AGENT_FIELDS) + per(CELL_FIELDS) / worlds


def field_table() -> list[dict]:
    """The byte count behind the roofline, one row per field."""
    rows = []
    for kind, fields in (("per agent", AGENT_FIELDS), ("per cell, shared by the W worlds", CELL_FIELDS)):
        for name, size, r, w, why in fields:
            rows.append({"field": name, "bytes": size, "read": r, "written": w, "touched": size * (int(r) + int(w)),
                         "kind": kind, "why": why})
    return rows


# ---- configurations
def scenario_for(name: str, grid: int | None):
    """Load scenario `name`, resized to `grid` with as many disks as its tiles can hold (None: as written)."""
    from scenarios.loader import load_scenario
    from scenarios.move_count import moves_for

    base = load_scenario(name)
    if grid is None or grid == base.grid.size:
        return base
    tiles = (grid // base.grid.tile) ** 2
    disks = 1
    while moves_for(disks + 1, base.task.pegs) <= tiles:
        disks += 1
    return load_scenario(name, {"grid.size": grid, "task.disks": disks})


def make_sim(scenario, worlds: int, backend: str, arch: str):
    """A Simulation on one backend: taichi, reference (exact float32 NumPy) or plain (NumPy's own log/exp)."""
    from engine.simulation import Simulation

    if backend == "plain":
        from engine.plain_numpy import plain_simulation
        return plain_simulation(scenario, 0, worlds)
    if backend == "reference":
        return Simulation(scenario, 0, worlds, backend="reference")
    return Simulation(scenario, 0, worlds, arch=arch)


def sync_for(backend: str):
    """Wait for the device to finish (Taichi launches are asynchronous); a no-op for NumPy."""
    if backend == "taichi":
        import taichi as ti
        return ti.sync
    return lambda: None


class StepClock:
    """Wraps `sim.device.step` to add up the time spent in it (synced), without touching the engine."""

    def __init__(self, sim, sync):
        self.seconds = 0.0
        inner = sim.device.step

        def timed(tick, frame_slot=-1):
            t0 = time.perf_counter()
            inner(tick, frame_slot)
            sync()
            self.seconds += time.perf_counter() - t0

        sim.device.step = timed


def run_ticks(sim, ticks: int, clock: StepClock, sync, record_dir: Path | None = None) -> dict:
    """Reset and step `ticks` ticks; return full-loop and kernel seconds, agent-steps and world-ticks."""
    sim.reset()  # fresh device state and managers: every repeat, and every backend, replays the same ticks
    recorder = None
    if record_dir is not None:
        from engine.recording import attach_recorder
        recorder = attach_recorder(sim, record_dir)
    world_ticks = 0
    sync()
    clock.seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(ticks):
        world_ticks += int(sim.running.sum())
        sim.step()
    sync()
    t_close = time.perf_counter()
    if recorder is not None:
        recorder.close()  # the last chunk's flush and compression belong to the recording cost
    full = time.perf_counter() - t0
    return {"full_s": full, "kernel_s": clock.seconds, "close_s": time.perf_counter() - t_close,
            "agent_steps": int(sim.agent_steps),
            "world_ticks": world_ticks, "digest": digest(sim.totals), "decisions": digest(sim.totals[:, COUNTS])}


def digest(a: np.ndarray) -> str:
    """A short hash of an array's bytes."""
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:12]


class Backend:
    """One backend's Simulation on one configuration, built, compiled and warmed up, ready for timed runs."""

    def __init__(self, scenario, worlds: int, backend: str, arch: str = "cpu"):
        self.sync = sync_for(backend)
        t0 = time.perf_counter()
        self.sim = make_sim(scenario, worlds, backend, arch)
        self.build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.sim.step()
        self.sync()
        self.first_step_s = time.perf_counter() - t0  # the JIT compile on Taichi
        for _ in range((TAICHI_WARMUP if backend == "taichi" else NUMPY_WARMUP) - 1):
            self.sim.step()
        self.clock = StepClock(self.sim, self.sync)
        self.runs, self.recorded = [], []

    def run(self, ticks: int, record_dir: Path | None = None) -> None:
        """One timed run of `ticks` ticks from reset (recorded into `record_dir` when given)."""
        r = run_ticks(self.sim, ticks, self.clock, self.sync, record_dir)
        (self.recorded if record_dir else self.runs).append(r)

    def result(self) -> dict:
        """Timings (spreads over runs), the work done and whether every run did the same work."""
        runs, sim = self.runs, self.sim
        out = {"backend": sim.backend, "arch": sim.arch, "build_s": self.build_s, "first_step_s": self.first_step_s,
               "kernel_s": spread([r["kernel_s"] for r in runs]), "full_s": spread([r["full_s"] for r in runs]),
               "full_over_kernel": [r["full_s"] / r["kernel_s"] for r in runs],
               "agent_steps": runs[0]["agent_steps"], "world_ticks": runs[0]["world_ticks"],
               "deterministic": len({r["digest"] for r in runs + self.recorded}) == 1, "digest": runs[0]["digest"],
               "decisions": runs[0]["decisions"]}
        if self.recorded:
            out["record_s"] = spread([r["full_s"] for r in self.recorded])
            out["record_close_s"] = spread([r["close_s"] for r in self.recorded])  # of record_s: final flush, close
            # each recorded run right after its plain twin, so both saw the same load on the machine
            out["record_over_full"] = [r["full_s"] / p["full_s"] for r, p in zip(self.recorded, runs)]
        return out


def measure_config(scenario, worlds: int, ticks: int, repeats: int, ref_repeats: int, arch: str = "cpu",
                   backends=BACKENDS) -> dict:
    """Every backend on one configuration, runs interleaved (so slow drifts in machine load hit all alike)."""
    g = scenario.grid
    res = {"scenario": scenario.name, "worlds": worlds, "grid": g.size, "tile": g.tile, "disks": scenario.task.disks,
           "agents": worlds * g.size ** 2, "ticks": ticks, "backends": {}}
    ready = {b: Backend(scenario, worlds, b, arch) for b in backends}
    with tempfile.TemporaryDirectory(prefix="gridhanoi-bench-") as tmp:
        for i in range(max(repeats, ref_repeats)):
            for b, bk in ready.items():
                if i < (repeats if b == "taichi" else ref_repeats):
                    bk.run(ticks)
                    if b == "taichi":
                        bk.run(ticks, Path(tmp) / f"episode-{i}")
    res["backends"] = {b: bk.result() for b, bk in ready.items()}
    derive(res)
    return res


def derive(res: dict) -> None:
    """Add rates (agent-steps/s, world-ticks/s) and ratios to one configuration's result."""
    bk = res["backends"]
    tai = bk.get("taichi")
    rates, ratios = {}, {}
    for name, b in bk.items():
        for what, key in (("kernel", "kernel_s"), ("full", "full_s"), ("record", "record_s")):
            if key in b:
                label = name if (name != "taichi" and what == "kernel") else f"{name}_{what}"
                rates[label] = {"agent_steps_per_s": rate(b["agent_steps"], b[key]),
                                "world_ticks_per_s": rate(b["world_ticks"], b[key])}
    if tai:
        ratios["full_over_kernel"] = paired(tai["full_over_kernel"])
        ratios["scheduler_share"] = paired([1 - 1 / r for r in tai["full_over_kernel"]])
        ratios["record_overhead"] = paired(tai["record_over_full"])
        for name in ("reference", "plain"):
            if name in bk:
                # the NumPy backends' device step vs the Taichi kernel, over the same ticks from reset
                ratios[f"speedup_vs_{name}"] = ratio(bk[name]["kernel_s"], tai["kernel_s"])
        # same work: the same discrete decisions; bit-identical: every statistic, float sums included
        res["same_work"] = {name: b["decisions"] == tai["decisions"] for name, b in bk.items() if name != "taichi"}
        res["bit_identical"] = {name: b["digest"] == tai["digest"] for name, b in bk.items() if name != "taichi"}
    res["rates"], res["ratios"] = rates, ratios


def add_roofline(res: dict, peak_bytes_per_s: float) -> None:
    """Roofline agent-steps/s = peak copy bandwidth / bytes per agent-step, and the share the kernels reach."""
    tai = res["backends"]["taichi"]
    per = bytes_per_agent(res["worlds"])
    top = peak_bytes_per_s / per
    done, t = tai["agent_steps"], tai["kernel_s"]
    cells = res["agents"] // res["worlds"]
    state = sum(f[1] for f in AGENT_FIELDS) * res["agents"] + sum(f[1] for f in CELL_FIELDS) * cells
    res["roofline"] = {"bytes_per_agent": per, "agent_steps_per_s": top, "working_set_bytes": state}
    res["ratios"]["roofline_fraction"] = {"value": done / t["median"] / top, "lo": done / t["max"] / top,
                                          "hi": done / t["min"] / top}


# ---- JIT
COLD_JIT_CODE = """
import json, time
t0 = time.perf_counter()
from engine.arch import init_taichi
arch = init_taichi({arch!r})
from engine.simulation import Simulation
from scenarios.loader import load_scenario
t1 = time.perf_counter()
sim = Simulation(load_scenario({scenario!r}), 0, 1, arch=arch)
t2 = time.perf_counter()
sim.step()
import taichi as ti
ti.sync()
t3 = time.perf_counter()
print(json.dumps({{"init_s": t1 - t0, "build_s": t2 - t1, "first_step_s": t3 - t2}}))
"""


def fresh_process_jit(scenario: str, arch: str) -> dict:
    """Build and first step in fresh processes with a private offline cache: empty (cold), then filled (warm)."""
    root = Path(__file__).resolve().parent.parent
    out = {}
    with tempfile.TemporaryDirectory(prefix="gridhanoi-jit-") as home:  # HOME moves engine/arch.py's cache
        env = {**os.environ, "HOME": home, "PYTHONPATH": str(root)}
        for key in ("cold", "warm"):
            run = subprocess.run([sys.executable, "-c", COLD_JIT_CODE.format(arch=arch, scenario=scenario)],
                                 capture_output=True, text=True, env=env, cwd=root, timeout=300)
            if run.returncode != 0:
                return {**out, key: {"error": (run.stderr.strip().splitlines() or ["failed"])[-1]}}
            out[key] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


# ---- viewer (its own measuring helpers live in docs/viewer_bench.py, by the viewer's author)
def viewer_timings(quick: bool = False) -> dict:
    """Viewer frame time (seek + render of a new frame) and seek time (decode one frame), or n/a without a viewer."""
    script = Path(__file__).resolve().parent.parent / "docs" / "viewer_bench.py"
    if not script.is_file():
        return {"status": "n/a (viewer not built)"}
    import importlib.util

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen rendering, as in the viewer's own bench
    try:
        spec = importlib.util.spec_from_file_location("viewer_bench", script)
        vb = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(vb)
        if not all(hasattr(vb, n) for n in ("synthetic_episode", "frame_times", "Viewer", "DEFAULT_SIZE")):
            return {"status": "n/a (docs/viewer_bench.py has no measuring functions)"}
        n = 30 if quick else 60
        out = {"status": "measured", "window": list(vb.DEFAULT_SIZE), "samples": n}
        surface = vb.pygame.Surface(vb.DEFAULT_SIZE)
        with tempfile.TemporaryDirectory(prefix="gridhanoi-viewer-") as tmp:
            # synthetic_episode(folder, size, tile, disks, ticks, frame_every)
            big_ticks = 256 if quick else 512
            for key, args in (("frame_64", (64, 4, 8, 600, 1)), ("frame_1024", (1024, 16, 12, big_ticks, 16))):
                v = vb.Viewer(vb.synthetic_episode(Path(tmp) / key, *args), size=vb.DEFAULT_SIZE)
                ticks = v.data().frame_ticks
                play = ticks[np.linspace(0, len(ticks) - 1, n).astype(int)]
                vb.frame_times(v, play[:3], surface)  # fonts and samplings warm
                out[f"{key}_s"] = spread(vb.frame_times(v, play, surface))
            long_ticks = 2000 if quick else 10_000
            v = vb.Viewer(vb.synthetic_episode(Path(tmp) / "long", 64, 4, 8, long_ticks, 1), size=vb.DEFAULT_SIZE)
            data, decode = v.data(), []
            for t in np.random.default_rng(1).integers(data.t0, data.t1 + 1, n):
                t0 = time.perf_counter()
                v.seek(int(t))
                v.frame()
                decode.append(time.perf_counter() - t0)
            out["seek_s"], out["seek_episode_ticks"] = spread(decode), long_ticks
        return out
    except Exception as err:  # the viewer is another module's work in progress: report, never fail the bench
        return {"status": f"n/a (viewer bench failed: {type(err).__name__}: {err})"}


# ---- where the kernel's time goes
def offload_labels() -> list[str]:
    """The top-level loops of `advance_worlds` in source order (Taichi offloads each as one task), each named by
    the first words of the block comment above it and its header."""
    from kernels.worlds import WorldsDevice

    lines = inspect.getsource(WorldsDevice.advance_worlds).splitlines()
    indent = " " * (len(lines[2]) - len(lines[2].lstrip()))  # decorator, def, first statement
    labels, comment, in_comment = [], "", False
    for ln in lines:
        if not ln.startswith(indent) or ln.startswith(indent + " "):
            continue  # only the kernel body's top level
        text = ln.strip()
        if text.startswith("#") and not in_comment:
            comment = re.split(r"[:(,.;]", text.lstrip("# "))[0].strip()
        elif text.startswith("for "):
            labels.append(f"{comment}: {text}" if comment else text)
        in_comment = text.startswith("#")
    return labels


HOST_TASKS = (("tensor_to_ext_arr", "host readback: field.to_numpy() (per-tick statistics)"),
              ("ext_arr_to_tensor", "host upload: field.from_numpy() (controls, active zones)"),
              ("record_frame", "recording: frame into the ring buffer"))


def source_state() -> dict:
    """The git commit measured, and which engine files differ from it (other engineers work in the same tree)."""
    from engine.recording import git_commit

    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "kernels", "engine"], capture_output=True,
                             text=True, timeout=10, cwd=root).stdout
        changed = sorted(line[3:] for line in out.splitlines() if line[:2].strip() and not line.startswith("??"))
    except (OSError, subprocess.SubprocessError):
        changed = None
    return {"git_commit": git_commit(), "modified": changed}


def profile_offloads(scenario, worlds: int, ticks: int, arch: str = "cpu") -> list[dict]:
    """Per offloaded task time over `ticks` ticks, with Taichi's kernel profiler (TI_KERNEL_PROFILER=1 at init)."""
    import taichi as ti
    from taichi.lang import impl

    sim = make_sim(scenario, worlds, "taichi", arch)
    if not impl.current_cfg().kernel_profiler:
        raise RuntimeError("the kernel profiler is off: set TI_KERNEL_PROFILER=1 before Taichi is initialised")
    for _ in range(TAICHI_WARMUP):
        sim.step()
    sim.reset()
    ti.sync()
    ti.profiler.clear_kernel_profiler_info()
    for _ in range(ticks):
        sim.step()
    ti.sync()
    prog = impl.get_runtime().prog
    prog.sync_kernel_profiler()
    prog.update_kernel_profiler()
    totals: dict[str, list] = {}
    for rec in prog.get_kernel_profiler_records():
        totals.setdefault(rec.name, []).append(rec.kernel_time)
    labels = offload_labels()
    grand = sum(sum(v) for v in totals.values())
    rows = []
    for name, times in totals.items():
        label = next((text for prefix, text in HOST_TASKS if name.startswith(prefix)), "")
        if name.startswith("advance_worlds_"):
            idx = int(name.rsplit("_kernel_", 1)[1].split("_")[0])
            label = labels[idx] if idx < len(labels) else ""
        rows.append({"task": name, "loop": label, "ms_per_tick": sum(times) / ticks,
                     "share": sum(times) / grand, "launches": len(times)})
    return sorted(rows, key=lambda r: -r["ms_per_tick"])


# ---- the whole benchmark
def run_benchmark(scenario: str = "paper", worlds=(1, 4, 16, 64, 256), grids=(64, 256, 1024), ticks: int = 25,
                  repeats: int = 11, ref_repeats: int = 3, arch: str = "cpu", quick: bool = False,
                  measure_cold_jit: bool = True, measure_viewer: bool = True, progress=None) -> dict:
    """Measure every configuration on every backend in this process and return one JSON-ready dict."""
    from engine.arch import init_taichi

    say = progress or (lambda msg: None)
    t_start = time.perf_counter()
    cache_before = taichi_cache_entries()
    load_before = load_average()
    source = source_state()  # before measuring: others may commit while the bench runs
    used_arch = init_taichi(arch)
    say("memory bandwidth (NumPy copy)")
    mib = 64 if quick else 256
    copies = [copy_bandwidth(mib)]
    base = scenario_for(scenario, None)
    configs = [(w, None) for w in worlds] + [(1, g) for g in grids if not (1 in worlds and g == base.grid.size)]
    results = []
    for w, g in configs:
        sc = scenario_for(scenario, g)
        say(f"W={w} G={sc.grid.size}: taichi, reference, plain NumPy")
        results.append(measure_config(sc, w, ticks, repeats, ref_repeats, arch))
    copies.append(copy_bandwidth(mib))  # again at the end: other processes share the memory bus
    bandwidth = merge_bandwidth(copies)
    for res in results:
        add_roofline(res, bandwidth["peak_bytes_per_s"])
    first = results[0]["backends"]["taichi"]
    # Taichi writes its offline cache when the process exits, and the shared cache is LRU-trimmed at ~100 MB:
    # whether this process found its kernels there is unknown, hence the fresh-process cold/warm pair below
    jit = {"first_step_s": first["first_step_s"], "first_build_s": first["build_s"],
           "offline_cache_files_at_start": cache_before,
           "per_config_first_step_s": {f"W={r['worlds']} G={r['grid']}": r["backends"]["taichi"]["first_step_s"]
                                       for r in results}}
    if measure_cold_jit:
        say("JIT in fresh processes (empty, then warm offline cache)")
        jit.update(fresh_process_jit(scenario, arch))
    say("viewer frame and seek time" if measure_viewer else "viewer skipped")
    out = {"hardware": hardware(used_arch), "source": source,
           "settings": {"scenario": scenario, "worlds": list(worlds), "grids": list(grids), "ticks": ticks,
                        "repeats": repeats, "ref_repeats": ref_repeats, "quick": quick,
                        "taichi_warmup_ticks": TAICHI_WARMUP, "numpy_warmup_ticks": NUMPY_WARMUP,
                        "load_average_before": load_before, "load_average_after": load_average()},
           "bandwidth": bandwidth, "bytes_per_agent_fields": field_table(),
           "configs": results, "jit": jit,
           "viewer": viewer_timings(quick) if measure_viewer else {"status": "n/a (not measured: --no-viewer)"}}
    out["summary"] = summarise(out)
    out["wall_s"] = time.perf_counter() - t_start
    return out


def pick(results: list[dict], worlds: int | None = None, grid: int | None = None) -> dict | None:
    """The configuration with these worlds (largest if None) on the base grid, or with this grid at W = 1."""
    if grid is not None:
        rows = [r for r in results if r["grid"] == grid and r["worlds"] == 1]
    else:
        base = results[0]["grid"]
        rows = [r for r in results if r["grid"] == base and (worlds is None or r["worlds"] == worlds)]
        rows = sorted(rows, key=lambda r: r["worlds"])
    return rows[-1] if rows else None


TARGETS = (
    # (key, text, ratio name, comparison, threshold, where)
    ("speedup", "Taichi ≥ 10× the NumPy reference at the largest W", "speedup_vs_reference", ">=", 10.0, "max_w"),
    ("full_loop", "full loop ≤ 1.3× kernels-only at the largest W", "full_over_kernel", "<=", 1.3, "max_w"),
    ("full_loop_w1", "full loop ≤ 1.3× kernels-only at W = 1", "full_over_kernel", "<=", 1.3, "min_w"),
    ("roofline", "≥ 10 % of the memory-bandwidth roofline at the largest W", "roofline_fraction", ">=", 0.10,
     "max_w"),
)


def summarise(out: dict) -> dict:
    """Headline ratios (smallest and largest W, largest grid) and the targets, met or not (never asserted)."""
    res = out["configs"]
    lo, hi = pick(res, min(r["worlds"] for r in res)), pick(res)
    big_grid = max(res, key=lambda r: (r["grid"], -r["worlds"]))
    head = {"worlds_min": lo["worlds"], "worlds_max": hi["worlds"], "grid_max": big_grid["grid"]}
    for name in ("speedup_vs_reference", "speedup_vs_plain", "roofline_fraction", "full_over_kernel",
                 "record_overhead"):
        head[name] = hi["ratios"].get(name)
    head["scheduler_share_w_min"] = lo["ratios"]["scheduler_share"]
    head["scheduler_share_w_max"] = hi["ratios"]["scheduler_share"]
    head["record_overhead_w_min"] = lo["ratios"]["record_overhead"]
    head["speedup_vs_reference_grid_max"] = big_grid["ratios"].get("speedup_vs_reference")
    head["roofline_fraction_grid_max"] = big_grid["ratios"].get("roofline_fraction")
    head["best_agent_steps_per_s"] = max(r["rates"]["taichi_kernel"]["agent_steps_per_s"]["median"] for r in res)
    head["best_full_agent_steps_per_s"] = max(r["rates"]["taichi_full"]["agent_steps_per_s"]["median"] for r in res)
    head["jit_first_step_s"] = out["jit"]["first_step_s"]
    targets = []
    for key, text, name, op, thr, where in TARGETS:
        r = (hi if where == "max_w" else lo)["ratios"].get(name)
        v = None if r is None else r["value"]
        met = None if v is None else (v >= thr if op == ">=" else v <= thr)
        targets.append({"key": key, "target": text, "value": v, "met": met})
    gpu = out["hardware"]["gpu"]
    w1 = pick(res, 1)
    tick_ms = w1["backends"]["taichi"]["kernel_s"]["median"] / w1["ticks"] * 1e3 if w1 else None
    targets.append({"key": "gpu_throughput", "target": "GPU: ≥ 1e9 agent-steps/s",
                    "value": head["best_agent_steps_per_s"] if gpu else None,
                    "met": (head["best_agent_steps_per_s"] >= 1e9) if gpu else None,
                    "note": None if gpu else "no GPU on this machine: not measured"})
    targets.append({"key": "gpu_tick", "target": "GPU: ≤ 0.1 ms per tick, one 64×64 world",
                    "value": tick_ms if gpu else None, "met": (tick_ms <= 0.1) if gpu and tick_ms else None,
                    "note": None if gpu else "no GPU on this machine: not measured"})
    head["targets"] = targets
    return head
