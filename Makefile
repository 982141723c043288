# tsexplain: the two commands of the README.
#   make demo   set up .venv (CPU torch first), write the demo report, open the explorer
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
OUT    ?= reports/demo

HOST   ?= 127.0.0.1
PORT   ?= 8050

DOCS_OUT ?= site

.PHONY: setup demo report serve test lint docs bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev,plot]"
	touch $@

setup: $(VENV)/.installed

# The main job: the explanation report of the built-in demo, then the explorer on the demo
# workspace (created on first start, reused afterwards). Ctrl-C stops the server.
demo: report serve

report: setup
	$(VENV)/bin/tsexplain demo --out $(OUT)

serve: setup
	$(VENV)/bin/tsexplain serve --host $(HOST) --port $(PORT) --no-browser

# pytest exits 5 when it collected no test: that is a failure here, as is any other non-zero exit.
test: setup
	$(PY) -m pytest -q
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules src/tsexplain
	$(VENV)/bin/ruff check src tests benchmarks docs/tutorials
	$(VENV)/bin/mypy src/tsexplain

# the user guide: every tutorial in --quick mode (writes docs/tutorials/figures/), then the site
docs: setup
	@for t in docs/tutorials/*.py; do echo "tutorial $$t --quick"; \
	  OMP_NUM_THREADS=1 MPLBACKEND=Agg $(PY) $$t --quick || exit 1; done
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict -d $(DOCS_OUT)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks docs/tutorials

bench: setup
	$(PY) benchmarks/bench_attribution.py

clean:
	rm -rf $(VENV) reports .pytest_cache $(DOCS_OUT)
