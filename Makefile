PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --constraint constraints.txt

.PHONY: run test install dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(PIP) -e .

dev: $(BIN)/python
	$(PIP) -e '.[dev]'

## make run: install and start the main job on the built-in examples
run: install
	$(BIN)/losslab tour

## make test: install the dev tools and run the whole suite
test: dev
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
