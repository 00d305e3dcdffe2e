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

.PHONY: demo test venv clean

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m pytest

venv: $(STAMP)

# Re-run whenever the requirements or the package metadata change.
$(STAMP): requirements.txt constraints.txt setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	@touch $@

clean:
	rm -rf $(VENV) .venv-* *.egg-info .pytest_cache
