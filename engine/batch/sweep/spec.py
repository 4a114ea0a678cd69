"""Sweep specs: read a sweep spec TOML and check it (format: engine/batch/sweep/driver.py, docs/sweeps.md)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from scenarios.errors import ScenarioError, locate
from scenarios.loader import tomllib  # tomllib, or tomli on Python 3.10

SPEC_KEYS = ("name", "description", "scenarios", "seeds", "ticks", "worlds_per_job", "set", "params")
DEFAULT_WORLDS_PER_JOB = 64
MAX_SEED = 2 ** 32 - 1  # the device keeps episode seeds as u32


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


def is_int(v) -> bool:
    """Whether v is a TOML integer (not a bool)."""
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
    if is_int(seeds):
        if not 1 <= seeds <= 1 << 20:
            raise bare.error(f"= {seeds}: a seed count must be between 1 and {1 << 20}", "seeds")
        seeds = list(range(seeds))
    elif isinstance(seeds, list) and seeds and all(is_int(s) and 0 <= s <= MAX_SEED for s in seeds):
        if len(set(seeds)) != len(seeds):
            raise bare.error("lists a seed twice", "seeds")
    else:
        raise bare.error(f"give a count (seeds = 16) or a list of seeds in 0 … {MAX_SEED} (seeds = [0, 1, 2])",
                         "seeds")
    ticks = raw.get("ticks")
    if ticks is not None and not (is_int(ticks) and ticks >= 1):
        raise bare.error(f"= {ticks!r}: must be a whole number ≥ 1", "ticks")
    per_job = raw.get("worlds_per_job", DEFAULT_WORLDS_PER_JOB)
    if not (is_int(per_job) and per_job >= 1):
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


def param_type(values) -> str:
    """The Arrow type of a swept key's column: bool, int64, float64, else string."""
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(is_int(v) for v in values):
        return "int64"
    if all(is_int(v) or isinstance(v, float) for v in values):
        return "float64"
    return "string"
