"""Atomic file replacement: readers (and a re-run after a kill) see the old file or the new one, never half of one.

The helpers behind the episode manifest, sweep result files, `failures.json` and experiment Parquet files.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def _write_synced(tmp: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` and flush the file to disk."""
    write(tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_exclusively(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Create `path` whole with `write`, or raise FileExistsError when it already exists (the atomic claim).

    The content is written to a hidden sibling first and hard-linked into place, so of two racing writers exactly
    one succeeds and no reader ever sees an empty or half-written file. Where the filesystem has no hard links, the
    claim falls back to an exclusive create followed by the write."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    try:
        _write_synced(tmp, write)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (some FUSE and network filesystems)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_atomically(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a hidden sibling of `path`, flush it to disk, then rename it over `path`.

    The sibling starts with a dot (dataset readers skip it) and names this process, so two writers never share
    one; when `write` raises, the sibling is removed and `path` is left as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        _write_synced(tmp, write)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
