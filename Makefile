# Covenant: the two commands a newcomer needs are `make up` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export COVENANT_DATA_DIR ?= $(CURDIR)/.covenant

.PHONY: help venv up test test-fast lint fmt gen demo bench clean image

help:
	@echo "make up      run all six services locally (SQLite, dev secrets, default rule packs)"
	@echo "make test    run the full test suite (PostgreSQL too when COVENANT_TEST_PG_URL is set)"
	@echo "make lint    ruff"
	@echo "make gen     regenerate protobuf code into libs/"
	@echo "make demo    load a realistic week at a bank branch and print what Covenant found"
	@echo "make bench   run every benchmark script in benchmarks/"
	@echo "make image   build the container image offline with podman (host wheelhouse, local base if needed)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	mkdir -p $(COVENANT_DATA_DIR)
	$(BIN)/covenant up

# Three workers on two cores: about a third of the suite's time is spent waiting (service starts, relays,
# containers, the browser), so a third worker fills it (measured here: 6:17 with three; CI once took 10:20 with two).
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set (as on these machines): every worker collects
# every test module, and without the cache each one compiled and assertion-rewrote all of them (19 s -> 11 s).
test: $(STAMP)
	mkdir -p $(COVENANT_DATA_DIR)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n 3 --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check libs services tests benchmarks scripts

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format libs services tests benchmarks scripts

gen: $(STAMP)
	$(BIN)/python scripts/gen_protos.py
	$(BIN)/python scripts/gen_event_graph.py

demo: $(STAMP)
	mkdir -p $(COVENANT_DATA_DIR)
	$(BIN)/covenant demo --keep-running

image: $(STAMP)
	PYTHON=$(BIN)/python scripts/build_image.sh

bench: $(STAMP)
	for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .covenant .pytest_cache .ruff_cache
