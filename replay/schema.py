"""The gridhanoi episode format, version 1: one folder per episode, a JSON manifest and Arrow IPC files.

Spec sheet (the long form, with examples, is docs/episode-format.md)

Folder           one episode; the writer refuses an existing non-empty folder.
manifest.json    JSON object. Written when recording starts with ``status = "running"`` and
                 ``outcome = "running"``; rewritten atomically (tmp file + os.replace) when it ends.
                 Writer keys: ``format`` ("gridhanoi-episode"), ``format_version`` (int), ``status``
                 ("running" | "complete" | "interrupted" | "error"), ``outcome`` (what the engine passes
                 at close: by convention ``{world: "complete" | "stalled" | "max_ticks" | "interrupted"}``),
                 ``files`` ({name: bytes}, sizes at close; null while running), ``started_at`` and
                 ``finished_at`` (ISO 8601, UTC), ``error`` (one line, only when status is "error").
                 Every other key is the engine's (see ENGINE_MANIFEST_KEYS).
layout.arrow     one row per cell, row-major (cell = row * G + col), written once at start:
                 cell i32, move i32 (-1: no task), tile i32, zone i16, difficulty f32, alive0 bool.
                 Schema metadata also holds ``gridhanoi.size`` (G) and ``gridhanoi.tile`` (t).
frames.arrow     one row per recorded tick per recorded world: tick i32, world i32,
                 state fixed_size_binary(G*G) (u8 per cell, row-major, codes in STATE_NAMES),
                 competence fixed_size_binary(G*G) (round(255 c) as u8), and, only when recording was
                 opened with confidence, confidence fixed_size_binary(G*G) (round(255 p-hat) as u8).
                 Schema metadata also holds ``gridhanoi.size``.
moves.arrow      one row per composed move: world i32, move i32, tick i32, disk i16, src i8, dst i8
                 (what was composed, right or wrong), wrong bool (differs from the task's move; since v2).
metrics.arrow    one row per tick per world. Columns are chosen by the engine (its schema, or the one
                 inferred from its first batch); STANDARD_METRICS lists the conventional ones.
curriculum.arrow one row per tick, world and zone: tick i32, world i32, zone i16, alpha f32, beta f32,
                 sample f32, reward f32 (NaN: the zone had no update this tick).

Every Arrow file is an IPC *file* (stream + footer), zstd-compressed buffers, one record batch per
writer call (frames: split so a batch decodes to about 1 MiB at most), and carries schema metadata
``gridhanoi.format_version``. An Arrow file only appears on disk with its first batch, so a missing or
empty file means "no rows yet".

Versioning: any change to a file, a column or a writer manifest key bumps FORMAT_VERSION; readers
refuse episodes with a newer version than theirs, and keep reading older ones.

Crash safety: every batch is flushed to the OS as soon as it is written, so a process killed at any
moment leaves files whose complete batches are readable: after the 8-byte magic ``ARROW1\\0\\0`` the
IPC file is a plain IPC stream, which the reader falls back to when the footer is missing, dropping
a truncated last batch. Such an episode is *partial*.
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_NAME = "gridhanoi-episode"
FORMAT_VERSION = 2  # 2: moves.arrow gained `wrong` (consensus mode can compose wrong moves)
VERSION_KEY = "gridhanoi.format_version"
SIZE_KEY = "gridhanoi.size"
TILE_KEY = "gridhanoi.tile"

MANIFEST = "manifest.json"
LAYOUT = "layout.arrow"
FRAMES = "frames.arrow"
MOVES = "moves.arrow"
METRICS = "metrics.arrow"
CURRICULUM = "curriculum.arrow"
ARROW_FILES = (LAYOUT, FRAMES, MOVES, METRICS, CURRICULUM)

ARROW_MAGIC = b"ARROW1\x00\x00"  # IPC file header: the stream format starts right after it

STATUSES = ("running", "complete", "interrupted", "error")
# Agent states: the u8 code in frames is the index; the metrics columns of the same names count agents in each state.
# kernels.constants.STATE_NAMES is the engine's copy (replay never imports the engine): tests/test_records.py asserts
# they are equal.
STATE_NAMES = ("idle", "working", "waiting", "success", "failure", "dead")

# Manifest keys the engine is expected to fill (none is required by the reader).
ENGINE_MANIFEST_KEYS = (
    "gridhanoi_version", "git_commit", "python", "taichi", "numpy", "arch", "device",
    "scenario_name", "scenario_text", "seed", "worlds", "recorded_worlds", "grid", "tile",
    "disks", "pegs", "frame_every", "ticks",
)


class EpisodeError(Exception):
    """An episode cannot be written or read; the message is one line that says what to change."""


class EpisodeDamaged(EpisodeError):
    """A folder with a readable manifest whose files are not what a writer wrote (cut, garbled, missing)."""


DIGESTS_KEY = "files_sha256"  # manifest: {name: sha256 hex} of every Arrow file at close (absent in older episodes)


def _metadata(**extra: int) -> dict[bytes, bytes]:
    """Return schema metadata carrying the format version and the given integer keys."""
    meta = {VERSION_KEY.encode(): str(FORMAT_VERSION).encode()}
    meta.update({key.encode(): str(int(value)).encode() for key, value in extra.items()})
    return meta


def with_version(schema: pa.Schema) -> pa.Schema:
    """Return the schema with ``gridhanoi.format_version`` added to its metadata."""
    meta = dict(schema.metadata or {})
    meta.update(_metadata())
    return schema.with_metadata(meta)


def version_of(schema: pa.Schema) -> int | None:
    """Return the format version stored in a schema's metadata, or None when absent."""
    raw = (schema.metadata or {}).get(VERSION_KEY.encode())
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def metadata_int(schema: pa.Schema, key: str) -> int | None:
    """Return an integer stored under ``key`` in a schema's metadata, or None."""
    raw = (schema.metadata or {}).get(key.encode())
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


LAYOUT_FIELDS = (
    pa.field("cell", pa.int32(), nullable=False),
    pa.field("move", pa.int32(), nullable=False),
    pa.field("tile", pa.int32(), nullable=False),
    pa.field("zone", pa.int16(), nullable=False),
    pa.field("difficulty", pa.float32(), nullable=False),
    pa.field("alive0", pa.bool_(), nullable=False),
)


def layout_schema(size: int, tile: int) -> pa.Schema:
    """Return the layout.arrow schema for a G×G grid of t×t tiles."""
    return pa.schema(LAYOUT_FIELDS, metadata=_metadata(**{SIZE_KEY: size, TILE_KEY: tile}))


def frames_schema(size: int, confidence: bool = False) -> pa.Schema:
    """Return the frames.arrow schema for a G×G grid, with or without the confidence column."""
    cells = pa.binary(size * size)
    fields = [
        pa.field("tick", pa.int32(), nullable=False),
        pa.field("world", pa.int32(), nullable=False),
        pa.field("state", cells, nullable=False),
        pa.field("competence", cells, nullable=False),
    ]
    if confidence:
        fields.append(pa.field("confidence", cells, nullable=False))
    return pa.schema(fields, metadata=_metadata(**{SIZE_KEY: size}))


def _required(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    """Return a schema of non-nullable columns carrying the format version."""
    return pa.schema([pa.field(name, type_, nullable=False) for name, type_ in columns], metadata=_metadata())


def moves_schema() -> pa.Schema:
    """Return the moves.arrow schema."""
    return _required(("world", pa.int32()), ("move", pa.int32()), ("tick", pa.int32()),
                     ("disk", pa.int16()), ("src", pa.int8()), ("dst", pa.int8()), ("wrong", pa.bool_()))


def curriculum_schema() -> pa.Schema:
    """Return the curriculum.arrow schema."""
    return _required(("tick", pa.int32()), ("world", pa.int32()), ("zone", pa.int16()), ("alpha", pa.float32()),
                     ("beta", pa.float32()), ("sample", pa.float32()), ("reward", pa.float32()))


# The conventional metrics.arrow columns. The engine may pass this schema, extend it or replace it;
# the writer stores whatever schema it is given. Counts marked "cumulative" run from tick 0.
STANDARD_METRICS = pa.schema([
    pa.field("tick", pa.int32()),            # tick the row describes (after its update)
    pa.field("world", pa.int32()),           # world index within the run
    pa.field("stage", pa.int16()),           # curriculum stage s (index into the stage radii)
    pa.field("radius", pa.float32()),        # stage radius R_s in difficulty units
    pa.field("n_active_zones", pa.int16()),  # zones the manager activated this tick
    *(pa.field(name, pa.int32()) for name in STATE_NAMES),  # agents with a task in each state this tick
    pa.field("attempts", pa.int64()),        # cumulative SLM attempts resolved
    pa.field("correct", pa.int64()),         # cumulative correct proposals
    pa.field("escalations", pa.int64()),     # cumulative escalations to the oracle
    pa.field("oracle_calls", pa.int64()),    # cumulative oracle calls counted
    pa.field("cost", pa.float64()),          # cumulative cost (attempt = 1, oracle call = oracle.cost)
    pa.field("moves_complete", pa.int32()),  # moves composed so far
    pa.field("prefix", pa.int32()),          # length of the complete prefix of the plan
    pa.field("mean_nll", pa.float32()),      # mean NLL of this tick's resolved attempts (NaN: none)
    pa.field("shared_skill", pa.list_(pa.float32())),  # S[q] per task category q
])
