"""The ``onnx`` target: the whole compiled pipeline as one ONNX model (ai.onnx 21 + ai.onnx.ml 5).

``render_onnx(graph, name, metadata)`` returns the serialized model; ``describe(path)``
summarises one for a parity report; ``known_deviations(graph)`` lists where onnxruntime's
arithmetic or ONNX's lack of per-row errors can make it differ from the native artifact.
"""

from .render import describe, known_deviations, render_onnx

__all__ = ["render_onnx", "describe", "known_deviations"]
