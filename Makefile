# The README's two commands. Each builds the environment first (idempotent,
# about a minute when it is already there; see tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test

setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest tests --durations=10
