"""Bind a compiled shared library with ctypes.

ctypes releases the GIL for the duration of every foreign call, so batch predictions run
in parallel from several Python threads.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np


class NativeLibrary:
    """The flat ``NAME_predict_matrix`` entry point of one shared library."""

    def __init__(self, path: Path, name: str, n_inputs: int, n_outputs: int) -> None:
        self.path = Path(path)
        self._lib = ctypes.CDLL(str(self.path))
        fn = getattr(self._lib, f"{name}_predict_matrix")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
        fn.restype = ctypes.c_int
        self._predict = fn
        abi = getattr(self._lib, f"{name}_abi_version")
        abi.restype = ctypes.c_int
        self.abi_version = abi()
        schema = getattr(self._lib, f"{name}_schema_json")
        schema.restype = ctypes.c_char_p
        self.schema_json = schema().decode("utf-8")
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run rows ``x`` (n × n_inputs float64, C order); returns (outputs, status)."""
        n = x.shape[0]
        out = np.empty((n, self.n_outputs))
        status = np.empty(n, dtype=np.int32)
        self._predict(x.ctypes.data, n, out.ctypes.data, status.ctypes.data)
        return out, status
