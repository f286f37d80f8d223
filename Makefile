# mmgat: make install | make test | make demo
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgat-installed
PYTEST_ARGS ?=

.PHONY: install test test-fast demo data clean

install: $(STAMP)

$(STAMP): tools/install_env.sh setup.py $(wildcard requirements/*.txt)
	VENV=$(VENV) bash tools/install_env.sh
	touch $@

# The whole suite, slow tests included (what CI runs).
test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

# Unit tests only (skips the tests that train models through the tools).
test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

data: install
	$(PY) tools/make_digitscenes.py --out data/digitscenes

# Generate DigitScenes, train and test the clean baselines, print their table.
demo: install
	$(PY) tools/demo.py --work-dir work_dirs/demo

clean:
	rm -rf work_dirs .pytest_cache
