"""Stream an episode to its folder from a background thread (format: replay/schema.py)."""

from __future__ import annotations

import datetime
import json
import os
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from replay import schema as S
from replay.atomic import create_exclusively, replace_atomically
from replay.schema import EpisodeError
from replay.reader import file_sha256

MIN_FREE_BYTES = 100 * 1024 * 1024
FRAME_BATCH_BYTES = 1 << 20  # decoded size of one frames batch: bounds the cost of a random seek
QUEUE_ITEMS = 16             # pending add_* calls before they block (backpressure)

_STOP = object()


def _one_line(exc: BaseException) -> str:
    """Return an exception as one line of text."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def _now() -> str:
    """Return the current UTC time as ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _cannot(folder: os.PathLike | str, reason: str) -> EpisodeError:
    """Return the one-line error for a folder an episode cannot be written to."""
    return EpisodeError(f"cannot write episode to {folder}: {reason}; choose another --out")


def _existing_ancestor(path: Path) -> Path:
    """Return the nearest path at or above ``path`` that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# Kernel pseudo-filesystems: they hold no files a user can write, and report 0 bytes free
PSEUDO_FILESYSTEMS = frozenset({"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
                                "securityfs", "configfs", "pstore", "bpf", "mqueue", "hugetlbfs", "fusectl",
                                "binfmt_misc", "efivarfs", "autofs", "nsfs"})


def pseudo_filesystem(path: os.PathLike | str) -> str | None:
    """Return the type of the kernel pseudo-filesystem ``path`` would live on (proc, sysfs, …), or None."""
    target = str(_existing_ancestor(Path(path)).resolve())
    best, kind = "", None
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].replace("\\040", " ")
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, kind = mount, parts[2]
    except OSError:  # no /proc (not Linux): nothing to tell
        return None
    return kind if kind in PSEUDO_FILESYSTEMS else None


def check_writable(folder: os.PathLike | str, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Raise EpisodeError unless an episode can be written to ``folder`` (empty or new, writable, disk space)."""
    path = Path(folder)
    pseudo = pseudo_filesystem(path)
    if pseudo:
        raise _cannot(folder, f"it is on the kernel's {pseudo} pseudo-filesystem, which holds no files")
    if path.exists():
        if not path.is_dir():
            raise _cannot(folder, "it is a file, not a folder")
        if any(path.iterdir()):
            raise _cannot(folder, "the folder exists and is not empty")
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise _cannot(folder, f"{base} is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise _cannot(folder, f"no write permission in {base}")
    if min_free_bytes > 0:
        free = shutil.disk_usage(base).free
        if free < min_free_bytes:
            raise _cannot(folder, f"only {free / 1e6:.0f} MB free on its disk (need {min_free_bytes / 1e6:.0f} MB)")


def _json_default(value: Any) -> Any:
    """Convert NumPy values and paths for json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"manifest value of type {type(value).__name__} is not JSON serialisable")


def _dump_json(path: Path, data: dict | list) -> None:
    """Write ``data`` as indented JSON to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=_json_default)
        f.write("\n")


def write_json_atomic(path: Path, data: dict | list) -> None:
    """Write ``data`` as JSON to ``path`` so that readers see either the old or the new file, never a mix."""
    replace_atomically(path, lambda tmp: _dump_json(tmp, data))


def _cells_array(cells: np.ndarray) -> pa.FixedSizeBinaryArray:
    """Return a (K, G*G) uint8 array as K fixed-size binary values without copying."""
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(cells.shape[1]), cells.shape[0], [None, pa.py_buffer(cells)])


def _column(value: Any, type_: pa.DataType | None) -> pa.Array:
    """Return one metrics column as an Arrow array; a 2-D ndarray becomes a list column."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value_type = type_.value_type if type_ is not None and pa.types.is_list(type_) else None
        flat = pa.array(value.reshape(-1), type=value_type)
        offsets = pa.array(np.arange(value.shape[0] + 1, dtype=np.int32) * np.int32(value.shape[1]))
        arr = pa.ListArray.from_arrays(offsets, flat)
        return arr.cast(type_) if type_ is not None and arr.type != type_ else arr
    return pa.array(value, type=type_)


def _copy_column(value: Any) -> Any:
    """Return a private copy of one column (an ndarray or a list)."""
    return np.array(value, copy=True) if isinstance(value, np.ndarray) else list(value)


def _vector(value: Any, dtype: type) -> np.ndarray:
    """Return a 1-D private copy of ``value`` with the given dtype."""
    return np.array(value, dtype=dtype, copy=True).reshape(-1)


class _ArrowSink:
    """One Arrow IPC file opened for writing; every batch reaches the OS before write returns."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        self.schema = schema
        self._file = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(
            self._file, schema, options=pa.ipc.IpcWriteOptions(compression="zstd"))

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one record batch and hand it to the OS, so a killed process keeps it."""
        self._writer.write_batch(batch)
        self._file.flush()

    def close(self) -> None:
        """Write the footer and close the file."""
        try:
            self._writer.close()
        finally:
            self._file.close()


class EpisodeWriter:
    """Record one episode: manifest and layout at once, frames/moves/metrics/curriculum from a background thread.

    ``add_*`` copy their arrays and enqueue them (blocking when QUEUE_ITEMS calls are pending); the thread
    turns each call into record batches and writes them. A failure in the thread is raised as EpisodeError
    by the next ``add_*``, ``flush`` or ``close``.
    """

    def __init__(self, folder: os.PathLike | str, manifest: dict, layout: dict[str, np.ndarray], size: int,
                 tile: int, metrics_schema: pa.Schema | None = None, confidence: bool = False):
        """Create the episode folder, write manifest.json and layout.arrow, and start the writer thread."""
        self.folder = Path(folder)
        self.size = int(size)
        self.tile = int(tile)
        self.confidence = bool(confidence)
        self.error: str | None = None
        self._closed = False
        layout_batch = self._layout_batch(layout)
        check_writable(self.folder, min_free_bytes=0)
        self._manifest = {
            "format": S.FORMAT_NAME, "format_version": S.FORMAT_VERSION, "status": "running",
            **{k: v for k, v in manifest.items()
               if k not in ("format", "format_version", "status", "outcome", "files")},
            "outcome": "running", "files": None, "started_at": _now(), "finished_at": None,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # the atomic claim: of two writers racing for one folder, exactly one creates the manifest, and it is
            # never seen empty; the layout then appears whole (renamed into place), so a following viewer that
            # finds both files can open the episode
            create_exclusively(self.folder / S.MANIFEST, lambda tmp: _dump_json(tmp, self._manifest))
        except FileExistsError:
            raise _cannot(folder, "another run is writing there") from None
        except OSError as exc:
            raise _cannot(folder, exc.strerror or _one_line(exc)) from None
        except TypeError as exc:
            raise EpisodeError(_one_line(exc)) from None
        try:
            replace_atomically(self.folder / S.LAYOUT, lambda tmp: self._write_layout(tmp, layout_batch))
        except OSError as exc:
            raise _cannot(folder, exc.strerror or _one_line(exc)) from None
        cells = self.size * self.size
        self._frame_rows = max(1, FRAME_BATCH_BYTES // (cells * (3 if self.confidence else 2)))
        self._sinks: dict[str, _ArrowSink] = {}
        self._metrics_schema = S.with_version(metrics_schema) if metrics_schema is not None else None
        self._schemas = {
            S.FRAMES: S.frames_schema(self.size, self.confidence),
            S.MOVES: S.moves_schema(),
            S.CURRICULUM: S.curriculum_schema(),
        }
        try:
            for name, sch in self._schemas.items():
                self._sinks[name] = _ArrowSink(self.folder / name, sch)
            if self._metrics_schema is not None:
                self._sinks[S.METRICS] = _ArrowSink(self.folder / S.METRICS, self._metrics_schema)
        except OSError as exc:
            self._close_sinks()
            raise _cannot(folder, _one_line(exc)) from None
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_ITEMS)
        self._thread = threading.Thread(target=self._run, name=f"episode-writer:{self.folder.name}", daemon=True)
        self._thread.start()

    # -- producer side -----------------------------------------------------------------------------
    def add_frames(self, ticks, worlds, state: np.ndarray, competence: np.ndarray,
                   confidence: np.ndarray | None = None) -> None:
        """Queue K recorded frames: ticks and worlds (K,), state/competence/confidence (K, G*G) uint8."""
        ticks = _vector(ticks, np.int32)
        worlds = _vector(worlds, np.int32)
        k = len(ticks)
        if len(worlds) != k:
            raise EpisodeError(f"add_frames: {k} ticks but {len(worlds)} worlds")
        if confidence is not None and not self.confidence:
            raise EpisodeError("add_frames: confidence given but the episode was opened with confidence=False")
        if confidence is None and self.confidence:
            raise EpisodeError("add_frames: the episode was opened with confidence=True; pass confidence")
        grids = [self._cells("state", state, k), self._cells("competence", competence, k)]
        if confidence is not None:
            grids.append(self._cells("confidence", confidence, k))
        if k:
            self._put((S.FRAMES, (ticks, worlds, grids)))

    def add_moves(self, world, move, tick, disk, src, dst, wrong=None) -> None:
        """Queue composed moves as 1-D arrays of equal length; wrong flags moves that differ from the task's
        (default: none, as in verified mode)."""
        if wrong is None:
            wrong = np.zeros(len(np.atleast_1d(move)), dtype=bool)
        self._put_columns(S.MOVES, dict(world=world, move=move, tick=tick, disk=disk, src=src, dst=dst,
                                        wrong=wrong))

    def add_curriculum(self, tick, world, zone, alpha, beta, sample, reward) -> None:
        """Queue curriculum rows (tick, world, zone, alpha, beta, sample, reward) as 1-D arrays."""
        self._put_columns(S.CURRICULUM, dict(tick=tick, world=world, zone=zone, alpha=alpha, beta=beta,
                                             sample=sample, reward=reward))

    def add_metrics(self, columns: dict[str, np.ndarray | list]) -> None:
        """Queue one batch of metrics rows, one entry per column (a 2-D array makes a list column)."""
        if self._metrics_schema is not None:
            expected = set(self._metrics_schema.names)
            if set(columns) != expected:
                missing = sorted(expected - set(columns))
                extra = sorted(set(columns) - expected)
                raise EpisodeError(f"add_metrics: columns differ from the metrics schema "
                                   f"(missing {missing}, unexpected {extra})")
        self._put((S.METRICS, {name: _copy_column(value) for name, value in columns.items()}))

    def flush(self) -> None:
        """Block until every queued call is written and on disk."""
        self._raise_if_failed()
        if not self._closed:
            self._queue.join()
        self._raise_if_failed()

    # -- end of recording ---------------------------------------------------------------------------
    def close(self, outcome: dict, status: str = "complete", extra: dict | None = None) -> None:
        """Write what is queued, close every file with its footer and rewrite the manifest with the outcome
        (plus any `extra` manifest keys known only at the end, such as the tick count)."""
        if self._closed:
            return
        if status not in ("complete", "interrupted", "error"):
            raise ValueError(f"status must be complete, interrupted or error, not {status!r}")
        self._manifest.update(extra or {})
        self._finish(outcome, status)
        self._raise_if_failed()

    def abort(self, status: str = "interrupted", outcome: dict | None = None) -> None:
        """Close after Ctrl-C or an error, like close, but never raise (a failure is kept in ``error``)."""
        if self._closed:
            return
        try:
            self._finish(outcome if outcome is not None else {}, status)
        except Exception as exc:  # noqa: BLE001 — abort runs while another error is being handled
            self.error = self.error or _one_line(exc)

    def __enter__(self) -> "EpisodeWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close({})
        else:
            self.abort("interrupted" if issubclass(exc_type, KeyboardInterrupt) else "error")
        return False

    # -- internals ---------------------------------------------------------------------------------
    def _cells(self, name: str, grid: np.ndarray, k: int) -> np.ndarray:
        """Return a private (K, G*G) uint8 copy of a stack of grids."""
        grid = np.asarray(grid)
        if grid.dtype != np.uint8:
            raise EpisodeError(f"add_frames: {name} must be uint8, not {grid.dtype}")
        cells = self.size * self.size
        if grid.size != k * cells:
            raise EpisodeError(f"add_frames: {name} has shape {grid.shape}, expected ({k}, {cells})")
        return np.array(grid.reshape(k, cells), order="C", copy=True)

    def _put_columns(self, name: str, columns: dict[str, Any]) -> None:
        """Queue a batch for a file with a fixed schema, after checking the column lengths."""
        sch = self._schemas[name]
        arrays = {f.name: _vector(columns[f.name], f.type.to_pandas_dtype()) for f in sch}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise EpisodeError(f"{name}: columns have different lengths {sorted(lengths)}")
        if lengths != {0}:
            self._put((name, arrays))

    def _put(self, item: tuple) -> None:
        """Enqueue one item for the writer thread, raising a failure it met first."""
        if self._closed:
            raise EpisodeError(f"episode writer for {self.folder} is closed")
        self._raise_if_failed()
        self._queue.put(item)

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise EpisodeError(self.error)

    def _run(self) -> None:
        """Writer thread: turn queued items into record batches until the stop marker."""
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                if self.error is None:  # after a failure, keep draining so producers never block
                    try:
                        self._write(*item)
                    except BaseException as exc:  # noqa: BLE001 — reported to the producer
                        self.error = f"episode writer failed on {item[0]} in {self.folder}: {_one_line(exc)}"
            finally:
                self._queue.task_done()

    def _write(self, name: str, payload: Any) -> None:
        """Write one queued item to its file."""
        if name == S.FRAMES:
            ticks, worlds, grids = payload
            sink = self._sinks[S.FRAMES]
            for start in range(0, len(ticks), self._frame_rows):
                rows = slice(start, start + self._frame_rows)
                columns = [pa.array(ticks[rows]), pa.array(worlds[rows])]
                columns += [_cells_array(np.ascontiguousarray(g[rows])) for g in grids]
                sink.write(pa.RecordBatch.from_arrays(columns, schema=sink.schema))
        elif name == S.METRICS:
            if self._metrics_schema is None:  # infer from the first batch, then hold to it
                inferred = pa.schema([pa.field(k, _column(v, None).type) for k, v in payload.items()])
                self._metrics_schema = S.with_version(inferred)
            sch = self._metrics_schema
            if S.METRICS not in self._sinks:
                self._sinks[S.METRICS] = _ArrowSink(self.folder / S.METRICS, sch)
            if set(payload) != set(sch.names):
                raise EpisodeError(f"metrics columns {sorted(payload)} differ from {sorted(sch.names)}")
            columns = [_column(payload[f.name], f.type) for f in sch]
            self._sinks[S.METRICS].write(pa.RecordBatch.from_arrays(columns, schema=sch))
        else:
            sink = self._sinks[name]
            sink.write(pa.RecordBatch.from_arrays([pa.array(payload[f.name]) for f in sink.schema],
                                                  schema=sink.schema))

    def _close_sinks(self) -> None:
        """Close every open file, keeping the first failure in ``error``."""
        for sink in self._sinks.values():
            try:
                sink.close()
            except Exception as exc:  # noqa: BLE001
                self.error = self.error or f"episode writer failed closing {sink.path}: {_one_line(exc)}"
        self._sinks = {}

    def _finish(self, outcome: dict, status: str) -> None:
        """Drain the queue, close the files and rewrite the manifest."""
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if S.METRICS not in self._sinks and self.error is None:  # no metrics: still leave a valid file
            try:
                sch = self._metrics_schema or S.with_version(pa.schema([]))
                self._sinks[S.METRICS] = _ArrowSink(self.folder / S.METRICS, sch)
            except OSError as exc:
                self.error = f"episode writer failed on {S.METRICS} in {self.folder}: {_one_line(exc)}"
        self._close_sinks()
        files, sums = {}, {}
        for name in S.ARROW_FILES:
            path = self.folder / name
            if path.exists():
                files[name] = path.stat().st_size
                sums[name] = file_sha256(path)  # lets `verify` tell any later change of a byte
        self._manifest.update(status="error" if self.error else status, outcome=outcome, files=files,
                              finished_at=_now())
        self._manifest[S.DIGESTS_KEY] = sums
        if self.error:
            self._manifest["error"] = self.error
        try:
            write_json_atomic(self.folder / S.MANIFEST, self._manifest)
        except (OSError, TypeError) as exc:
            self.error = self.error or f"cannot rewrite {self.folder / S.MANIFEST}: {_one_line(exc)}"

    @staticmethod
    def _write_layout(path: Path, batch: pa.RecordBatch) -> None:
        """Write the static layout as one Arrow file with its footer."""
        sink = _ArrowSink(path, batch.schema)
        try:
            sink.write(batch)
        finally:
            sink.close()

    def _layout_batch(self, layout: dict[str, np.ndarray]) -> pa.RecordBatch:
        """Return layout.arrow's single batch (one row per cell), checking every column."""
        sch = S.layout_schema(self.size, self.tile)
        cells = self.size * self.size
        columns = []
        for field in sch:
            if field.name not in layout:
                raise EpisodeError(f"layout lacks column {field.name!r}")
            arr = np.asarray(layout[field.name]).reshape(-1)
            if len(arr) != cells:
                raise EpisodeError(f"layout column {field.name!r} has {len(arr)} values, expected {cells}")
            columns.append(pa.array(arr.astype(field.type.to_pandas_dtype())))
        return pa.RecordBatch.from_arrays(columns, schema=sch)
