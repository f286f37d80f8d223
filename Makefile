# mmgat: make install | make test | make demo | make baselines | make compare
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmgat-installed
PYTEST_ARGS ?=

.PHONY: install test test-fast demo baselines compare data clean

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

# The main job: DigitScenes -> generator -> detector clean and with GAT -> robustness
# suite on each -> work_dirs/demo/report.md (printed).
demo: install
	$(PY) tools/demo.py --work-dir work_dirs/demo

# The method matrix on the classifier (7 methods x 3 seeds, and the controls of claims
# b and e: shared with heaps of one image, full-image PGD at localized's budget):
# results/digitscenes/.
compare: install
	$(PY) tools/compare.py --tasks classification --seeds 0 1 2 \
		--methods clean pgd shared universal localized gat advbn shared-heap1 pgd-eps8 \
		--work-dir work_dirs/compare --results results/digitscenes

# Clean detection / segmentation / classification baselines -> one table.
baselines: install
	$(PY) tools/baselines.py --work-dir work_dirs/baselines

clean:
	rm -rf work_dirs .pytest_cache
