"""Atomic file replacement: readers (and a re-run after a kill) see the old file or the new one, never half of one.

The one helper behind the episode manifest, sweep result files, `failures.json` and experiment Parquet files.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def replace_atomically(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a hidden sibling of `path`, flush it to disk, then rename it over `path`.

    The sibling starts with a dot (dataset readers skip it) and names this process, so two writers never share
    one; when `write` raises, the sibling is removed and `path` is left as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
