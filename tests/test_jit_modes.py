"""The test suite compiles kernels with GRIDHANOI_JIT=fast (Taichi's IR optimisations off, tests/conftest.py); users
run the optimized JIT. Both must give the same episodes: the same per-world results and every tick's statistics."""
from engine.sim.arch import ArchError, jit_mode
from tests.gpu_runs import run, run_in_child

RUNS = ("smoke:1:2", "four-pegs:1:1", "paper-consensus:0:1")


def optimized_runs() -> dict:
    """RUNS on the CPU with the optimized JIT, in a fresh process (Taichi initialises once per process)."""
    code, result = run_in_child("cpu", RUNS, env={"GRIDHANOI_JIT": "optimized"})
    assert code == 0, result[-3000:]
    return result


def test_fast_and_optimized_jit_give_the_same_episodes(taichi_cpu):
    assert jit_mode() == "fast"  # this process: the suite's setting
    optimized = optimized_runs()
    for spec in RUNS:
        name, seed, worlds = spec.split(":")
        fast = run("cpu", name, int(seed), int(worlds))
        for key in ("worlds", "ticks_digest", "fx_sums"):
            assert fast[key] == optimized[spec][key], f"{spec}: {key} differs between the fast and optimized JIT"


def test_an_unknown_jit_mode_is_refused(monkeypatch):
    monkeypatch.setenv("GRIDHANOI_JIT", "turbo")
    try:
        jit_mode()
    except ArchError as err:
        assert "GRIDHANOI_JIT='turbo'" in str(err) and "optimized, fast" in str(err)
    else:
        raise AssertionError("GRIDHANOI_JIT=turbo was accepted")
