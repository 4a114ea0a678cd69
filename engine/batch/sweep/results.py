"""Sweep results on disk: typed Arrow tables (written by engine/batch/parquet.py), finished-job checks, reading back."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from engine.batch.runner import Failure
    from engine.batch.sweep.jobs import Job

FORMAT_KEY = b"gridhanoi.sweep"

RESULT_TYPES = {  # columns whose type cannot be inferred from one file (they may be all null there)
    "plan_valid": "bool", "plan_error": "string", "errors": "int64", "first_error": "int64", "git_commit": "string",
    "ticks_to_complete": "float64",
    "accuracy": "float64", "mean_nll": "float64", "brier": "float64", "ece": "float64",
    "escalation_precision": "float64", "cost": "float64", "batch_wall_s": "float64",
}


def _cell(value, kind: str):
    """A param value as its column's type (lists and mixed values become their JSON text)."""
    if kind == "string" and not isinstance(value, str):
        return json.dumps(value)
    return float(value) if kind == "float64" else value


def result_table(job: Job, rows: list[dict], failed: list[Failure]):
    """Rows as an Arrow table with the sweep's fixed column types (so every file of the dataset agrees)."""
    import pyarrow as pa

    from engine.sim.metrics import stage_tick_columns

    swept = dict(job.param_kinds)
    kinds = {**RESULT_TYPES, **{k: "float64" for k in stage_tick_columns([], job.stage_columns)}, **swept}
    rows = [{k: _cell(v, kinds[k]) if k in swept else v for k, v in r.items()} for r in rows]
    table = pa.Table.from_pylist(rows)
    arrow = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}
    fields = []
    for f in table.schema:
        default = pa.string() if pa.types.is_null(f.type) else f.type
        fields.append(pa.field(f.name, arrow[kinds[f.name]] if f.name in kinds else default))
    meta = {"job": job.id, "sweep": job.sweep, "describe": job.describe(), "version": job.version,
            "arch": job.arch, "failed": [failure_record(f) for f in failed]}
    return table.cast(pa.schema(fields)).replace_schema_metadata({FORMAT_KEY: json.dumps(meta).encode()})


def failure_record(f: Failure) -> dict:
    """A failure as written to failures.json and a result file's metadata (the swept values as `params`)."""
    return {"job": f.job, "scenario": f.scenario, "params": f.labels, "seeds": f.seeds, "error": f.error}


def job_done(path: Path) -> bool:
    """Whether a job's result file exists and records no crashed run (a file with failures is run again)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return False
    try:
        meta = pq.read_schema(path).metadata or {}
        return not json.loads(meta.get(FORMAT_KEY, b"{}")).get("failed")
    except Exception:  # unreadable: run it again, the rename replaces it
        return False


def read_results(out: str | os.PathLike):
    """The sweep's results as one Arrow table (schemas unified, so files from an edited spec read too)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = sorted(Path(out, "results").glob("job-*.parquet"))
    if not files:
        return pa.table({})
    schema = pa.unify_schemas([pq.read_schema(f).remove_metadata() for f in files])
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet").to_table()
