# The two entry points of the project (see README): `make demo` and `make test`.
# Both create or refresh the virtual environment in .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lrmakeup demo --output demo-output

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	sh scripts/install-test-browser.sh
	$(PY) -m pytest

clean:
	rm -rf $(VENV) demo-output
