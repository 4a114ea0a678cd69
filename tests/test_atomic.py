"""replay/atomic.py, the one atomic-replace helper behind result Parquet files, failures.json and the manifest."""
import os

import pytest

from replay.atomic import replace_atomically


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.parquet"
    path.write_text("old")

    def half_then_crash(tmp):
        tmp.write_text("half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(path, half_then_crash)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["results.parquet"]


def test_the_new_file_appears_whole_under_its_name(tmp_path):
    path = tmp_path / "failures.json"
    seen = []

    def write(tmp):
        seen.append((tmp.name, path.exists()))
        tmp.write_text("new")

    replace_atomically(path, write)
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["failures.json"]
    # written beside it under a hidden name (Parquet dataset readers skip dot files), the target untouched meanwhile
    assert seen[0][0].startswith(".failures.json.tmp-") and seen[0][1] is False


def test_an_exclusive_create_is_whole_and_claims_once(tmp_path):
    """The manifest claim: the first writer's file appears with its content; a second writer gets FileExistsError."""
    from replay.atomic import create_exclusively

    target = tmp_path / "manifest.json"
    create_exclusively(target, lambda tmp: tmp.write_text('{"who": "first"}'))
    with pytest.raises(FileExistsError):
        create_exclusively(target, lambda tmp: tmp.write_text('{"who": "second"}'))
    assert target.read_text() == '{"who": "first"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # no temporary left behind
