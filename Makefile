# The two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip -q --disable-pip-version-check
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $(STAMP)

$(TSTAMP): $(STAMP)
	$(PIP) install -e '.[test]'
	touch $(TSTAMP)

install: $(STAMP)

# `run` exits 1 when a world stalls or hits max_ticks: an outcome of the model, shown in the summary, not a failed
# demo (make would print "Error 1"); bad input (2), a crash or Ctrl-C (130) still fail.
demo: $(STAMP)
	@$(VENV)/bin/gridhanoi run paper --seed 0; rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "(a world ended stalled or at max_ticks: a result of the model; the demo ran fine)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

test: $(TSTAMP)
	$(PY) -m pytest -n auto  # one worker per core: most of the suite's time is single-threaded kernel JIT

clean:
	rm -rf $(VENV) build *.egg-info runs
