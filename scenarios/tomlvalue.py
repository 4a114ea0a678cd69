"""TOML text for single values (strings, numbers, lists, flat tables): the emitter shared by the schema's
documentation and the scenario writer, with no dependency on either."""
from __future__ import annotations

import math

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
