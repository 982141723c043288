# tsexplain: the two commands of the README.
#   make demo   set up .venv (CPU torch first) and run the built-in demo
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
OUT    ?= reports/demo

.PHONY: setup demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,plot]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/tsexplain demo --out $(OUT)

# pytest exits 5 when it collected no test: that is a failure here, as is any other non-zero exit.
test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_attribution.py

clean:
	rm -rf $(VENV) reports .pytest_cache
