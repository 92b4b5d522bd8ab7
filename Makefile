# One entry point for set-up, the main job, tests and benchmarks. Every target installs what it
# needs into .venv first (CPU torch pinned: an unpinned torch pulls gigabytes of CUDA wheels).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TIE_DATA_DIR ?= $(abspath ../shared/data)
export TIE_DATA_DIR
# implicit and numpy both thread; nested pools oversubscribe small machines (5–10× slower).
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: setup train text test lint bench clean

$(BIN)/.installed: pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[rl,text,test,dev,zoo,serve,scale]"
	touch $@

setup: $(BIN)/.installed

train: setup
	$(BIN)/python -m recommenders.train $(ARGS)

text: setup
	$(BIN)/python -m recommenders.text.train $(ARGS)

test: setup
	$(BIN)/python -m pytest -q $(ARGS)

lint: setup
	$(BIN)/ruff check recommenders tie_gym agents benchmarks tests examples
	$(BIN)/ruff format --check recommenders tie_gym agents benchmarks tests examples

bench: setup
	$(BIN)/python -m benchmarks.recommenders
	$(BIN)/python -m benchmarks.envs
	$(BIN)/python -m benchmarks.attack_load

clean:
	rm -rf $(VENV) runs *.egg-info
