"""Data the configs and tests read, in the layouts the codebases expect:
Fashion-MNIST from its Debian package (:mod:`.fashion_mnist`)."""
