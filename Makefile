# The two commands a new user needs: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests and CI read the real datasets from here (never copied into the repo).
export TFCOMPRESS_DATA_DIR ?= $(abspath ../shared/data)
# MediaPipe (the phone runtime, a real client of our .tflite files) has its own environment:
# its absl-py pin conflicts with tfmot's. The tests run it as a subprocess.
MPVENV ?= .venv-mediapipe
MPSTAMP := $(MPVENV)/.installed
export TFCOMPRESS_MEDIAPIPE_PYTHON ?= $(abspath $(MPVENV))/bin/python

.PHONY: install mediapipe-env demo test test-slow lint mnist clean

install: $(STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

mediapipe-env: $(MPSTAMP)

$(MPSTAMP): requirements-mediapipe.txt
	test -x $(MPVENV)/bin/python || $(PYTHON) -m venv $(MPVENV)
	$(MPVENV)/bin/python -m pip install --quiet -r requirements-mediapipe.txt
	touch $(MPSTAMP)

demo: install
	$(PY) -m tfcompress.run --experiment=digits_prune_quant

# Everything but the tests marked slow (whole experiments at scale; a minute or more each), on
# three pytest-xdist workers sharing one step cache and decoded data. Three on a 2-core machine:
# much of a tiny test is single-threaded Python (tf.function tracing, TFLite conversion), so a
# third worker fills the cores the other two leave idle (549 tests: 491 s on three, 843 s on
# two; the README's "Tests" has today's times).
# (with MediaPipe installed, its tests must run: TFCOMPRESS_REQUIRE_MEDIAPIPE)
TEST_WORKERS ?= 3
test: install mediapipe-env
	TFCOMPRESS_REQUIRE_MEDIAPIPE=1 $(PY) -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadgroup

# The slow ones; CI runs both.
test-slow: install mediapipe-env
	TFCOMPRESS_REQUIRE_MEDIAPIPE=1 $(PY) -m pytest -m slow -n $(TEST_WORKERS) --dist loadgroup

lint: install
	$(PY) -m ruff check tfcompress experiments tests scripts

mnist: install
	$(PY) -m tfcompress.run --experiment=mnist_prune_quant --profile=quick

clean:
	rm -rf saved_models .pytest_cache
