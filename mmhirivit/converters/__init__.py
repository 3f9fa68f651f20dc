"""Checkpoints turned into files for others: ImageNet-pretraining checkpoints
to backbone weights, and any checkpoint to a published file
(:mod:`.convert`)."""
