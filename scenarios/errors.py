"""The one-line scenario error, and where in a scenario file a key was written."""
from __future__ import annotations

import re

# Every character str.splitlines() breaks at, written as an escape: a message must never span two lines.
_ESCAPE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
                               | {"\n": "\\n", "\r": "\\r"})


def one_line(text: str) -> str:
    """Return text with every line-break character escaped, so it prints as one line."""
    return text.translate(_ESCAPE_BREAKS)


class ScenarioError(Exception):
    """A problem in a scenario a user can fix; str() is one line: where, which key, what is wrong, what to do."""

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, origin: str = "file"):
        self.reason = one_line(reason)
        self.file = file
        self.line = line
        self.key = key
        self.origin = origin  # "file", "override" or "default": where the offending value came from
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.file is None:
            return self.reason
        where = one_line(self.file)
        if self.origin == "override":
            where += " (override)"
        elif self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.reason}"


class KeyProblem(Exception):
    """Raised by value and cross-key checks; the loader turns it into a located ScenarioError."""

    def __init__(self, key: str, reason: str, index: int | None = None, also: tuple[str, ...] = ()):
        self.key = key  # dotted: "grid.tile", "agents.c0_patches.count", "faults.oracle_outage.to"
        self.reason = reason
        self.index = index  # item of an array of tables, when the problem is inside one
        self.also = also  # the other keys a cross-key rule involves: an override of any of them is the cause
        super().__init__(reason)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _unquote(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in dotted.split("."))


def locate(text: str, section: str, name: str | None = None, index: int | None = None) -> int | None:
    """Return the 1-based line where section.name (or [section] alone) is written, found by a simple scan."""
    current, seen_items, header_line = "", -1, None
    target = f"{section}.{name}" if name and section else (name or section)
    for number, line in enumerate(text.split("\n"), 1):  # TOML counts lines by \n only
        header = _HEADER.match(line)
        if header:
            current = _unquote(header.group(2))
            if header.group(1) == "[[" and current == target:
                seen_items += 1
                if index is not None and seen_items == index:
                    return number
            if current == (section if name else target) and header_line is None:
                header_line = number
            if name and current == target and index is None:
                return number
            continue
        assign = _ASSIGN.match(line)
        if not assign:
            continue
        key = _unquote(assign.group(1))
        if name is None:
            if current == "" and (key == section or key.startswith(section + ".")):
                return number
        elif (current == section and key == name) or (current == "" and key == target):
            return number
    return header_line
