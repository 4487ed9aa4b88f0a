# The affect book. Two commands do everything on a fresh machine:
#   make book   builds the environment if needed, runs every chapter (cpu profile) and builds the HTML site
#   make student writes the student copies (no solutions) to _build/student/notebooks
#   make test   builds the environment if needed and runs the tests (what CI runs, via .ci/run)
#   make test-fast  the inner loop: the tests not marked slow or notebooks (no training runs, notebooks or book)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= cpu

.PHONY: book test test-fast env html lab golden student clean

env: $(VENV)/.installed

# The pins of environment.yml, turned into pip constraints; reinstalled when the pins or ranges change. pip compiles
# the modules at install (not --no-compile): where PYTHONDONTWRITEBYTECODE is set, as on the CI machine, Python would
# otherwise compile every module it imports again in every process (the whole test run took 1.7x as long).
$(VENV)/.installed: pyproject.toml environment.yml tools/pip_constraints.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PYTHON) tools/pip_constraints.py environment.yml > $(VENV)/constraints.txt
	$(BIN)/python -m pip install --quiet --constraint $(VENV)/constraints.txt --editable ".[dev,book]"
	touch $@

book: env
	$(BIN)/python -m affect_book.site.book --profile $(PROFILE) --html

test: env
	$(BIN)/python -m pytest

# The inner loop: leaves out the tests marked slow (training runs, training CLIs, several processes) and notebooks.
test-fast: env
	$(BIN)/python -m pytest -m "not slow and not notebooks"

html: env
	$(BIN)/python -m affect_book.site.book --html-only

# Student copies: every solution cell replaced by a NotImplementedError stub (affect_book/site/course.py).
student: env
	$(BIN)/python -m affect_book.site.course --out _build/student

lab: env
	$(BIN)/jupyter lab notebooks/

# Regenerate the golden reference notebooks that nbval checks (after a deliberate change of a published number).
golden: env
	$(BIN)/python tools/make_golden.py

clean:
	rm -rf _build
