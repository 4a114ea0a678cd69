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

demo: $(STAMP)
	$(VENV)/bin/gridhanoi run paper --seed 0

test: $(TSTAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info runs
