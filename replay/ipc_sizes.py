"""Read what an Arrow IPC record-batch message declares (rows, buffer sizes) before anything is decoded.

A flipped byte can make a message declare a decoded buffer of exabytes; pyarrow would try to allocate it.
Reading the flatbuffer header by hand (Message → RecordBatch → buffers, plus each compressed buffer's 8-byte
uncompressed-length prefix) lets the reader refuse such a batch in one line instead.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

_RECORD_BATCH = 3  # MessageHeader union tag of RecordBatch (Arrow's Message.fbs)


class HeaderError(ValueError):
    """The message header is not a well-formed record batch header."""


@dataclass(frozen=True)
class Declared:
    """Rows of a record batch and the bytes its buffers decode to, as its header says."""

    rows: int
    decoded_bytes: int


class _Flat:
    """Just enough of the flatbuffers wire format to walk tables, scalars and struct vectors."""

    def __init__(self, data: bytes):
        self.b = data

    def _unpack(self, fmt: str, pos: int):
        """Unpack ``fmt`` at ``pos``, refusing reads outside the header (a corrupt offset)."""
        if pos < 0 or pos + struct.calcsize(fmt) > len(self.b):
            raise HeaderError("offset outside the message header")
        return struct.unpack_from(fmt, self.b, pos)

    def u32(self, pos: int) -> int:
        """Return the little-endian uint32 at ``pos``."""
        return self._unpack("<I", pos)[0]

    def field(self, table: int, index: int) -> int | None:
        """Position of field ``index`` of the table at ``table`` (None when absent)."""
        vtable = table - self._unpack("<i", table)[0]
        size = self._unpack("<H", vtable)[0]
        if 4 + 2 * index >= size:
            return None
        offset = self._unpack("<H", vtable + 4 + 2 * index)[0]
        return table + offset if offset else None

    def table(self, pos: int) -> int:
        """Table referenced by the offset stored at ``pos``."""
        return pos + self.u32(pos)


def declared(metadata, body) -> Declared:
    """Return the rows and the decoded size of a record batch message (metadata and body as buffers, read
    in place); raise HeaderError when the header is malformed."""
    f = _Flat(memoryview(metadata))
    body = memoryview(body)
    root = f.u32(0)
    kind = f.field(root, 1)
    header = f.field(root, 2)
    if kind is None or header is None or f._unpack("<B", kind)[0] != _RECORD_BATCH:
        raise HeaderError("not a record batch header")
    batch = f.table(header)
    length_at = f.field(batch, 0)
    rows = f._unpack("<q", length_at)[0] if length_at is not None else 0
    if rows < 0:
        raise HeaderError(f"negative row count {rows}")
    compressed = f.field(batch, 3) is not None
    buffers_at = f.field(batch, 2)
    total = 0
    if buffers_at is not None:
        vector = f.table(buffers_at)
        count = f.u32(vector)
        for k in range(count):
            offset, length = f._unpack("<qq", vector + 4 + 16 * k)
            if offset < 0 or length < 0 or offset + length > len(body):
                raise HeaderError(f"buffer {k} lies outside the message body")
            size = length
            if compressed and length >= 8:
                prefix = struct.unpack_from("<q", body, offset)[0]
                size = length - 8 if prefix == -1 else prefix  # -1: stored uncompressed
                if size < 0:
                    raise HeaderError(f"buffer {k} declares a negative size")
            total += size
    return Declared(rows, total)
