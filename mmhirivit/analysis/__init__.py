"""Measuring models: FLOPs in both conventions (:mod:`.complexity`), wall
time (:mod:`.timing`), peak memory (:mod:`.memory`) and building a config's
model outside a Runner for them (:mod:`.builders`)."""
