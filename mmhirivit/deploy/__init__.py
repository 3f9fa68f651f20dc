"""Deployment: a two-stage detector as one ONNX graph over tensors
(:mod:`.detection_graph`) and the numpy glue that turns its outputs into
detections in the original image (:mod:`.glue`)."""
