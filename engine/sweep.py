"""Sweeps: a TOML spec → batched-world jobs → one Parquet dataset, resumable (`gridhanoi sweep`, docs/sweeps.md).

Spec
----
    name = "alpha"                      # optional; default the file's stem
    scenarios = ["smoke", "my.toml"]    # built-in names or .toml paths (relative to the spec file)
    seeds = 16                          # seeds 0 … 15, or an explicit list [0, 1, 2]
    ticks = 300                         # optional: task.max_ticks of every run
    worlds_per_job = 64                 # optional: at most this many runs in one job (default 64)
    [set]                               # optional: overrides applied to every run
    "oracle.cost" = 10
    [params]                            # the grid: every combination of these values
    "curriculum.manager" = ["thompson", "stages"]
    agents.alpha = [0.0, 0.003]

Jobs
----
Every (scenario, parameter combination) is a *configuration*; each runs every seed, so configurations are paired
(common random numbers). Configurations of one scenario that can share a Simulation (same grid, task, layout,
faults, stage radii, and one [curriculum] section per manager name) form a group; a job is a group (or a slice of
`worlds_per_job` of its configurations) × a block of `worlds_per_job // configurations` seeds, run as the worlds of
one Simulation (`variants`), so one Taichi launch steps all its runs. A job's id hashes its labels, effective
scenario texts, seeds and the gridhanoi version; its rows go to `OUT/results/job-<id>.parquet`, written by the
driver atomically (temporary file + rename). A re-run skips every job whose file exists and records no failure.

Failures
--------
A job that raises is run again one configuration at a time (the retry, which also isolates the crashing ones);
a job whose worker process died is submitted once more. What still fails is reported with its parameters and a
one-line error on stderr and in `OUT/failures.json`, and the rest of the sweep completes.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.errors import ScenarioError, locate, one_line

SPEC_KEYS = ("name", "description", "scenarios", "seeds", "ticks", "worlds_per_job", "set", "params")
DEFAULT_WORLDS_PER_JOB = 64
MAX_SEED = 2 ** 32 - 1  # the device keeps episode seeds as u32
FORMAT_KEY = b"gridhanoi.sweep"


# ---------------------------------------------------------------- spec
@dataclass(frozen=True)
class Spec:
    """A parsed sweep spec: scenarios × the product of `params` values × seeds."""

    path: str
    text: str
    name: str
    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    ticks: int | None
    worlds_per_job: int
    fixed: tuple[tuple[str, object], ...]               # [set]: key, value
    params: tuple[tuple[str, tuple[object, ...]], ...]  # [params]: key, values

    def error(self, reason: str, key: str | None = None, section: str | None = None) -> ScenarioError:
        """A one-line error naming this spec file, the key and, where found, its line."""
        line = None
        if key:
            line = locate(self.text, section, key) if section else locate(self.text, key)
        where = f"{section}.{key}" if section and key else key
        return ScenarioError(f"{where}: {reason}" if where else reason, file=self.path, line=line, key=where)


def _flatten(table: dict, prefix: str = "") -> dict[str, object]:
    """Nested TOML tables (`[params.agents]`, `agents.alpha = …`) → dotted keys."""
    out: dict[str, object] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and check a sweep spec; ScenarioError (one line, file and key) on any problem."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError("sweep spec not found; check the path", file=label) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read the sweep spec ({getattr(err, 'strerror', None) or err})",
                            file=label) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"TOML syntax error: {err}; fix the syntax", file=label) from None
    bare = Spec(label, text, "", (), (), None, 0, (), ())  # only for locating errors
    for key in raw:
        if key not in SPEC_KEYS:
            raise bare.error(f"unknown key; a sweep spec has {', '.join(SPEC_KEYS)}", key)
    name = raw.get("name", Path(label).stem)
    if not isinstance(name, str) or not name.strip():
        raise bare.error("must be a non-empty string", "name")
    scenarios = raw.get("scenarios")
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    if not scenarios or not isinstance(scenarios, list) or not all(isinstance(s, str) and s for s in scenarios):
        raise bare.error('give a list of built-in names or .toml paths, e.g. scenarios = ["smoke"]', "scenarios")
    if len(set(scenarios)) != len(scenarios):
        raise bare.error("lists a scenario twice", "scenarios")
    seeds = raw.get("seeds")
    if _is_int(seeds):
        if not 1 <= seeds <= 1 << 20:
            raise bare.error(f"= {seeds}: a seed count must be between 1 and {1 << 20}", "seeds")
        seeds = list(range(seeds))
    elif isinstance(seeds, list) and seeds and all(_is_int(s) and 0 <= s <= MAX_SEED for s in seeds):
        if len(set(seeds)) != len(seeds):
            raise bare.error("lists a seed twice", "seeds")
    else:
        raise bare.error(f"give a count (seeds = 16) or a list of seeds in 0 … {MAX_SEED} (seeds = [0, 1, 2])",
                         "seeds")
    ticks = raw.get("ticks")
    if ticks is not None and not (_is_int(ticks) and ticks >= 1):
        raise bare.error(f"= {ticks!r}: must be a whole number ≥ 1", "ticks")
    per_job = raw.get("worlds_per_job", DEFAULT_WORLDS_PER_JOB)
    if not (_is_int(per_job) and per_job >= 1):
        raise bare.error(f"= {per_job!r}: must be a whole number ≥ 1", "worlds_per_job")
    for section in ("set", "params"):
        if not isinstance(raw.get(section, {}), dict):
            raise bare.error(f"must be a [{section}] table of dotted scenario keys", section)
    fixed = _flatten(raw.get("set", {}))
    params = {}
    for key, values in _flatten(raw.get("params", {})).items():
        values = values if isinstance(values, list) else [values]
        if not values:
            raise bare.error("has no values; give a non-empty list", key, "params")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise bare.error("lists a value twice", key, "params")
        if key in fixed:
            raise bare.error("is in both [set] and [params]; keep one", key, "params")
        params[key] = tuple(values)
    if ticks is not None and "task.max_ticks" in {**fixed, **params}:
        raise bare.error("ticks and task.max_ticks both set the run length; keep one", "ticks")
    return Spec(label, text, name.strip(), tuple(scenarios), tuple(seeds), ticks, per_job,
                tuple(fixed.items()), tuple(params.items()))


# ---------------------------------------------------------------- configurations and jobs
@dataclass(frozen=True)
class Config:
    """One effective scenario of the sweep: its spec entry, the swept values and the scenario text."""

    scenario: str                            # the spec's entry, as written
    params: tuple[tuple[str, object], ...]   # swept key, value
    overrides: tuple[tuple[str, object], ...]  # every override applied: [set], params, ticks
    text: str                                # effective scenario TOML (overrides applied)
    source: str
    base_dir: str                            # where the scenario's relative PNG paths are read from


@dataclass(frozen=True)
class Job:
    """Configurations × seeds run as the worlds of one Simulation; `id` names its result file."""

    id: str
    sweep: str
    scenario: str
    configs: tuple[Config, ...]
    seeds: tuple[int, ...]
    version: str
    stage_columns: int  # stage_1_tick … columns every file of the sweep carries
    param_kinds: tuple[tuple[str, str], ...] = ()  # swept key → column type, from all of the spec's values

    @property
    def runs(self) -> int:
        """Runs (worlds) in this job."""
        return len(self.configs) * len(self.seeds)

    def describe(self) -> str:
        """One line: scenario, the swept values and the seeds."""
        values: dict[str, list] = {}
        for c in self.configs:
            for k, v in c.params:
                values.setdefault(k, []).append(v)
        shown = " ".join(f"{k}={'|'.join(map(str, dict.fromkeys(v)))}" for k, v in values.items())
        return f"{self.scenario}{' ' + shown if shown else ''} seeds {seed_range(self.seeds)}"


def seed_range(seeds) -> str:
    """Seeds as "0-3" when consecutive, else comma-separated."""
    seeds = list(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _scenario_arg(spec: Spec, entry: str) -> str:
    """A spec entry as load_scenario takes it: built-in names as they are, paths relative to the spec file."""
    from scenarios.loader import is_builtin_name

    if is_builtin_name(entry) or os.path.isabs(entry):
        return entry
    return str(Path(spec.path).parent / entry)


def expand(spec: Spec) -> list[tuple[Config, object]]:
    """Every (configuration, loaded Scenario) of the spec; ScenarioError naming the spec key on bad values."""
    from engine.managers import ManagerError, manager_class
    from scenarios.loader import load_scenario

    keys = [k for k, _ in spec.params]
    out = []
    for entry in spec.scenarios:
        for combo in itertools.product(*(values for _, values in spec.params)):
            params = tuple(zip(keys, combo))
            overrides = {**dict(spec.fixed), **dict(params)}
            if spec.ticks is not None:
                overrides["task.max_ticks"] = spec.ticks
            try:
                s = load_scenario(_scenario_arg(spec, entry), overrides)
            except ScenarioError as err:
                raise _blame(spec, err, entry, params) from None
            try:
                manager_class(s.curriculum.manager)
            except ManagerError as err:
                raise _blame(spec, ScenarioError(str(err), key="curriculum.manager"), entry, params) from None
            out.append((Config(entry, params, tuple(overrides.items()), s.text, s.source, str(s.base_dir)), s))
    return out


def _blame(spec: Spec, err: ScenarioError, entry: str, params) -> ScenarioError:
    """Re-word a scenario error so it names the spec key that caused it."""
    swept = dict(params)
    if err.key in swept:
        return spec.error(f"{swept[err.key]!r} for scenario {entry}: {err}", err.key, "params")
    if err.key in dict(spec.fixed):
        return spec.error(f"{err}", err.key, "set")
    if err.key == "task.max_ticks" and spec.ticks is not None:
        return spec.error(f"{err}", "ticks")
    return spec.error(f"{entry!r}: {err}", "scenarios")


def compatibility_key(s) -> tuple:
    """What must be equal for two scenarios to run as worlds of one Simulation (it builds one layout)."""
    c0 = s.agents.c0 if s.agents.c0_patches is not None else None  # patches bake c₀ into the shared layout
    return (s.grid, s.task.kind, s.task.disks, s.task.pegs, s.layout, s.faults, s.agents.c0_patches, c0,
            tuple(s.curriculum.radii))


def _groups(configs: list[tuple[Config, object]]) -> list[list[Config]]:
    """First-fit: same scenario and compatibility key, and one [curriculum] per manager name in a group.

    Simulation builds one manager per manager name from the first such world's [curriculum]: two λ values of
    `thompson` in one batch would silently run with the first, so they go to separate groups.
    """
    groups: list[tuple[tuple, list[tuple[Config, object]]]] = []
    for c, s in configs:
        key = (c.scenario, compatibility_key(s))
        for gkey, members in groups:
            clash = any(o.curriculum.manager == s.curriculum.manager and o.curriculum != s.curriculum
                        for _, o in members)
            if gkey == key and not clash:
                members.append((c, s))
                break
        else:
            groups.append((key, [(c, s)]))
    return [[c for c, _ in members] for _, members in groups]


def job_id(sweep: str, configs, seeds, version: str) -> str:
    """16 hex characters of the sha256 of what decides a job's rows."""
    blob = json.dumps({"sweep": sweep, "version": version, "seeds": list(seeds),
                       "configs": [[c.scenario, [list(p) for p in c.params], c.text] for c in configs]},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def plan_jobs(spec: Spec, configs: list[tuple[Config, object]], version: str) -> list[Job]:
    """Split the configurations into batched-world jobs (see the module docstring)."""
    stages = max(len(s.curriculum.radii) for _, s in configs)
    kinds = tuple((key, param_type(values)) for key, values in spec.params)
    per_job = spec.worlds_per_job
    jobs = []
    for group in _groups(configs):
        slices = [group[i:i + per_job] for i in range(0, len(group), per_job)]
        for part in slices:
            block = max(1, per_job // len(part))  # depends on the group only: more seeds later keep these ids
            for i in range(0, len(spec.seeds), block):
                seeds = spec.seeds[i:i + block]
                jobs.append(Job(job_id(spec.name, part, seeds, version), spec.name, part[0].scenario, tuple(part),
                                tuple(seeds), version, stages, kinds))
    return jobs


# ---------------------------------------------------------------- running one job (in a worker process)
@dataclass
class Failure:
    """Runs that crashed: their job, scenario, swept values, seeds and the one-line error."""

    job: str
    scenario: str
    params: dict
    seeds: list[int]
    error: str

    def line(self) -> str:
        """One line for stderr."""
        shown = " ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"job {self.job} failed: {self.scenario}{' ' + shown if shown else ''} "
                f"seeds {seed_range(self.seeds)}: {self.error}")


def job_failures(job: Job, configs, error: str) -> list[Failure]:
    """One failure per configuration of a job that crashed with `error`."""
    return [Failure(job.id, c.scenario, dict(c.params), list(job.seeds), error) for c in configs]


@dataclass
class JobResult:
    """What a worker returns: one row per run that finished, and what crashed."""

    rows: list[dict]
    failures: list[Failure] = field(default_factory=list)
    version: str | None = None
    wall_s: float = 0.0


def error_line(err: BaseException, limit: int = 300) -> str:
    """An exception as one short line: `Type: message`."""
    text = one_line(f"{type(err).__name__}: {err}")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def gridhanoi_version() -> str:
    """The installed gridhanoi version, else the one in pyproject.toml of this checkout."""
    from importlib import metadata

    try:
        return metadata.version("gridhanoi")
    except metadata.PackageNotFoundError:
        pass
    try:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def provenance() -> dict:
    """Version, git commit and hardware of the machine running a job (they can differ across a cluster)."""
    from engine.recording import git_commit, hardware

    return {"gridhanoi_version": gridhanoi_version(), "git_commit": git_commit(),
            "hardware": f"{hardware()} ({os.cpu_count()} CPU cores)"}


def seeded_simulation(variants, seeds, arch: str):
    """A Simulation whose world w runs `variants[w]` with episode seed `seeds[w]`: the same seeds for every
    configuration of a job (a world's trajectory depends only on its own seed and scenario, DESIGN §2.2)."""
    from engine.simulation import Simulation

    return Simulation(variants[0], worlds=len(variants), arch=arch, variants=variants, seeds=seeds)


def run_configs(job: Job, configs, arch: str) -> list[dict]:
    """Run configurations × the job's seeds as one Simulation; return one row per run."""
    from scenarios.loader import load_scenario_text

    variants = [load_scenario_text(c.text, c.source, None, Path(c.base_dir)) for c in configs for _ in job.seeds]
    started = time.perf_counter()
    sim = seeded_simulation(variants, [s for _ in configs for s in job.seeds], arch).run()
    wall = time.perf_counter() - started
    extra = {"arch": sim.arch, "job_runs": sim.W, "job_wall_s": wall, **provenance()}
    return run_rows(job, configs, sim, extra)


def run_rows(job: Job, configs, sim, extra: dict) -> list[dict]:
    """Rows of a finished Simulation: labels, params, every non-list figure of summary() and metrics, stage ticks."""
    from engine import metrics
    from scenarios.loader import scenario_hash

    results = sim.summary()["world_results"]
    rows = []
    for w, figures in enumerate(results):
        c = configs[w // len(job.seeds)]
        variant = sim.variants[w]
        more = metrics.world_metrics(sim, w)
        row = {"sweep": job.sweep, "job": job.id, "scenario": c.scenario, "manager": figures["manager"],
               "seed": figures["seed"], **dict(c.params)}
        row.update({k: v for k, v in figures.items() if not isinstance(v, list) and k not in row})
        row.update({k: v for k, v in more.items() if not isinstance(v, list) and k not in row})
        row.update(metrics.stage_tick_columns(figures["stage_ticks"], job.stage_columns))
        row.update({"scenario_hash": scenario_hash(variant),
                    "overrides": ";".join(f"{k}={v}" for k, v in c.overrides), **extra})
        rows.append(row)
    return rows


def execute_job(job: Job, arch: str = "auto") -> JobResult:
    """Run a job in this process; if it raises, run its configurations one at a time and report those that fail."""
    from engine.arch import init_taichi

    started = time.perf_counter()
    init_taichi(arch)  # once per process; later calls return at once
    try:
        rows, failures = run_configs(job, job.configs, arch), []
    except Exception:  # the retry: one configuration at a time, so one bad value does not sink the others
        rows, failures = [], []
        for c in job.configs:
            try:
                rows += run_configs(job, (c,), arch)
            except Exception as err:
                failures += job_failures(job, (c,), error_line(err))
    return JobResult(rows, failures, gridhanoi_version(), time.perf_counter() - started)


# ---------------------------------------------------------------- results on disk
RESULT_TYPES = {  # columns whose type cannot be inferred from one file (they may be all null there)
    "plan_valid": "bool", "plan_error": "string", "git_commit": "string", "ticks_to_complete": "float64",
    "accuracy": "float64", "mean_nll": "float64", "brier": "float64", "ece": "float64",
    "escalation_precision": "float64", "cost": "float64", "job_wall_s": "float64",
}


def param_type(values) -> str:
    """The Arrow type of a swept key's column: bool, int64, float64, else string."""
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(_is_int(v) for v in values):
        return "int64"
    if all(_is_int(v) or isinstance(v, float) for v in values):
        return "float64"
    return "string"


def _cell(value, kind: str):
    """A param value as its column's type (lists and mixed values become their JSON text)."""
    if kind == "string" and not isinstance(value, str):
        return json.dumps(value)
    return float(value) if kind == "float64" else value


def result_table(job: Job, rows: list[dict], failed: list[Failure]):
    """Rows as an Arrow table with the sweep's fixed column types (so every file of the dataset agrees)."""
    import pyarrow as pa

    from engine.metrics import stage_tick_columns

    swept = dict(job.param_kinds)
    kinds = {**RESULT_TYPES, **{k: "float64" for k in stage_tick_columns([], job.stage_columns)}, **swept}
    rows = [{k: _cell(v, kinds[k]) if k in swept else v for k, v in r.items()} for r in rows]
    table = pa.Table.from_pylist(rows)
    arrow = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}
    fields = []
    for f in table.schema:
        default = pa.string() if pa.types.is_null(f.type) else f.type
        fields.append(pa.field(f.name, arrow[kinds[f.name]] if f.name in kinds else default))
    meta = {"job": job.id, "sweep": job.sweep, "describe": job.describe(), "version": job.version,
            "failed": [f.__dict__ for f in failed]}
    return table.cast(pa.schema(fields)).replace_schema_metadata({FORMAT_KEY: json.dumps(meta).encode()})


def write_atomically(table, path: Path) -> None:
    """Write a Parquet file so that a reader (or a re-run) never sees half of it: temporary file, fsync, rename."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # a dot: Parquet readers skip it
    pq.write_table(table, tmp, compression="zstd")
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def job_done(path: Path) -> bool:
    """Whether a job's result file exists and records no crashed run (a file with failures is run again)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
        return not json.loads(meta.get(FORMAT_KEY, b"{}")).get("failed")
    except Exception:  # unreadable: run it again, the rename replaces it
        return False


def read_results(out: str | os.PathLike):
    """The sweep's results as one Arrow table (schemas unified, so files from an edited spec read too)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = sorted(Path(out, "results").glob("job-*.parquet"))
    if not files:
        return pa.table({})
    schema = pa.unify_schemas([pq.read_schema(f).remove_metadata() for f in files])
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_table()


# ---------------------------------------------------------------- the driver
@dataclass
class SweepReport:
    """What a sweep did: jobs run, skipped, failed, runs written, wall time."""

    jobs: int = 0
    ran: int = 0
    skipped: int = 0
    runs: int = 0
    failures: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0


class OutputFolder:
    """OUT/results/ and OUT/failures.json, held by one sweep at a time (an advisory lock)."""

    def __init__(self, out: str | os.PathLike):
        from engine.errors import UsageError

        self.root = Path(out)
        self.results = self.root / "results"
        try:
            self.results.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.root / ".sweep.lock", "w")
        except OSError as err:
            raise UsageError(f"--out {self.root}: cannot write there ({err.strerror or err}); choose another "
                             "folder") from None
        try:
            import fcntl
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no fcntl (Windows): no lock
            pass
        except OSError:
            raise UsageError(f"--out {self.root}: another sweep is writing there; wait for it or choose another "
                             "folder") from None
        for stale in self.results.glob(".job-*.tmp-*"):  # left by a killed sweep; we hold the lock
            stale.unlink(missing_ok=True)

    def path(self, job: Job) -> Path:
        """The result file of a job."""
        return self.results / f"job-{job.id}.parquet"

    def strays(self, jobs: list[Job]) -> list[Path]:
        """Result files that belong to no job of this plan (an edited spec, an older gridhanoi)."""
        mine = {self.path(j).name for j in jobs}
        return sorted(p for p in self.results.glob("job-*.parquet") if p.name not in mine)

    def write_failures(self, failures: list[Failure]) -> None:
        """OUT/failures.json: the runs that crashed in this invocation (an empty list when none)."""
        tmp = self.root / ".failures.json.tmp"
        tmp.write_text(json.dumps([f.__dict__ for f in failures], indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.root / "failures.json")

    def close(self) -> None:
        """Release the lock."""
        self._lock.close()


def run_sweep(spec_path, out, backend: str = "local", workers: int | None = None, address: str | None = None,
              arch: str = "auto", cpus_per_job: int | None = None, log=None) -> SweepReport:
    """Plan the spec, skip finished jobs, run the rest on a backend and write each job's rows as they arrive."""
    from engine.sweep_backends import check_backend, make_backend

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    check_backend(backend, workers, address, cpus_per_job)
    spec = load_spec(spec_path)
    jobs = plan_jobs(spec, expand(spec), gridhanoi_version())
    folder = OutputFolder(out)
    report = SweepReport(jobs=len(jobs))
    try:
        strays = folder.strays(jobs)
        if strays:
            log(f"sweep: warning: {len(strays)} file(s) in {folder.results} belong to no job of this spec "
                f"(edited spec or other gridhanoi version); remove them or use another --out")
        todo = []
        for job in jobs:
            if job_done(folder.path(job)):
                report.skipped += 1
                log(f"skip job {job.id}: {folder.path(job).name} exists ({job.describe()})")
            else:
                todo.append(job)
        log(f"sweep {spec.name}: {sum(j.runs for j in jobs)} runs in {len(jobs)} jobs, {len(todo)} to run "
            f"({backend} backend)")
        if todo:
            pool = make_backend(backend, workers=workers, address=address, arch=arch, jobs=len(todo),
                                cpus_per_job=cpus_per_job)
            _run_jobs(todo, pool, folder, report, log)
        folder.write_failures(report.failures)
    finally:
        folder.close()
    report.wall_s = time.perf_counter() - started
    return report


def _run_jobs(todo: list[Job], pool, folder: OutputFolder, report: SweepReport, log) -> None:
    """Submit every job, retry a job whose worker died once, write results as they arrive."""
    tries = {job.id: 1 for job in todo}
    try:
        for job in todo:
            pool.submit(job)
        for job, outcome in pool.completed():
            if isinstance(outcome, BaseException):  # no result: the worker died, or the job could not start
                if tries[job.id] < 2:
                    tries[job.id] += 1
                    log(f"job {job.id}: no result ({error_line(outcome)}); retrying once")
                    pool.submit(job)
                    continue
                outcome = JobResult([], job_failures(job, job.configs, error_line(outcome)))
            elif outcome.version != job.version:
                outcome = JobResult([], job_failures(job, job.configs, f"worker runs gridhanoi {outcome.version}, "
                                                     f"this driver {job.version}; install one version everywhere"))
            if outcome.rows:
                write_atomically(result_table(job, outcome.rows, outcome.failures), folder.path(job))
            report.ran += 1
            report.runs += len(outcome.rows)
            report.failures += outcome.failures
            for f in outcome.failures:
                log(f.line())
            log(f"job {job.id} {'done' if not outcome.failures else 'FAILED'} [{report.ran}/{len(todo)}]: "
                f"{len(outcome.rows)} of {job.runs} runs written, {outcome.wall_s:.1f} s ({job.describe()})")
    finally:
        pool.close()
