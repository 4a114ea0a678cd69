"""The command line as a user meets it: JSON output, determinism, worlds and seeds, and one-line input errors."""
import json

import pytest

from tests.conftest import run_cli

BASE = """
[grid]
size = 64
tile = 4
[task]
disks = 8
"""


def run_json(*args):
    """Run `gridhanoi run ... --json --no-record` and parse stdout (which must hold only the JSON object)."""
    r = run_cli("run", *args, "--json", "--no-record")
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def without_timing(result):
    """The result with its volatile part removed."""
    return {k: v for k, v in result.items() if k != "timing"}


def test_json_is_deterministic_and_seeds_differ():
    a = run_json("smoke", "--seed", "7", "--arch", "auto")
    b = run_json("smoke", "--seed", "7", "--arch", "auto")
    assert without_timing(a) == without_timing(b)
    assert set(a["timing"]) >= {"wall_s", "agent_steps_per_s"}
    c = run_json("smoke", "--seed", "8")
    assert without_timing(c)["world_results"] != without_timing(a)["world_results"]


def test_world_three_of_eight_is_seed_ten():
    batch = run_json("smoke", "--seed", "7", "--worlds", "8")["world_results"][3]
    alone = run_json("smoke", "--seed", "10", "--worlds", "1")["world_results"][0]
    assert dict(batch, world=0) == alone


@pytest.mark.parametrize("text, key", [
    (BASE + "[agents]\netaa = 0.1\n", "etaa"),                       # unknown key
    (BASE + "[agents]\neta = \"fast\"\n", "eta"),                    # wrong type
    (BASE.replace("size = 64", "size = 63"), "tile"),                # tile does not divide the grid
    (BASE.replace("disks = 8", "disks = 13"), "disks"),              # more moves than tiles
    (BASE.replace("tile = 4", "tile = 4\ntau_green = 17"), "tau_green"),  # τ_green > t²
    (BASE.replace("size = 64", "size = 4096").replace("tile = 4", "tile = 1\ntau_green = 1"), "size"),  # too large
])
def test_bad_scenario_is_one_line_exit_2(tmp_path, text, key):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = run_cli("run", path, "--no-record", "--worlds", "5000")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "bad.toml" in lines[0] and key in lines[0]


def test_unknown_builtin_and_bad_flags_exit_2():
    r = run_cli("run", "papper", "--no-record")
    assert r.returncode == 2 and "paper" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("run", "smoke", "--worlds", "0", "--no-record")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def cuda_works() -> bool:
    """Whether Taichi itself (not gridhanoi) gets a CUDA device here, asked in a fresh process."""
    import subprocess
    import sys

    probe = ("import taichi as ti; ti.init(arch=ti.cuda, log_level=ti.ERROR); "
             "print('ARCH', ti.lang.impl.current_cfg().arch == ti.cuda)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120).stdout
    return "ARCH True" in out


def test_missing_gpu_is_a_clear_error_not_a_crash():
    r = run_cli("run", "smoke", "--arch", "cuda", "--no-record", "--ticks", "2")
    if cuda_works():  # a machine with CUDA: it simply runs, and 2 ticks do not complete smoke
        assert r.returncode == 1, r.stderr
    else:
        assert r.returncode == 2, r.stdout + r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "--arch cuda" in lines[0] and "Traceback" not in r.stderr, r.stderr


def test_every_command_module_registers_and_a_missing_one_fails_loudly(monkeypatch):
    import argparse

    from engine.cli import main as cli_main

    parser = cli_main.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == sorted(m.rsplit(".", 1)[1] for m in cli_main.COMMAND_MODULES)
    # a command module lost in packaging is an error, not a command that silently vanishes from --help
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", cli_main.COMMAND_MODULES + ("engine.cli.no_such_command",))
    with pytest.raises(ModuleNotFoundError, match="no_such_command"):
        cli_main.build_parser()
