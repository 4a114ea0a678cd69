"""Open a recorded episode for random access, including one whose writer was killed (format: replay/schema.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from replay import schema as S
from replay.ipc_sizes import HeaderError, declared
from replay.schema import EpisodeDamaged, EpisodeError


def _newer(version: int) -> EpisodeError:
    """Return the error for an episode written by a newer gridhanoi."""
    return EpisodeError(f"episode format {version} is newer than this gridhanoi reads ({S.FORMAT_VERSION}); "
                        f"upgrade gridhanoi")


def _one_line(exc: BaseException) -> str:
    """Return an exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


# What a decoding failure of Arrow content looks like: pyarrow's own errors (ArrowInvalid, the OSError of a
# failed zstd frame, ArrowMemoryError for an absurd size), plus the KeyError/TypeError/IndexError of a schema
# that lacks or mistypes a column the reader needs.
DECODE_ERRORS = (pa.ArrowException, OSError, MemoryError, ValueError, KeyError, TypeError, IndexError)


def _row_bytes(schema: pa.Schema) -> int:
    """Return an upper bound on the decoded bytes of one row of ``schema`` (validity bits included)."""
    total = 0
    for field in schema:
        t = field.type
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            total += 8 + 8 * MAX_LIST_ITEMS
        elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t):
            total += 8 + MAX_TEXT_BYTES
        else:
            try:
                total += max(1, t.bit_width // 8) + 1
            except ValueError:  # a nested type this format never writes
                total += 8 + MAX_TEXT_BYTES
    return total + 16


MAX_LIST_ITEMS = 256  # longest list value a metrics column holds (shared skill per task category)
MAX_TEXT_BYTES = 4096


def proc_bytes(key: str, path: str = "/proc/meminfo") -> int | None:
    """Return a "Key: N kB" figure of a /proc file in bytes (MemAvailable, VmRSS …), None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_bytes() -> int:
    """Return the memory available to this process (MemAvailable), or 1 TiB where it cannot be read."""
    have = proc_bytes("MemAvailable")
    return 1 << 40 if have is None else have


class ArrowLog:
    """One Arrow IPC file of an episode, read as the stream that follows its 8-byte magic.

    The file is memory-mapped and its messages are located without decoding them, so a file whose footer
    never got written (killed writer) reads like a closed one; a truncated last message is dropped and
    counted in ``dropped``. ``complete`` tells whether the footer is there. Content that cannot be what a
    writer wrote (a header declaring more than the schema allows, a failed decode) is kept in ``damage``
    and raised as EpisodeError naming the file when the rows are read.
    """

    def __init__(self, path: Path, empty_schema: pa.Schema):
        """Map ``path``; ``empty_schema`` stands in while the file holds no schema yet (missing or empty)."""
        self.path = path
        self.empty_schema = empty_schema
        self.load()

    def load(self) -> None:
        """(Re)read the file from disk: locate its schema and complete record batches."""
        self.schema = self.empty_schema
        self.complete = False
        self.dropped = 0
        self.damage: str | None = None
        self.footer_batches: int | None = None
        self.messages: list[ipc.Message] = []
        self._buf: pa.Buffer | None = None
        self._end = 0
        try:
            self.nbytes = self.path.stat().st_size
        except FileNotFoundError:
            self.nbytes = -1
            return
        except OSError as exc:
            raise EpisodeError(f"cannot read {self.path}: {_one_line(exc)}") from None
        if self.nbytes == 0:
            return
        try:
            buf = pa.memory_map(str(self.path)).read_buffer()
        except (OSError, pa.ArrowException) as exc:
            raise EpisodeError(f"cannot read {self.path}: {_one_line(exc)}") from None
        magic = buf.to_pybytes() if buf.size < 8 else buf.slice(0, 8).to_pybytes()
        if not S.ARROW_MAGIC.startswith(magic[:8]):
            raise EpisodeDamaged(f"{self.path} is not an Arrow IPC file (wrong magic bytes)")
        if buf.size <= 8:
            self.dropped = 1 if buf.size < 8 else 0
            return
        self._buf = buf
        self._end = 8
        source = pa.BufferReader(buf.slice(8))
        messages = ipc.MessageReader.open_stream(source)
        limit = available_bytes() // 2
        while True:
            try:
                message = messages.read_next_message()
            except StopIteration:  # end-of-stream marker, or the data ends on a message boundary
                break
            except (pa.ArrowException, OSError, ValueError):  # a message cut short by a killed writer
                self.dropped += 1
                break
            if message.type == "schema":
                try:
                    self.schema = ipc.read_schema(message)
                    problem = self._unexpected(self.schema)
                except DECODE_ERRORS as exc:
                    problem = f"unreadable schema ({_one_line(exc)})"
                if problem:
                    self.schema, self.damage = self.empty_schema, f"{self.path}: {problem}"
                    break
                version = S.version_of(self.schema)
                if version is None:
                    raise EpisodeDamaged(f"{self.path} has no {S.VERSION_KEY}; it is not a gridhanoi episode file")
                if version > S.FORMAT_VERSION:
                    raise _newer(version)
            elif message.type == "record batch":
                problem = self._implausible(message, limit)
                if problem:
                    self.damage = f"{self.path}: record batch {len(self.messages)} {problem}"
                    break
                self.messages.append(message)
            self._end = 8 + source.tell()
        if self.damage is None and buf.size >= 8 + 6 and buf.slice(buf.size - 6).to_pybytes() == b"ARROW1":
            try:
                self.footer_batches = ipc.open_file(buf).num_record_batches
                self.complete = self.footer_batches == len(self.messages)
            except DECODE_ERRORS:
                self.complete = False

    def _unexpected(self, schema: pa.Schema) -> str | None:
        """Say how a schema differs from the one this file must have (None when it fits); metrics columns are the
        engine's choice, so only their names are checked for being text."""
        names = schema.names  # raises on names that are not UTF-8
        if len(set(names)) != len(names):
            return "schema names a column twice"
        if self.empty_schema.names and names != self.empty_schema.names:
            # frames: confidence only when recording asked for it; moves: wrong since format 2 (absent in 1)
            optional = {"confidence", "wrong"}
            if [n for n in names if n not in optional] != [n for n in self.empty_schema.names if n not in optional]:
                return f"columns {names} are not this file's {self.empty_schema.names}"
        for field in schema:
            if field.name in self.empty_schema.names:
                want = self.empty_schema.field(field.name).type
                if field.type != want and not (pa.types.is_fixed_size_binary(want)
                                               and pa.types.is_fixed_size_binary(field.type)):
                    return f"column {field.name} is {field.type}, not {want}"
        return None

    def _implausible(self, message: ipc.Message, limit: int) -> str | None:
        """Say why a record batch cannot be one a writer of this schema wrote (None when it can be)."""
        try:
            d = declared(message.metadata, message.body)
        except HeaderError as exc:
            return f"has a malformed header ({exc})"
        row_bytes = _row_bytes(self.schema)
        if d.rows * row_bytes > limit:
            return (f"declares {d.rows} rows ({d.rows * row_bytes / 1e9:.1f} GB decoded), more than this machine "
                    f"has memory for; the file is corrupt")
        if d.decoded_bytes > d.rows * row_bytes + 4096:
            return (f"declares {d.decoded_bytes} decoded bytes for {d.rows} rows of at most {row_bytes} bytes; "
                    f"the file is corrupt")
        return None

    @property
    def exists(self) -> bool:
        """Tell whether the file is on disk."""
        return self.nbytes >= 0

    def _raise_damage(self) -> None:
        if self.damage is not None:
            raise EpisodeDamaged(self.damage)

    def batch(self, i: int) -> pa.RecordBatch:
        """Decode record batch ``i`` (all columns)."""
        self._raise_damage()
        try:
            batch = ipc.read_record_batch(self.messages[i], self.schema)
            batch.validate()
            return batch
        except DECODE_ERRORS as exc:
            raise EpisodeDamaged(f"{self.path}: cannot decode record batch {i} ({_one_line(exc)})") from None

    def scan(self, columns: list[str] | None = None):
        """Yield the record batches in order, decoding only ``columns`` (all when None)."""
        self._raise_damage()
        if not self.messages:
            return
        try:
            fields = None if columns is None else [self.schema.get_field_index(c) for c in columns]
            if fields is not None and min(fields) < 0:
                missing = [c for c, i in zip(columns, fields) if i < 0]
                raise KeyError(f"no column {', '.join(missing)}")
            options = ipc.IpcReadOptions(included_fields=fields) if fields is not None else None
            reader = ipc.open_stream(self._buf.slice(8, self._end - 8), options=options)
            for batch in reader:
                batch.validate()
                yield batch
        except DECODE_ERRORS as exc:
            raise EpisodeDamaged(f"{self.path}: cannot decode ({_one_line(exc)})") from None

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """Return the complete batches as one table (only ``columns`` when given)."""
        schema = self.schema
        try:
            if columns is not None:
                schema = pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)
        except KeyError as exc:
            raise EpisodeDamaged(f"{self.path}: no column {_one_line(exc)}") from None
        batches = list(self.scan(columns))
        return pa.Table.from_batches(batches, schema=batches[0].schema if batches else schema)


@dataclass(frozen=True)
class Frame:
    """One recorded frame: the nearest recorded tick at or before the requested one."""

    tick_requested: int
    tick_shown: int
    exact: bool
    state: np.ndarray                 # (G, G) uint8 state codes (schema.STATE_NAMES)
    competence: np.ndarray            # (G, G) float32 in [0, 1]
    confidence: np.ndarray | None     # (G, G) float32 in [0, 1], when recorded


@dataclass(frozen=True)
class _WorldIndex:
    ticks: np.ndarray   # sorted unique recorded ticks
    batch: np.ndarray   # record batch holding each tick's frame
    row: np.ndarray     # row inside that batch


def _cells(array: pa.FixedSizeBinaryArray) -> np.ndarray:
    """Return a fixed-size binary column as a (K, width) uint8 view of its data buffer."""
    width = array.type.byte_width
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    return data[array.offset * width:(array.offset + len(array)) * width].reshape(len(array), width)


class Episode:
    """A recorded episode opened for reading: tables, and random access to frames by world and tick."""

    def __init__(self, folder: Path, manifest: dict):
        """Use Episode.open(folder)."""
        self.folder = folder
        self.manifest = manifest
        layout = ArrowLog(folder / S.LAYOUT, pa.schema(S.LAYOUT_FIELDS))
        if not layout.messages:
            raise EpisodeError(f"{folder} is not a readable episode: {S.LAYOUT} is missing or empty")
        self._layout = layout
        self.size = S.metadata_int(layout.schema, S.SIZE_KEY) or 0
        self.tile = S.metadata_int(layout.schema, S.TILE_KEY) or 0
        if self.size <= 0:
            raise EpisodeError(f"{layout.path} has no {S.SIZE_KEY} in its metadata")
        if layout.messages and self.size * self.size > 1 << 26:
            raise EpisodeError(f"{layout.path} says the grid is {self.size}×{self.size}; the file is corrupt")
        self._logs = {
            S.FRAMES: ArrowLog(folder / S.FRAMES, S.frames_schema(self.size)),
            S.MOVES: ArrowLog(folder / S.MOVES, S.moves_schema()),
            S.METRICS: ArrowLog(folder / S.METRICS, S.with_version(pa.schema([]))),
            S.CURRICULUM: ArrowLog(folder / S.CURRICULUM, S.curriculum_schema()),
        }
        frames = self._logs[S.FRAMES].schema
        for name in ("state", "competence"):
            i = frames.get_field_index(name)
            width = getattr(frames.field(i).type, "byte_width", None) if i >= 0 else None
            if width != self.size * self.size:
                raise EpisodeError(f"{self.folder / S.FRAMES}: column {name} holds {width} cells per frame, not "
                                   f"the {self.size}×{self.size} of layout.arrow; the file is corrupt")
        self._index_frames()

    @classmethod
    def open(cls, folder: os.PathLike | str) -> "Episode":
        """Open an episode folder; raise EpisodeError (one line) when it is not a readable episode."""
        path = Path(folder)
        if path.exists() and not path.is_dir():
            raise EpisodeError(f"{folder} is a file, not an episode: an episode is a folder holding "
                               f"{S.MANIFEST} and Arrow files (the --out of `gridhanoi run`)")
        if not path.is_dir():
            raise EpisodeError(f"{folder}: no such episode folder")
        manifest = _read_manifest(path)
        try:
            return cls(path, manifest)
        except EpisodeDamaged:
            raise
        except EpisodeError as exc:
            if "newer than this gridhanoi" in str(exc):
                raise
            raise EpisodeDamaged(str(exc)) from None
        except DECODE_ERRORS as exc:
            raise EpisodeDamaged(f"cannot read episode {folder}: {_one_line(exc)}") from None

    # -- status -------------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """Return the manifest status: running, complete, interrupted or error."""
        return str(self.manifest.get("status", "running"))

    @property
    def partial(self) -> bool:
        """Tell whether the episode lacks its end: writer still running or killed, or a file without footer."""
        return self.status == "running" or not all(log.complete for log in self._logs.values())

    @property
    def dropped_batches(self) -> int:
        """Return how many truncated trailing batches were left out."""
        return sum(log.dropped for log in self._logs.values())

    def file_problems(self, digests: bool = True) -> list[str]:
        """Return how the files differ from what the manifest claims (empty when they match).

        A closed episode (status complete, interrupted or error) claims every file it lists, at that size,
        with a footer, and (when the manifest has them) with those SHA-256 digests; a running one claims
        nothing, its files are checked only for damage inside what is there.
        """
        logs = {S.LAYOUT: self._layout, **self._logs}
        problems = [f"{log.damage}" for log in logs.values() if log.damage]
        if self.status == "running":
            return problems
        if self.status not in S.STATUSES:
            return problems + [f"{S.MANIFEST}: status {self.status!r} is not one of {', '.join(S.STATUSES)}"]
        files = self.manifest.get("files")
        if not isinstance(files, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                  for v in files.values()):
            return problems + [f"{S.MANIFEST} says {self.status} but has no files table of sizes"]
        for name in S.ARROW_FILES:
            if name not in files:
                if name in logs and logs[name].exists:
                    problems.append(f"{name} is on disk but the manifest does not list it")
                continue
            log = logs[name]
            if not log.exists:
                problems.append(f"{name} is missing (the manifest lists {files[name]} bytes)")
            elif log.nbytes != files[name]:
                problems.append(f"{name} has {log.nbytes} bytes, the manifest says {files[name]}")
            elif not log.damage and (not log.complete or log.dropped):
                problems.append(f"{name} lacks its footer or ends in a cut batch although the writer closed it")
        for name in files:
            if name not in S.ARROW_FILES:
                problems.append(f"the manifest lists {name!r}, which is not a file of this format")
        sums = self.manifest.get(S.DIGESTS_KEY)
        if digests and sums is not None:
            if not isinstance(sums, dict):
                problems.append(f"{S.MANIFEST}: {S.DIGESTS_KEY} is not a table of digests")
            else:
                for name, expected in sums.items():
                    if name in S.ARROW_FILES and logs[name].exists and file_sha256(logs[name].path) != expected:
                        problems.append(f"{name}: its bytes changed after the episode was closed (SHA-256 differs "
                                        f"from the manifest's)")
        return problems

    def file_sizes(self) -> dict[str, int]:
        """Return the size in bytes of every Arrow file on disk."""
        logs = {S.LAYOUT: self._layout, **self._logs}
        return {name: log.nbytes for name, log in logs.items() if log.exists}

    # -- tables -------------------------------------------------------------------------------------
    def layout(self) -> pa.Table:
        """Return the static layout: one row per cell."""
        return self._layout.read()

    @property
    def metrics_schema(self) -> pa.Schema:
        """Return the schema of metrics.arrow (no fields while no metrics were written)."""
        return self._logs[S.METRICS].schema

    def metrics(self, columns: list[str] | None = None) -> pa.Table:
        """Return the metrics table (one row per tick per world)."""
        return self._logs[S.METRICS].read(columns)

    def moves(self) -> pa.Table:
        """Return the composed moves table."""
        return self._logs[S.MOVES].read()

    def curriculum(self) -> pa.Table:
        """Return the curriculum table (one row per tick, world and zone)."""
        return self._logs[S.CURRICULUM].read()

    # -- frames -------------------------------------------------------------------------------------
    def worlds(self) -> list[int]:
        """Return the worlds that have recorded frames."""
        return sorted(self._index)

    def frame_count(self) -> int:
        """Return the number of recorded frames over all worlds."""
        return sum(len(idx.ticks) for idx in self._index.values())

    def frame_ticks(self, world: int) -> np.ndarray:
        """Return the sorted recorded ticks of a world."""
        return self._world(world).ticks.copy()

    def frame(self, world: int, tick: int) -> Frame:
        """Return the nearest recorded frame at or before ``tick`` (the first frame when ``tick`` precedes it)."""
        idx = self._world(world)
        j = max(int(np.searchsorted(idx.ticks, tick, side="right")) - 1, 0)
        grids = self._decoded(int(idx.batch[j]))
        row = int(idx.row[j])
        g = self.size
        scale = np.float32(255)
        confidence = grids.get("confidence")
        return Frame(
            tick_requested=int(tick),
            tick_shown=int(idx.ticks[j]),
            exact=bool(idx.ticks[j] == tick),
            state=grids["state"][row].reshape(g, g).copy(),
            competence=grids["competence"][row].reshape(g, g).astype(np.float32) / scale,
            confidence=None if confidence is None else confidence[row].reshape(g, g).astype(np.float32) / scale,
        )

    def refresh(self) -> bool:
        """Re-read the manifest and every file that changed on disk (live following); True if anything did."""
        changed = False
        try:
            manifest = _read_manifest(self.folder)
        except EpisodeError:
            manifest = self.manifest
        if manifest != self.manifest:
            self.manifest, changed = manifest, True
        for name, log in self._logs.items():
            try:
                size = (self.folder / name).stat().st_size
            except FileNotFoundError:
                size = -1
            if size != log.nbytes:
                log.load()
                changed = True
                if name == S.FRAMES:
                    self._index_frames()
        return changed

    # -- internals ----------------------------------------------------------------------------------
    def _world(self, world: int) -> _WorldIndex:
        """Return a world's frame index, or raise a one-line error naming the recorded worlds."""
        try:
            return self._index[int(world)]
        except KeyError:
            raise EpisodeError(f"world {world} has no recorded frames (recorded: {self.worlds()})") from None

    def _index_frames(self) -> None:
        """Build tick → (batch, row) per world from the tick and world columns only."""
        self._cache: tuple[int, dict[str, np.ndarray]] | None = None
        parts = [(i, b.column(0).to_numpy(), b.column(1).to_numpy())
                 for i, b in enumerate(self._logs[S.FRAMES].scan(["tick", "world"]))]
        self._index: dict[int, _WorldIndex] = {}
        if not parts:
            return
        ticks = np.concatenate([t for _, t, _ in parts])
        worlds = np.concatenate([w for _, _, w in parts])
        batch = np.concatenate([np.full(len(t), i, dtype=np.int32) for i, t, _ in parts])
        row = np.concatenate([np.arange(len(t), dtype=np.int32) for _, t, _ in parts])
        for w in np.unique(worlds):
            sel = np.flatnonzero(worlds == w)
            sel = sel[np.argsort(ticks[sel], kind="stable")]
            t = ticks[sel]
            last = np.append(t[1:] != t[:-1], True)  # a tick recorded twice: the later row wins
            sel = sel[last]
            self._index[int(w)] = _WorldIndex(ticks[sel], batch[sel], row[sel])

    def _decoded(self, i: int) -> dict[str, np.ndarray]:
        """Return batch ``i``'s grid columns as (K, G*G) uint8 arrays, caching the last batch decoded."""
        if self._cache is None or self._cache[0] != i:
            batch = self._logs[S.FRAMES].batch(i)
            grids = {name: _cells(batch.column(name)) for name in ("state", "competence", "confidence")
                     if name in batch.schema.names}
            self._cache = (i, grids)
        return self._cache[1]


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict:
    """Read and check manifest.json; raise EpisodeError when missing, unreadable or too new."""
    path = folder / S.MANIFEST
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise EpisodeError(f"{folder} is not a gridhanoi episode (no {S.MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise EpisodeError(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != S.FORMAT_NAME:
        raise EpisodeError(f"{folder} is not a gridhanoi episode ({S.MANIFEST} has no format "
                           f"\"{S.FORMAT_NAME}\")")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise EpisodeError(f"{path} has no integer format_version")
    if version > S.FORMAT_VERSION:
        raise _newer(version)
    return manifest
