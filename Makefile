# Two commands do all set-up on a fresh machine:
#   make demo   runs the main job (a generated sample when no real data or credentials are present)
#   make test   passes the tests (.ci/run calls it)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo lint typecheck test test-core test-all bench-smoke clean docs

# .venv/.installed-<extras>: the venv with kagglekit installed (editable) with those extras
$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$*]"
	touch $@

install: $(VENV)/.installed-dev

# the demo needs no deep-learning stack: core + the kaggle client
demo: $(VENV)/.installed-kaggle
	PATH="$(abspath $(VENV))/bin:$$PATH" bash scripts/demo.sh

# ruff's lint rules and formatting (pyproject.toml's [tool.ruff]); long modules are named
# for review, never a failure. `ruff format .` and `ruff check --fix .` fix most findings.
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/module_sizes.py

# mypy on kagglekit/ (pyproject.toml's [tool.mypy])
typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy

# pytest-xdist: TEST_WORKERS processes (CI has 2 cores), each test file on one of them so
# that a module's fixtures are built once; tests that start Ray take turns
# (tests/support: one_ray_at_a_time). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -p no:cacheprovider $(XDIST)

# the core alone (pip install -e . + pytest): tests of optional parts must skip cleanly
CORE_VENV ?= .venv-core
test-core:
	test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install -q -e . pytest pytest-xdist
	$(CORE_VENV)/bin/python -m pytest -q -p no:cacheprovider $(XDIST)

test-all: $(VENV)/.installed-dev
	$(PY) -m pytest -q -p no:cacheprovider -m "slow or not slow"

# speed against plain code (~2 min): kagglekit cv of tfidf-nb, tfidf-lr and nbsvm on the real
# Disaster Tweets files beside plain_tfidf_cv.py, in-process and with the defaults; run it
# after any change to models, run files, data loading or the CV loop (README: Performance)
bench-smoke: $(VENV)/.installed-dev
	$(PY) benchmarks/bench_scale.py --competition disaster-tweets

# the docs site, built strict (warnings are errors) into site/; the CLI and models
# references are generated from the code at build time (docs/hooks.py)
docs: $(VENV)/.installed-dev
	$(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(CORE_VENV) runs build *.egg-info
