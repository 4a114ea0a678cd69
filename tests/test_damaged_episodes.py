"""Issue 13, rows 1, 2 and 11: each way a `complete` episode was found damaged is invalid for `verify` (exit 1, the
file named), `info` states one status for it, and undecodable content is one line (exit 2) in `info` and `replay`,
never a traceback or a huge allocation."""
import json
import shutil
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from tests.conftest import record_smoke
from tests.test_fuzz_episodes import cli


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> Path:
    """A complete smoke episode."""
    return record_smoke(tmp_path_factory.mktemp("damaged"), 4)


def cut_half(p: Path):
    p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])


def scribble_middle(p: Path):
    data = bytearray(p.read_bytes())
    n = len(data)
    data[n // 3:n // 2] = bytes((i * 73 + 11) % 256 for i in range(n // 2 - n // 3))
    p.write_bytes(data)


DAMAGE = {
    "zero-byte moves.arrow": ("moves.arrow", lambda p: p.write_bytes(b"")),
    "deleted moves.arrow": ("moves.arrow", Path.unlink),
    "deleted frames.arrow": ("frames.arrow", Path.unlink),
    "frames.arrow cut in half": ("frames.arrow", cut_half),
    "garbage curriculum.arrow": ("curriculum.arrow", lambda p: p.write_bytes(bytes(range(256)) * 8)),
    "random bytes inside metrics.arrow": ("metrics.arrow", scribble_middle),
}


@pytest.mark.parametrize("what", list(DAMAGE))
def test_a_damaged_complete_episode_is_invalid(episode, tmp_path, what):
    name, damage = DAMAGE[what]
    folder = tmp_path / "ep"
    shutil.copytree(episode, folder)
    damage(folder / name)
    for extra in ([], ["--resimulate"]):
        rc, out, err = cli("verify", folder, *extra)
        assert rc == 1 and "valid (" not in out and name in out, (what, out, err)
        assert "Traceback" not in err
    rc, out, err = cli("info", folder)
    assert "Traceback" not in err
    if rc == 0:  # readable: one status, which names the damage
        status = out.splitlines()[1]
        assert "damaged" in status and "partial" not in status and name in status, status
    else:  # undecodable: one line naming the file
        assert rc == 2 and err.count("\n") == 1 and name in err


def test_a_batch_declaring_an_absurd_size_is_refused_before_allocating(episode, tmp_path):
    """The ArrowMemoryError of row 2: a compressed buffer whose length prefix says exabytes."""
    folder = tmp_path / "ep"
    shutil.copytree(episode, folder)
    path = folder / "metrics.arrow"
    data = bytearray(path.read_bytes())
    source = pa.BufferReader(pa.py_buffer(bytes(data[8:])))
    reader = ipc.MessageReader.open_stream(source)
    reader.read_next_message()  # schema
    start = 8 + source.tell()
    batch = reader.read_next_message()
    body_at = start + 8 + len(batch.metadata.to_pybytes())  # continuation marker and length, then metadata
    body_at += (-body_at) % 8
    struct.pack_into("<q", data, body_at + 0, 6858125582828591616)  # the first buffer's uncompressed length
    path.write_bytes(data)
    rc, out, err = cli("verify", folder)
    assert rc == 1 and "metrics.arrow: record batch 0 declares 6858125582828" in out, out
    for args in (("info", folder), ("replay", folder, "--export", tmp_path / "x.png")):
        rc, out, err = cli(*args)
        assert rc == 2 and "metrics.arrow" in err and err.count("\n") == 1, (args, err)


def test_info_on_a_killed_writer_says_partial_not_damaged(episode, tmp_path):
    folder = tmp_path / "ep"
    shutil.copytree(episode, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(status="running", outcome="running", files=None, ticks=None)
    manifest.pop("files_sha256")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    cut_half(folder / "frames.arrow")
    rc, out, _ = cli("info", folder)
    assert rc == 0 and out.splitlines()[1].startswith("status    partial")
    rc, out, _ = cli("verify", folder)
    assert rc == 0 and "valid (partial" in out
