# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# chainer 7.8.1 builds only with setuptools<74; pip reads the constraint from
# PIP_CONSTRAINT (pip <= 26.2) or PIP_BUILD_CONSTRAINT (pip >= 25.3).
export PIP_CONSTRAINT := $(abspath constraints.txt)
export PIP_BUILD_CONSTRAINT := $(abspath constraints.txt)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-kernels lint bench venv clean FORCE

# The built-in synthetic set, made once and curated once: a folder with a
# pairs.txt is finished (both scripts write it last), so a second
# `make demo` reuses it and an interrupted one redoes only what is missing.
# The photos are catalogue-style (plain studio backdrops, a centred standing
# pose, people framed head to mid-thigh), as a shop's and the CAGAN paper's
# are: at the demo's 64x64 the swimwear is then large enough to learn in
# minutes, and the demo swaps at every seed tried (on the street-style set
# it failed at one seed in three).
SYNTHETIC := data/synthetic
CURATED := data/synthetic-clean
HELD_OUT := $(CURATED)/test
# Training resumes from its last snapshot: a finished run is reused as is.
# Each step is shared by one process per core (the demo's small network
# spends most of a step in Python, which threads cannot share).
DEMO := results/demo

demo: $(CURATED)/pairs.txt
	$(PY) scripts/train.py --config configs/demo.yaml --out $(DEMO) \
		--processes auto
	$(PY) scripts/swap.py $(HELD_OUT)/humans/h000000.png \
		--worn $(HELD_OUT)/articles/a000000.png \
		$(HELD_OUT)/articles/a000003.png $(HELD_OUT)/articles/a000005.png \
		$(HELD_OUT)/articles/a000006.png --out $(DEMO)/swap/swap.png
	$(PY) scripts/evaluate.py --model $(DEMO) --sheet $(DEMO)/swap/test-sheet.png
	@echo
	@echo "Pictures: $(DEMO)/swap/test-sheet.png (test people along the top, test"
	@echo "articles down the left, each cell the swap, alpha maps below),"
	@echo "$(DEMO)/swap/swap-side.png (a test person in three test articles),"
	@echo "$(DEMO)/preview/latest.png (the same kind of grid during training),"
	@echo "$(DEMO)/loss.png, $(DEMO)/alpha.png and $(DEMO)/eval.png; the data's"
	@echo "contact sheet is $(CURATED)/contact_sheet.png."

# The settings the set was made with, rewritten only when they change, so a
# set an older checkout made with other settings is made (and curated) again.
# Besides the training pairs (and their ground truth), 64 validation pairs
# score each epoch and 256 test pairs only the final model.
SYNTHETIC_ARGS := --pairs 2400 --size 128x96 --seed 0 --framing thigh \
	--style catalogue --val 64 --test 256
$(SYNTHETIC)/settings: FORCE
	@mkdir -p $(@D)
	@echo '$(SYNTHETIC_ARGS)' | cmp -s - $@ || echo '$(SYNTHETIC_ARGS)' > $@

$(SYNTHETIC)/pairs.txt: $(SYNTHETIC)/settings | $(STAMP)
	$(PY) scripts/make_synthetic.py --out $(SYNTHETIC) $(SYNTHETIC_ARGS)

$(CURATED)/pairs.txt: $(SYNTHETIC)/pairs.txt
	$(PY) scripts/curate.py $(SYNTHETIC) --out $(CURATED) --force

# The showcase: the paper's 128x96 on the same photos, a wider generator
# and a longer run (configs/showcase.yaml; about 70 minutes on 2 cores,
# resumable).
SHOWCASE := results/showcase
.PHONY: showcase
showcase: $(CURATED)/pairs.txt
	$(PY) scripts/train.py --config configs/showcase.yaml --out $(SHOWCASE)
	$(PY) scripts/swap.py $(HELD_OUT)/humans/h000000.png \
		--worn $(HELD_OUT)/articles/a000000.png \
		$(HELD_OUT)/articles/a000003.png $(HELD_OUT)/articles/a000005.png \
		$(HELD_OUT)/articles/a000006.png \
		--model $(SHOWCASE) --out $(SHOWCASE)/swap/swap.png
	$(PY) scripts/evaluate.py --model $(SHOWCASE) \
		--sheet $(SHOWCASE)/swap/test-sheet.png

# Speed figures (CPU): the reference article's step at two sizes and the demo's, against
# this machine's GEMM ceiling; a few minutes. Not a test.
bench: $(STAMP)
	$(PY) scripts/benchmark.py --quick

# The tests also cover the serving extra (export to ONNX, onnxruntime, the
# service) and drive its page in a headless browser (Selenium).
SERVE_STAMP := $(VENV)/.serve
$(SERVE_STAMP): requirements-serve.txt requirements-test.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements.txt \
		-r requirements-serve.txt -r requirements-test.txt
	@touch $@

test: $(STAMP) $(SERVE_STAMP)
	$(PY) -m pytest

# The float comparisons (cagan/testing.py) again under each OpenBLAS kernel
# this CPU can run (tests/blas_kernels.py): each kernel sums in its own
# order, so a tolerance that holds on one CPU only fails here, not on a
# user's machine with another kernel.
test-kernels: $(STAMP)
	@kernels="$$($(PY) -m tests.blas_kernels)"; \
	test -n "$$kernels" || echo "no OpenBLAS kernel to force on this CPU"; \
	for k in $$kernels; do \
		echo "== OPENBLAS_CORETYPE=$$k"; \
		OPENBLAS_CORETYPE=$$k $(PY) -m pytest -q -m numerics || exit 1; \
	done

# ruff's rules are in ruff.toml; a linter, not a dependency of cagan.
RUFF := ruff==0.17.6
lint: $(STAMP)
	$(PY) -m pip install --quiet $(RUFF)
	$(VENV)/bin/ruff check .

venv: $(STAMP)

# Re-run whenever the requirements or the package metadata change.
$(STAMP): requirements.txt constraints.txt setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	@touch $@

clean:
	rm -rf $(VENV) .venv-* *.egg-info .pytest_cache

# Always out of date: the settings stamp above checks itself on every run.
FORCE:

# Ablations (docs/evaluation.md): each variant of the file trained at each
# of its seeds, one run after another, scored on the test split; the tables
# are OUT/table.md and OUT/table.json. Run again, they resume and skip what
# is done. Both train on the built-in synthetic set.
.PHONY: ablation-demo ablation-showcase
ablation-demo: $(CURATED)/pairs.txt
	$(PY) scripts/ablation.py configs/ablation-demo.yaml \
		--out results/ablation/demo

ablation-showcase: $(CURATED)/pairs.txt
	$(PY) scripts/ablation.py configs/ablation-showcase.yaml \
		--out results/ablation/showcase
