PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --constraint constraints.txt

.PHONY: run test install dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

install: $(BIN)/python
	$(PIP) -e .

dev: $(BIN)/python
	$(PIP) -e '.[dev]'

## make run: install and start the main job: the web explorer on the built-in gallery
## (http://127.0.0.1:8000; `losslab tour` prints the seeds' worked examples instead)
run: install
	$(BIN)/losslab serve

## make test: install the dev tools, lint, type-check and run the whole suite: in two processes (at most four
## where there are more cores), then the tests marked serial (wall-clock bounds) alone
test: dev
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist worksteal -m "not serial"
	$(BIN)/python -m pytest -m serial

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
