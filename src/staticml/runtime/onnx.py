"""Run a bundle's ONNX model in onnxruntime behind the ``Engine`` interface.

Limitation, by design: ONNX has no per-row error channel, so the model cannot refuse a row
the way the C library does (``CheckFinite``, encoders that reject unknown categories).
``OnnxEngine`` therefore reports status 0 for every row, and the parity runner compares
ONNX only on the rows the native target accepts (``verification/targets.py``,
``CANNOT_REFUSE``). Re-implementing the refusal rules here in numpy would make the status
column come from Python, not from the model under test, so it is deliberately not done.

The session runs on one thread: onnxruntime then adds trees in tree order, as the IR does;
with several threads it may sum chunks of trees separately and change the last bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort


class OnnxEngine:
    """The ``x -> out`` model of ``backends/onnx`` on the CPU execution provider."""

    target = "onnx"

    def __init__(self, path: Path, n_outputs: int) -> None:
        self.path = Path(path)
        self.n_outputs = n_outputs
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session: ort.InferenceSession | None = ort.InferenceSession(
            str(self.path), sess_options=opts, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        self.schema_json = meta.get("schema_json", "")

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(n, n_outputs)`` and an all-zero status (see the module docstring)."""
        if self._session is None:
            raise RuntimeError(f"{self.path}: engine is closed")
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.shape[0] == 0:
            return np.empty((0, self.n_outputs)), np.zeros(0, dtype=np.int32)
        (out,) = self._session.run(["out"], {"x": x})
        if out.shape != (x.shape[0], self.n_outputs):
            raise ValueError(f"{self.path}: output shape {out.shape}, expected "
                             f"{(x.shape[0], self.n_outputs)}")
        return np.ascontiguousarray(out, dtype=np.float64), np.zeros(x.shape[0], dtype=np.int32)

    def close(self) -> None:
        self._session = None
