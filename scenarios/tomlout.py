"""Write a scenario as TOML text: the effective text (every key) or a commented file a person edits.

A small emitter for the value types a scenario holds (bool, int, float, str, lists, flat tables) so that no TOML
writer dependency is needed; tomllib reads back exactly what it writes.
"""
from __future__ import annotations

import math

from scenarios.schema import KINDS, REQUIRED, SCHEMA, Key

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _is_control(c: str) -> bool:
    return c < " " or c == "\x7f"


def toml_string(text: str) -> str:
    """Return text as a TOML string: a multi-line literal for ASCII art, else an escaped basic string."""
    if "\n" in text and "'" not in text and not any(_is_control(c) and c not in "\n\t" for c in text):
        return "'''\n" + text + "'''"  # tomllib drops the newline right after the opening quotes
    out = []
    for c in text:
        out.append(_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if _is_control(c) else c))
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    """Return a Python value (bool, int, finite float, str, list/tuple, flat dict) as inline TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r}")
        return repr(value)  # shortest text that reads back as the same double, always with '.' or 'e'
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def table_dict(key: Key, item: object) -> dict[str, object]:
    """Return one spec dataclass (PatchSpec, DieAtSpec, OutageSpec) as a dict keyed by its TOML names."""
    return {f.name: getattr(item, f.field_name) for f in key.fields}


def _comment(key: Key) -> str:
    allowed = key.range_text()
    kind = KINDS[key.kind] if not allowed else f"{KINDS[key.kind]}, {allowed}"
    return f"# {key.doc} — {kind}"


def _example(key: Key) -> dict[str, object]:
    """Return a filled-in example item for a table key, for the commented template."""
    examples = {"tick": 100, "share": 0.1, "from": 40, "to": 120}
    return {f.name: f.default if f.default is not REQUIRED else examples[f.name] for f in key.fields}


def scenario_to_toml(scenario, comments: bool = False, header: tuple[str, ...] = ()) -> str:
    """Return the scenario as TOML listing every key; comments=True adds a comment line per key."""
    out: list[str] = [f"# {line}".rstrip() for line in header]
    tables: list[str] = []  # [[section.key]] blocks go after the section's plain keys
    section = None
    for key in SCHEMA:
        if key.section != section:
            section = key.section
            out.extend(tables)
            tables = []
            if section:
                out += ["", f"[{section}]"] if out else [f"[{section}]"]
        value = getattr(scenario if not section else getattr(scenario, section), key.field_name)
        if key.kind == "list[table]":
            if comments:
                tables += ["", f"# {key.doc}; add one block per item"]
            for item in value:
                tables += ["", f"[[{key.dotted}]]"]
                tables += [f"{k} = {toml_value(v)}" for k, v in table_dict(key, item).items()]
            if comments and not value:
                tables += [f"# [[{key.dotted}]]"] + [f"# {k} = {toml_value(v)}" for k, v in _example(key).items()]
            continue
        if comments:
            out.append(_comment(key))
        if key.kind == "table":
            if value is not None:
                out.append(f"{key.name} = {toml_value(table_dict(key, value))}")
            elif comments:
                out.append(f"# {key.name} = {toml_value(_example(key))}")
            continue
        out.append(f"{key.name} = {toml_value(value)}")
    out.extend(tables)
    return "\n".join(out) + "\n"
