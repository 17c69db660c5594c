# Two commands matter: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv on first use and install everything the project needs.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench rig-sheet clean-venv gltf-validator

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; DREAM-Talk needs Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,blender,whisper]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dreamtalk demo --out out

test: $(STAMP) gltf-validator
	$(BIN)/python -m pytest

# The Khronos glTF validator (npm) for the add-on's glTF export test; the test skips validation without it.
GLTF_VALIDATOR := .cache/gltf-validator/node_modules/gltf-validator/package.json
gltf-validator:
	@test -f $(GLTF_VALIDATOR) || { command -v npm >/dev/null 2>&1 \
		&& npm install --silent --prefix .cache/gltf-validator gltf-validator@2.0.0-dev.3.10 \
		|| echo "note: gltf-validator not installed (needs npm); the glTF test skips validation"; }

lint: $(STAMP)
	$(BIN)/ruff check backend blender_addon tests bench rigs build_addon.py

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)

rig-sheet: $(STAMP)
	$(BIN)/python rigs/contact_sheet.py
