"""Output paths given on the command line (--export, --out, --json FILE, --plot, --markdown), checked before any
work starts, so a typo costs the user nothing: one line, exit 2 (UsageError)."""
from __future__ import annotations

import os
from pathlib import Path

from engine.errors import UsageError
from replay.writer import pseudo_filesystem


def check_output_file(path: str | os.PathLike, flag: str, force: bool = False) -> Path:
    """Return ``path`` when a new file can be written there: its folder exists and is writable, it is not on a
    pseudo-filesystem, and it does not exist yet (unless ``force``); else raise UsageError naming ``flag``."""
    out = Path(path)
    where = f"{flag} {path}"
    if not str(path):
        raise UsageError(f"{flag} needs a file name")
    if out.is_dir():
        raise UsageError(f"{where}: that is a folder; give a file name inside it")
    if out.exists() or out.is_symlink():
        if not force:
            raise UsageError(f"{where}: the file exists; remove it, choose another name, or add --force to "
                             f"overwrite it")
    parent = out.parent if str(out.parent) else Path(".")
    _check_folder(parent, where)
    if out.exists() and not os.access(out, os.W_OK):
        raise UsageError(f"{where}: the file is read-only")
    return out


def check_output_folder(path: str | os.PathLike, flag: str) -> Path:
    """Return ``path`` when a folder can be created or written there (missing parents are created later);
    else raise UsageError naming ``flag``: a file in the way, no permission, a pseudo-filesystem."""
    out = Path(path)
    where = f"{flag} {path}"
    if out.exists() and not out.is_dir():
        raise UsageError(f"{where}: that is a file, not a folder; choose a folder")
    base = out
    while not base.exists() and base != base.parent:
        base = base.parent
    _check_folder(base if str(base) else Path("."), where)
    return out


def _check_folder(folder: Path, where: str) -> None:
    """Raise UsageError unless ``folder`` exists, is a folder, is writable and is not a pseudo-filesystem."""
    if not folder.exists():
        raise UsageError(f"{where}: the folder {folder} does not exist; create it first or choose another path")
    if not folder.is_dir():
        raise UsageError(f"{where}: {folder} is a file, not a folder")
    pseudo = pseudo_filesystem(folder)
    if pseudo:
        raise UsageError(f"{where}: {folder} is on the kernel's {pseudo} pseudo-filesystem, which holds no files; "
                         f"choose a folder on a disk")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: no permission to write in {folder}")
