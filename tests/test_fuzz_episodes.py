"""Damaged episodes (issue 13): a seeded fuzz over a real recorded episode.

Each case damages a copy of a small `smoke` episode the way disks, people and killed processes do (a file cut at a
random offset, random bytes overwritten, a file deleted, emptied or swapped with another, a manifest key edited or
removed) and runs `info`, `verify` and `replay --export` in-process. Every command must end with an exit code in
{0, 1, 2} and no traceback, and `verify` must never call valid an episode whose Arrow bytes changed after its
`complete` manifest was written.
"""
import contextlib
import io
import json
import random
import shutil
from pathlib import Path

import pytest

from engine.cli.main import main
from replay import schema as S
from tests.conftest import record_smoke

CASES = 60
HOSTILE = (-1, 0, 2**32, 2**63, 10**30, 1.5, "x", "", None, True, [], {}, [0, 0], {"0": "complete"})
MANIFEST_KEYS = ("status", "worlds", "seed", "disks", "pegs", "grid", "ticks", "frame_every", "recorded_worlds",
                 "outcome", "files", S.DIGESTS_KEY, "moves_total", "format_version", "scenario_text")


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> Path:
    """A complete smoke episode (51 ticks, a few kB), recorded once for every case."""
    return record_smoke(tmp_path_factory.mktemp("fuzz"), 2)


def damage(folder: Path, rng: random.Random) -> tuple[str, bool]:
    """Damage the episode in ``folder`` one way; return what was done and whether any Arrow file's bytes changed."""
    arrow = [folder / name for name in S.ARROW_FILES]
    before = {p.name: p.read_bytes() for p in arrow}
    kind = rng.choice(["truncate", "flip", "flip", "scribble", "delete", "empty", "swap", "manifest", "manifest"])
    target = rng.choice(arrow)
    data = bytearray(before[target.name])
    if kind == "truncate":
        target.write_bytes(data[:rng.randrange(len(data))])
    elif kind == "flip":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        target.write_bytes(data)
    elif kind == "scribble":  # a run of random bytes somewhere inside (a bad sector, a stray write)
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randint(1, 256))
        data[start:end] = bytes(rng.randrange(256) for _ in range(end - start))
        target.write_bytes(data)
    elif kind == "delete":
        target.unlink()
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "swap":
        other = rng.choice([p for p in arrow if p != target])
        a, b = target.read_bytes(), other.read_bytes()
        target.write_bytes(b)
        other.write_bytes(a)
    else:
        path = folder / S.MANIFEST
        manifest = json.loads(path.read_text())
        key = rng.choice(MANIFEST_KEYS)
        if rng.random() < 0.25:
            manifest.pop(key, None)
            kind += f" (drop {key})"
        else:
            manifest[key] = rng.choice(HOSTILE)
            kind += f" ({key} = {manifest[key]!r})"
        path.write_text(json.dumps(manifest) if rng.random() < 0.9 else json.dumps(manifest)[:-7])
    after = {p.name: p.read_bytes() if p.exists() else None for p in arrow}
    return f"{kind} {target.name}", after != before


def cli(*args) -> tuple[int, str, str]:
    """Run the gridhanoi command line in this process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def test_damaged_episodes_exit_cleanly_and_never_verify_valid(episode: Path, tmp_path: Path):
    rng = random.Random(13)
    for case in range(CASES):
        folder = tmp_path / f"case{case}"
        shutil.copytree(episode, folder)
        what, changed = damage(folder, rng)
        png = tmp_path / f"case{case}.png"
        for args in (("info", folder), ("info", folder, "--json"), ("verify", folder),
                     ("replay", folder, "--export", png, "--size", "320x240")):
            rc, out, err = cli(*args)
            assert rc in (0, 1, 2), (what, args, rc, out, err)
            assert "Traceback" not in err and "Traceback" not in out, (what, args, err)
            if rc == 2:
                assert err.count("\n") == 1, (what, args, err)
            if args[0] == "verify" and changed:
                assert rc != 0 and "valid (" not in out, (what, out, err)


def test_the_undamaged_episode_is_valid(episode: Path):
    rc, out, err = cli("verify", episode)
    assert rc == 0, out + err
    rc, out, err = cli("info", episode)
    assert rc == 0 and "complete" in out.splitlines()[1], out + err
