"""Load a scenario (built-in name, file or text), apply dotted overrides, validate it, return a frozen Scenario."""
from __future__ import annotations

import dataclasses
import hashlib
import re
import stat
import sys
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from scenarios.checks import check_value, clauses, shown, suggestion, type_name
from scenarios.errors import KeyProblem, ScenarioError, locate, one_line
from scenarios.rules import check_rules
from scenarios.schema import BY_SECTION, SECTIONS, TOP_LEVEL
from scenarios.spec import SECTION_SPECS, Scenario
from scenarios.tomlout import scenario_to_toml

_PACKAGE = "scenarios"
MAX_BYTES = 4 << 20  # a scenario is a few kB; ASCII maps of a 4096 grid stay far below this


def builtin_names() -> list[str]:
    """Return the names of the built-in scenarios, sorted."""
    files = resources.files(_PACKAGE).iterdir()
    return sorted(f.name[: -len(".toml")] for f in files if f.name.endswith(".toml"))


def is_builtin_name(name_or_path: str) -> bool:
    """Return whether a scenario argument names a built-in (no path separator, no .toml suffix)."""
    return "/" not in name_or_path and "\\" not in name_or_path and not name_or_path.endswith(".toml")


def scenario_hash(s: Scenario) -> str:
    """Return 16 hex characters of the sha256 of the effective scenario text."""
    return hashlib.sha256(s.text.encode("utf-8")).hexdigest()[:16]


def _label(source: str) -> str:
    """Return how a source is named in error messages."""
    return source[len("builtin:"):] + ".toml" if source.startswith("builtin:") else source


def load_scenario(name_or_path: str, overrides: dict[str, object] | None = None) -> Scenario:
    """Load a built-in scenario by name or a scenario file by path, apply overrides and validate."""
    if is_builtin_name(name_or_path):
        names = builtin_names()
        if name_or_path not in names:
            raise ScenarioError(clauses(f"unknown built-in scenario {shown(name_or_path)}",
                                        suggestion(name_or_path, names), f"built-ins: {', '.join(names)}",
                                        "a file path needs a / or the .toml suffix"))
        entry = resources.files(_PACKAGE) / f"{name_or_path}.toml"
        text = entry.read_text(encoding="utf-8")
        return load_scenario_text(text, f"builtin:{name_or_path}", overrides, Path(str(resources.files(_PACKAGE))))
    path = Path(name_or_path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise ScenarioError("is not a regular file; give a scenario .toml file", file=name_or_path)
        if info.st_size > MAX_BYTES:
            raise ScenarioError(f"is {info.st_size} bytes, too large for a scenario (at most {MAX_BYTES}); give a "
                                f"scenario .toml file", file=name_or_path)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError("file not found; check the path, or create it with `gridhanoi scenario new NAME`",
                            file=name_or_path) from None
    except IsADirectoryError:
        raise ScenarioError("is a folder; give a scenario .toml file", file=name_or_path) from None
    except (OSError, ValueError) as exc:  # permission denied, NUL in the path, …
        why = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(f"cannot be read ({why}); check the path and its permissions", file=name_or_path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8",
                            file=name_or_path) from None
    return load_scenario_text(text, name_or_path, overrides, path.parent)


def parse_override(assignment: str) -> tuple[str, object]:
    """Parse "section.key=VALUE" (VALUE in TOML syntax, or a bare word taken as a string) into (key, value)."""
    key, sep, raw = assignment.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ScenarioError(f"override {shown(assignment)} is not KEY=VALUE; write e.g. task.max_ticks=300")
    try:
        return key, tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        if re.fullmatch(r"[\w.:\-/]+", raw):  # bare words: manager names, plugin paths, file names
            return key, raw
        raise ScenarioError(f"override {shown(assignment)}: the value is not TOML; quote strings, "
                            f"e.g. {key}=\"…\"") from None


def apply_overrides(s: Scenario, overrides: dict[str, object]) -> Scenario:
    """Return the scenario with dotted overrides applied and validated (source and base_dir kept)."""
    return load_scenario_text(s.text, s.source, overrides, s.base_dir)


def _parse(text: str, label: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
        if at:
            raise ScenarioError(f"TOML syntax error at column {at.group(2)}: {message[:at.start()]}; fix the syntax",
                                file=label, line=int(at.group(1))) from None
        raise ScenarioError(f"TOML syntax error: {message}; fix the syntax", file=label) from None
    except RecursionError:
        raise ScenarioError("cannot be read as TOML: nesting too deep; simplify the file", file=label) from None
    except ValueError:  # an integer with more digits than Python converts
        raise ScenarioError("cannot be read as TOML: a number is too long; shorten it", file=label) from None


def _apply(raw: dict, overrides: dict[str, object], label: str) -> set[str]:
    """Apply dotted overrides to the parsed document; return the dotted keys they created or replaced."""
    touched: set[str] = set()
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        if not all(parts):
            raise ScenarioError(f"override key {shown(dotted)} is not section.key; e.g. grid.size",
                                file=label, origin="override")
        table = raw
        for depth, part in enumerate(parts[:-1]):
            if part not in table:
                table[part] = {}
                touched.add(".".join(parts[: depth + 1]))
            table = table[part]
            if not isinstance(table, dict):
                raise ScenarioError(f"{one_line(dotted)}: {'.'.join(parts[: depth + 1])} is not a table; override "
                                    f"a key of a section, e.g. grid.size", file=label, origin="override")
        if value is None:  # None restores the default
            table.pop(parts[-1], None)
        else:
            table[parts[-1]] = value
        touched.add(".".join(parts))
    return touched


def _unknown(name: str, value: object) -> KeyProblem:
    """Explain a top-level name that is neither a section nor a top-level key."""
    homes = [s for s in SECTIONS if name in BY_SECTION[s]]
    if homes and not isinstance(value, dict):
        return KeyProblem(name, f"{one_line(name)} is not a top-level key; put it under [{homes[0]}]")
    if isinstance(value, dict):
        return KeyProblem(name, clauses(f"unknown section [{one_line(name)}]", suggestion(name, SECTIONS),
                                        f"sections: {', '.join(SECTIONS)}"))
    return KeyProblem(name, clauses(f"unknown top-level key {one_line(name)!r}",
                                    suggestion(name, list(TOP_LEVEL) + list(SECTIONS)),
                                    f"top-level keys: {', '.join(TOP_LEVEL)}, then the sections"))


def _section_values(section: str, table: object) -> dict[str, object]:
    """Check every key of one section; return field values with defaults filled in."""
    if not isinstance(table, dict):
        raise KeyProblem(section, f"{section} = {shown(table)} is {type_name(table)}; write it as a [{section}] "
                                  f"table")
    keys = BY_SECTION[section]
    for name in table:
        if name not in keys:
            homes = [s for s in SECTIONS if name in BY_SECTION[s]]
            if homes:
                hint = f"it belongs in [{homes[0]}]"
            elif name in TOP_LEVEL:
                hint = "it is a top-level key; write it before the first [section]"
            else:
                hint = suggestion(name, keys)
            raise KeyProblem(f"{section}.{name}", clauses(f"unknown key {section}.{one_line(name)}", hint))
    values = {}
    for name, key in keys.items():
        values[key.field_name] = check_value(key, table[name]) if name in table else key.default
    return values


def _build(raw: dict, source: str, base_dir: Path, default_name: str) -> Scenario:
    for name, value in raw.items():
        if name not in TOP_LEVEL and name not in SECTIONS:
            raise _unknown(name, value)
    top = {name: check_value(key, raw[name]) if name in raw else key.default for name, key in TOP_LEVEL.items()}
    sections = {name: SECTION_SPECS[name](**_section_values(name, raw.get(name, {}))) for name in SECTIONS}
    scenario = Scenario(name=top["name"] or default_name, description=top["description"], source=source,
                        base_dir=base_dir, text="", **sections)
    check_rules(scenario)
    return dataclasses.replace(scenario, text=scenario_to_toml(scenario))


def _located(problem: KeyProblem, text: str, label: str, touched: set[str]) -> ScenarioError:
    parts = re.sub(r"\[\d+\]$", "", problem.key).split(".")  # "record.worlds[1]" is written as record.worlds
    involved = [parts] + [key.split(".") for key in problem.also]
    if any(".".join(p[: i + 1]) in touched for p in involved for i in range(len(p))):
        return ScenarioError(problem.reason, file=label, key=problem.key, origin="override")
    line = None
    if len(parts) > 2 and problem.index is None:  # a field of an inline table or of a [section.table] table
        line = locate(text, ".".join(parts[:2]), parts[2])
    if line is None:
        section, name = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        line = locate(text, section, name, problem.index)
    if line is None:
        line = locate(text, parts[0])
    return ScenarioError(problem.reason, file=label, line=line, key=problem.key)


def load_scenario_text(text: str, source: str = "<text>", overrides: dict[str, object] | None = None,
                       base_dir: Path | None = None) -> Scenario:
    """Validate scenario TOML text (named source in errors); relative PNG paths are read from base_dir (cwd)."""
    label = _label(source)
    raw = _parse(text, label)
    touched = _apply(raw, dict(overrides or {}), label) if overrides else set()
    default_name = "scenario" if source.startswith("<") else Path(label).stem
    try:
        return _build(raw, source, Path.cwd() if base_dir is None else Path(base_dir), default_name)
    except KeyProblem as problem:
        raise _located(problem, text, label, touched) from None
