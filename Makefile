# The two commands README.md promises: `make demo` and `make test`. Both create .venv when needed.
VENV ?= .venv
PY := $(VENV)/bin/python
HARNESS := $(VENV)/bin/harness
DEMO_OUT ?= runs/demo
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench bench-cpu bench-gpu lint leaderboard clean

$(VENV)/.bootstrapped: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

setup: $(VENV)/.bootstrapped

demo: setup
	bash scripts/demo.sh $(DEMO_OUT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-columns=min,mean,median,rounds $(PYTEST_ARGS)

# `harness bench` with the tiny configurations (seconds), and on a GPU machine with the 7B architectures.
bench-cpu: setup
	$(HARNESS) bench --device cpu --out bench-cpu.json

bench-gpu:
	bash scripts/gpu_bench.sh

lint: setup
	$(VENV)/bin/ruff check .

leaderboard: setup
	$(HARNESS) leaderboard build

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
