# Two commands do all set-up on a fresh machine:
#   make demo   runs the main job (a generated sample when no real data or credentials are present)
#   make test   passes the tests (.ci/run calls it)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test test-core test-all clean

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

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -p no:cacheprovider

# the core alone (pip install -e . + pytest): tests of optional parts must skip cleanly
CORE_VENV ?= .venv-core
test-core:
	test -x $(CORE_VENV)/bin/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install -q -e . pytest
	$(CORE_VENV)/bin/python -m pytest -q -p no:cacheprovider

test-all: $(VENV)/.installed-dev
	$(PY) -m pytest -q -p no:cacheprovider -m "slow or not slow"

clean:
	rm -rf $(VENV) $(CORE_VENV) runs build *.egg-info
