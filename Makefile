# The README's two commands. Each builds the environment first (idempotent,
# about a minute when it is already there; see tools/setup_env.sh).
PY := .venv/bin/python

.PHONY: setup demo test data

setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

# Two worker processes (pytest-xdist), each test file whole in one of them.
test: setup
	$(PY) -m pytest tests -n 2 --dist loadfile --durations=10

# Fashion-MNIST for configs/fashion_mnist (Debian's package, then unzipped
# into data/fashion_mnist); apt-get needs root.
FMNIST_DEB := /usr/share/datasets/fashion-mnist
data: setup
	@test -f $(FMNIST_DEB)/train-images-idx3-ubyte.gz || \
		(apt-get update && apt-get install -y dataset-fashion-mnist)
	$(PY) tools/misc/prepare_fashion_mnist.py data/fashion_mnist
