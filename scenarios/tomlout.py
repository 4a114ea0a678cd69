"""Write a scenario as TOML text: the effective text (every key) or a commented file a person edits.

A small emitter for the value types a scenario holds (bool, int, float, str, lists, flat tables) so that no TOML
writer dependency is needed; tomllib reads back exactly what it writes.
"""
from __future__ import annotations

from scenarios.schema import KINDS, REQUIRED, SCHEMA, Key
from scenarios.tomlvalue import toml_value


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


def _value(scenario, key: Key):
    """Return the value a scenario holds for a key."""
    return getattr(scenario if not key.section else getattr(scenario, key.section), key.field_name)


def omitted_keys(scenario) -> set[str]:
    """Dotted names of the keys added later (Key.omit_default) left out of the effective text: those of a section
    whose added-later keys all hold their defaults."""
    later: dict[str, list[Key]] = {}
    for key in SCHEMA:
        if key.omit_default:
            later.setdefault(key.section, []).append(key)
    return {key.dotted for keys in later.values() if all(_value(scenario, k) == k.default for k in keys)
            for key in keys}


def scenario_to_toml(scenario, comments: bool = False, header: tuple[str, ...] = ()) -> str:
    """Return the scenario as TOML listing every key; comments=True adds a comment line per key.

    Without comments, keys added later that hold their defaults are left out (see omitted_keys): loading the text
    gives the same scenario, and scenarios written before those keys existed keep their text and hash.
    """
    out: list[str] = [f"# {line}".rstrip() for line in header]
    tables: list[str] = []  # [[section.key]] blocks go after the section's plain keys
    section = None
    omitted = set() if comments else omitted_keys(scenario)
    for key in SCHEMA:
        if key.dotted in omitted:
            continue
        if key.section != section:
            section = key.section
            out.extend(tables)
            tables = []
            if section:
                out += ["", f"[{section}]"] if out else [f"[{section}]"]
        value = _value(scenario, key)
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
