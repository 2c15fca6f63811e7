"""Bind a compiled shared library with ctypes.

ctypes releases the GIL for the duration of every foreign call, so batch predictions run
in parallel from several Python threads.
"""

from __future__ import annotations

import ctypes
import threading
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
        count = getattr(self._lib, f"{name}_contract_count", None)
        if count is not None:
            count.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
            count.restype = ctypes.c_size_t
        self._count = count
        counted = getattr(self._lib, f"{name}_predict_matrix_counted", None)
        if counted is not None:
            counted.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                ctypes.c_void_p, ctypes.c_void_p]
            counted.restype = ctypes.c_size_t
        self._counted = counted
        # One-row calls are the latency-critical case: per-thread fixed buffers whose
        # addresses are computed once (numpy's .ctypes.data costs ~1 us per access).
        self._tls = threading.local()

    def _one_row_buffers(self) -> tuple:
        bufs = getattr(self._tls, "bufs", None)
        if bufs is None:
            x1, out1, st1 = (np.empty((1, self.n_inputs)), np.empty((1, self.n_outputs)),
                             np.empty(1, dtype=np.int32))
            bufs = self._tls.bufs = (x1, out1, st1, _address(x1), _address(out1), _address(st1))
        return bufs

    def predict_row(self, x: np.ndarray, cols: slice | None = None) -> tuple[np.ndarray, int]:
        """One row (shape (1, n_inputs)): outputs (``[:, cols]`` if given) and status code."""
        x1, out1, st1, px, po, ps = self._one_row_buffers()
        x1[...] = x
        self._predict(px, 1, po, ps)
        return (out1.copy() if cols is None else out1[:, cols].copy()), int(st1[0])

    def _counts(self) -> tuple:
        try:
            return self._tls.counts
        except AttributeError:
            counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
            self._tls.counts = (counts, _address(counts))
            return self._tls.counts

    @staticmethod
    def _take_counts(counts: np.ndarray) -> np.ndarray:
        got = counts.astype(np.int64)
        counts[:] = 0
        return got

    def contract_count(self, x: np.ndarray) -> tuple[int, np.ndarray | None]:
        """Rows of ``x`` violating the input contract, and counts (n_inputs x 3) when any."""
        counts, pc = self._counts()
        if not (x.dtype == np.float64 and x.flags.c_contiguous):
            x = np.ascontiguousarray(x, dtype=np.float64)
        bad = self._count(_address(x), x.shape[0], pc)
        return (int(bad), self._take_counts(counts)) if bad else (0, None)

    def predict_row_counted(self, x: np.ndarray, cols: slice | None = None
                            ) -> tuple[np.ndarray, int, int, np.ndarray | None]:
        """``predict_row`` and ``contract_count`` in one foreign call (the latency path
        under policy "count"): outputs, status, violating rows (0/1), counts if any."""
        x1, out1, st1, px, po, ps = self._one_row_buffers()
        counts, pc = self._counts()
        x1[...] = x
        bad = self._counted(px, 1, po, ps, pc)
        out = out1.copy() if cols is None else out1[:, cols].copy()
        return out, int(st1[0]), int(bad), (self._take_counts(counts) if bad else None)

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run rows ``x`` (n × n_inputs float64, C order); returns (outputs, status)."""
        n = x.shape[0]
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty((n, self.n_outputs))
        status = np.empty(n, dtype=np.int32)
        self._predict(_address(x), n, _address(out), _address(status))
        return out, status


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]
