"""Bad input from the command line (issue 13): seeds outside 32 bits, output paths that cannot be written, files
that are not episodes. Each is one line on stderr, exit 2, before any work; the CLI runs in this process."""
import os
from pathlib import Path

import pytest

from engine.cli.main import main


def one_error(capsys, argv) -> str:
    """Run the CLI; assert exit 2 with exactly one line on stderr and no traceback; return that line."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, (argv, rc, err)
    return err


@pytest.mark.parametrize("argv, says", [
    (["run", "smoke", "--seed", "4294967296", "--no-record"], "outside 0 … 4294967295"),
    (["run", "smoke", "--seed", "-1", "--no-record"], "outside 0 … 4294967295"),
    (["run", "smoke", "--seed", "4294967295", "--worlds", "2", "--no-record"], "use --seed ≤ 4294967294"),
])
def test_seeds_outside_32_bits_are_refused(capsys, argv, says):
    assert says in one_error(capsys, argv)


def test_experiment_seeds_past_32_bits_are_refused(capsys, tmp_path):
    err = one_error(capsys, ["experiment", "--scenario", "smoke", "--managers", "stages,none", "--seeds",
                             str(2**31 + 1), "--out", tmp_path / "x"])
    assert "past 4294967295" in err and not (tmp_path / "x").exists()


def test_sweep_seeds_past_32_bits_are_refused(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nscenarios = ["smoke"]\nseeds = [0, 4294967296]\n')
    assert "seeds" in one_error(capsys, ["sweep", spec, "--out", tmp_path / "out"])


def test_the_manifest_seed_of_a_run_is_the_seed_asked_for(tmp_path):
    import json

    out = tmp_path / "ep"
    assert main(["run", "smoke", "--seed", "4294967295", "--out", str(out), "--arch", "cpu", "--json",
                 "--ticks", "3"]) in (0, 1)
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2**32 - 1


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> Path:
    """A short recorded smoke episode."""
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("bad-inputs") / "ep"
    r = run_cli("run", "smoke", "--out", out, "--arch", "cpu", "--ticks", "5", "--json")
    assert r.returncode in (0, 1), r.stderr
    return out


def test_export_paths_are_checked_before_the_episode_is_read(capsys, episode, tmp_path):
    existing = tmp_path / "there.png"
    existing.write_bytes(b"keep me")
    (tmp_path / "dir.png").mkdir()
    cases = [
        (tmp_path / "nodir" / "sub" / "x.png", "does not exist"),
        (Path("/proc/x.png"), "pseudo-filesystem"),
        (existing, "the file exists"),
        (tmp_path / "dir.png", "that is a folder"),
    ]
    for target, says in cases:
        assert says in one_error(capsys, ["replay", episode, "--export", target])
    assert existing.read_bytes() == b"keep me"
    assert main(["replay", str(episode), "--export", str(existing), "--force", "--size", "320x240"]) == 0
    assert existing.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_export_folder_is_refused(capsys, episode, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert "no permission" in one_error(capsys, ["replay", episode, "--export", locked / "x.png"])


@pytest.mark.parametrize("flag", ["--json", "--plot", "--markdown"])
def test_bench_output_files_are_checked_before_measuring(capsys, tmp_path, flag):
    assert "does not exist" in one_error(capsys, ["bench", "--quick", flag, tmp_path / "no" / "f"])
    (tmp_path / "f").write_text("")
    assert "--force" in one_error(capsys, ["bench", "--quick", flag, tmp_path / "f"])


def test_out_folders_on_files_or_pseudo_filesystems_are_refused(capsys, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "pseudo-filesystem" in one_error(capsys, ["run", "smoke", "--out", "/proc/x"])
    assert "is a file" in one_error(capsys, ["run", "smoke", "--out", a_file])
    assert "pseudo-filesystem" in one_error(capsys, ["experiment", "--scenario", "smoke", "--out", "/proc/x"])
    assert "is a file" in one_error(capsys, ["experiment", "--scenario", "smoke", "--out", a_file])
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nscenarios = ["smoke"]\nseeds = 1\n')
    assert "is a file" in one_error(capsys, ["sweep", spec, "--out", a_file])


def test_info_and_verify_on_a_file_say_it_is_not_an_episode(capsys, tmp_path):
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n")
    for command in ("info", "verify", "replay"):
        assert "is a file, not an episode" in one_error(capsys, [command, a_file])
