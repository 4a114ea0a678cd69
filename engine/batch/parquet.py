"""Result files of `experiment` and `sweep`: one Parquet writer, atomic (temporary file, fsync, rename)."""
from __future__ import annotations

import json
import os

import numpy as np


def as_table(rows: list[dict] | dict[str, np.ndarray], metadata: dict[bytes, dict] | None = None):
    """Rows (list of dicts) or columns (dict of arrays) as an Arrow table, with JSON metadata under each key."""
    import pyarrow as pa

    table = pa.Table.from_pylist(rows) if isinstance(rows, list) else pa.table(rows)
    if metadata:
        extra = {key: json.dumps(value).encode() for key, value in metadata.items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    return table


def write_parquet(path: str | os.PathLike, table) -> None:
    """Write an Arrow table (or rows / columns, see `as_table`) as one zstd Parquet file, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from replay.atomic import replace_atomically

    if not isinstance(table, pa.Table):
        table = as_table(table)
    replace_atomically(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
