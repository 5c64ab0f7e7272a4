# Two commands do all the set-up on a fresh machine:
#   make demo   - the main job (creates .venv, installs everything, runs it)
#   make test   - the test suite (same set-up, then pytest)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= ../shared/data

.PHONY: install demo evaluate test test-slow test-fuzz lint clean

# torch goes in first and pinned: a bare `torch` requirement on an empty environment pulls
# several GB of CUDA wheels. facenet-pytorch is installed without its dependencies because it
# would pull torchvision; we only read the MTCNN weights it ships.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,distributed]'
	$(PY) -m pip install --quiet --no-deps facenet-pytorch==2.6.0
	touch $@

install: $(VENV)/.installed

evaluate: install
	$(VENV)/bin/microexp evaluate --dataset megc2019 --data-dir $(DATA)/megc2019 --model ststnet --seeds 0,1,2 --out runs/megc2019-ststnet

demo: install
	$(VENV)/bin/microexp demo --out runs/demo

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest

test-slow: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m slow

test-fuzz: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m fuzz

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
