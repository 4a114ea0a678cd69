"""Check one scenario value against its schema key: type, range, allowed values; return it as a Python value."""
from __future__ import annotations

import difflib
import math
import re

from scenarios.ascii_art import ALIVE, DEAD, check_art
from scenarios.errors import KeyProblem, one_line
from scenarios.schema import REQUIRED, Key
from scenarios.spec import TABLE_SPECS
from scenarios.tomlvalue import toml_value

_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
               tuple: "an array", dict: "a table"}
_EXPECTED = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
             "list[int]": "an array of integers", "list[float]": "an array of numbers",
             "table": "an inline table", "list[table]": "an array of tables"}


def type_name(value: object) -> str:
    """Return how a value's type reads in a message ("an integer", "a string", …)."""
    return _TYPE_NAMES.get(type(value), "a " + type(value).__name__)


def shown(value: object, limit: int = 40) -> str:
    """Return a value as short one-line TOML for a message."""
    try:
        text = toml_value(value)
    except (TypeError, ValueError):  # inf, nan, huge ints, types TOML lacks
        text = repr(value) if not isinstance(value, int) else "a huge integer"
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggestion(word: str, options) -> str:
    """Return "did you mean 'x'?" for the closest option, or "" when none is close."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def clauses(*parts: str) -> str:
    """Join the non-empty parts of a message with "; " (just a space after a question)."""
    text = ""
    for part in filter(None, parts):
        if text.endswith("?"):
            part = part[:1].upper() + part[1:]
        text += ("" if not text else " " if text.endswith("?") else "; ") + part
    return text


def _expect(key: Key, kind: str = "") -> str:
    element = bool(kind) and kind != key.kind
    allowed = key.range_text(full=True, element=element)
    expected = _EXPECTED[kind or key.kind]
    return f"{expected} ({allowed})" if allowed else expected


def _in_range(key: Key, x: float) -> bool:
    if key.lo is not None and (x < key.lo or (key.lo_open and x == key.lo)):
        return False
    return key.hi is None or not (x > key.hi or (key.hi_open and x == key.hi))


def _scalar(key: Key, kind: str, value: object, dotted: str) -> object:
    """Check a bool, int, float or str value (also one element of a list)."""
    bad_type = f"{dotted} = {shown(value)} is {type_name(value)}; expected {_expect(key, kind)}"
    if kind == "bool":
        if not isinstance(value, bool):
            raise KeyProblem(dotted, bad_type)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise KeyProblem(dotted, bad_type)
        if (key.choices or key.pattern) and value not in key.choices and not (
                key.pattern and re.fullmatch(key.pattern, value)):
            raise KeyProblem(dotted, clauses(f"{dotted} = {shown(value)} is not allowed",
                                             suggestion(value, key.choices), f"use {key.range_text()}"))
        return value
    # Numbers: bool is an int in Python but never a number here; an int is accepted where a float is expected.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and isinstance(value, float)):
        raise KeyProblem(dotted, bad_type)
    if kind == "float":
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise KeyProblem(dotted, f"{dotted} = {shown(value)} is not a finite number; use {_expect(key, kind)}")
    if not _in_range(key, value):
        allowed = key.range_text(full=True, element=kind != key.kind)
        raise KeyProblem(dotted, f"{dotted} = {shown(value)} is out of range; use {allowed}")
    return value


def _table(key: Key, value: object, dotted: str, index: int | None = None) -> object:
    """Check an inline table (or one item of an array of tables) and build its spec dataclass."""
    where = dotted if index is None else f"{dotted}[{index}]"
    if not isinstance(value, dict):
        raise KeyProblem(dotted, f"{where} = {shown(value)} is {type_name(value)}; expected a table like "
                                 f"{{{', '.join(f.name + ' = …' for f in key.fields)}}}", index)
    fields = {f.name: f for f in key.fields}
    for name in value:
        if name not in fields:
            raise KeyProblem(f"{dotted}.{one_line(str(name))}",
                             clauses(f"{where}.{one_line(str(name))} is not a key of {dotted}",
                                     suggestion(name, fields), f"keys: {', '.join(fields)}"), index)
    out = {}
    for name, field in fields.items():
        if name in value:
            try:
                out[field.field_name] = _scalar(field, field.kind, value[name], f"{where}.{name}")
            except KeyProblem as problem:
                raise KeyProblem(f"{dotted}.{name}", problem.reason, index) from None
        elif field.default is REQUIRED:
            raise KeyProblem(dotted, f"{where} has no {name!r}; give every item "
                                     f"{', '.join(fields)}", index)
        else:
            out[field.field_name] = field.default
    return TABLE_SPECS[dotted](**out)


def _increasing(key: Key, items: tuple, dotted: str) -> None:
    if not items:
        raise KeyProblem(dotted, f"{dotted} is empty; give at least one radius, e.g. [0.5, 1.42]")
    for i in range(1, len(items)):
        if items[i] <= items[i - 1]:
            raise KeyProblem(dotted, f"{dotted} is not strictly increasing ({items[i - 1]!r} then {items[i]!r} at "
                                     f"position {i}); list each radius once, smallest first")


def _distinct(key: Key, items: tuple, dotted: str) -> None:
    seen: set[int] = set()
    for world in items:
        if world in seen:
            raise KeyProblem(dotted, f"{dotted} lists world {world} twice; list each world once")
        seen.add(world)


def _art(allowed: str, what: str):
    def check(key: Key, text: str, dotted: str) -> None:
        if text:
            problem = check_art(text, allowed, what)
            if problem:
                raise KeyProblem(dotted, f"{dotted}: the ASCII map {problem}")
    return check


def _single_line(key: Key, text: str, dotted: str) -> None:
    if one_line(text) != text:
        raise KeyProblem(dotted, f"{dotted} = {shown(text)} has a line break; write the {key.name} on one line")


EXTRA_CHECKS = {
    "name": _single_line,
    "curriculum.radii": _increasing,
    "record.worlds": _distinct,
    "layout.difficulty_ascii": _art("0123456789", "digits 0-9"),
    "faults.dead_ascii": _art(DEAD + ALIVE, "'#' or 'X' (dead) and '.' (alive)"),
}


def check_value(key: Key, value: object) -> object:
    """Return value converted to the key's Python type (lists → tuples, tables → specs) or raise KeyProblem."""
    dotted, kind = key.dotted, key.kind
    if kind in ("list[int]", "list[float]", "list[table]"):
        if not isinstance(value, (list, tuple)):
            raise KeyProblem(dotted, f"{dotted} = {shown(value)} is {type_name(value)}; expected {_expect(key)}")
        if kind == "list[table]":
            result = tuple(_table(key, item, dotted, i) for i, item in enumerate(value))
        else:
            result = tuple(_scalar(key, kind[5:-1], item, f"{dotted}[{i}]") for i, item in enumerate(value))
    elif kind == "table":
        result = _table(key, value, dotted)
    else:
        result = _scalar(key, kind, value, dotted)
    if dotted in EXTRA_CHECKS:
        EXTRA_CHECKS[dotted](key, result, dotted)
    return result
