"""Bind a compiled shared library with ctypes.

ctypes releases the GIL for the duration of every foreign call, so a big batch is split
into one chunk per core and the chunks run in parallel on a shared thread pool (the C
library is reentrant and keeps no state, so chunks cannot interfere; every row's result
is the same bits as in one call).
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

# Below this many rows per chunk, handing work to another thread costs more than it saves.
MIN_CHUNK_ROWS = 4096
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """``STATICML_THREADS`` if set, else the cores this process may run on."""
    env = os.environ.get("STATICML_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"STATICML_THREADS={env!r} is not a whole number; "
                             "set it to the number of threads for batch predictions") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _forget_pool() -> None:
    """In a forked child the parent's pool threads do not exist: make a new pool there
    (otherwise its first big batch would wait forever for them)."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(default_threads(), os.cpu_count() or 1),
                                       thread_name_prefix="staticml")
        return _POOL


def _chunks(n: int, threads: int) -> list[tuple[int, int]]:
    k = max(1, min(threads, n // MIN_CHUNK_ROWS))
    edges = [n * i // k for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:]))


def run_chunked(n: int, threads: int, work: Callable[[int, int], object]) -> list:
    """``work(start, stop)`` over row ranges covering ``n`` rows, in parallel when big."""
    spans = _chunks(n, threads)
    if len(spans) == 1:
        return [work(0, n)]
    return list(_pool().map(lambda span: work(*span), spans))


class NativeLibrary:
    """The flat ``NAME_predict_matrix`` entry point of one shared library."""

    def __init__(self, path: Path, name: str, n_inputs: int, n_outputs: int,
                 threads: int | None = None) -> None:
        self.path = Path(path)
        self.threads = default_threads() if threads is None else max(1, int(threads))
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
        # addresses are computed once (numpy's .ctypes.data costs ~1 us per access), and
        # per-thread contract counts (the C call adds to them; nonzero only if bad).
        self._tls = threading.local()

    def _one_row_buffers(self) -> tuple:
        bufs = getattr(self._tls, "bufs", None)
        if bufs is None:
            x1, out1 = np.empty((1, self.n_inputs)), np.empty((1, self.n_outputs))
            st1 = ctypes.c_int32(0)  # .value is cheaper to read than a numpy element
            counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
            bufs = self._tls.bufs = (x1, out1, st1, _address(x1), _address(out1),
                                     ctypes.addressof(st1), counts, _address(counts), {})
        return bufs

    @staticmethod
    def _view(out1: np.ndarray, views: dict, cols: slice | None) -> np.ndarray:
        """``out1[:, cols]``, made once per thread and slice (slicing costs ~0.2 us)."""
        if cols is None:
            return out1
        key = (cols.start, cols.stop, cols.step)
        view = views.get(key)
        if view is None:
            view = views[key] = out1[:, cols]
        return view

    def predict_row(self, x: np.ndarray, cols: slice | None = None) -> tuple[np.ndarray, int]:
        """One row (shape (1, n_inputs)): outputs (``[:, cols]`` if given) and status code."""
        x1, out1, st1, px, po, ps, _, _, views = self._one_row_buffers()
        x1[...] = x
        self._predict(px, 1, po, ps)
        return self._view(out1, views, cols).copy(), st1.value

    def contract_count(self, x: np.ndarray) -> tuple[int, np.ndarray | None]:
        """Rows of ``x`` violating the input contract, and counts (n_inputs x 3) when any."""
        counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
        if not (x.dtype == np.float64 and x.flags.c_contiguous):
            x = np.ascontiguousarray(x, dtype=np.float64)
        bad = self._count(_address(x), x.shape[0], _address(counts))
        return (int(bad), counts.astype(np.int64)) if bad else (0, None)

    def predict_row_counted(self, x: np.ndarray, cols: slice | None = None
                            ) -> tuple[np.ndarray, int, int, np.ndarray | None]:
        """``predict_row`` and ``contract_count`` in one foreign call (the latency path
        under policy "count"): outputs, status, violating rows (0/1), counts if any."""
        try:
            x1, out1, st1, px, po, ps, counts, pc, views = self._tls.bufs
        except AttributeError:
            x1, out1, st1, px, po, ps, counts, pc, views = self._one_row_buffers()
        x1[...] = x
        if self._counted(px, 1, po, ps, pc):
            got = counts.astype(np.int64)
            counts[:] = 0
            return self._view(out1, views, cols).copy(), st1.value, 1, got
        return self._view(out1, views, cols).copy(), st1.value, 0, None

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run rows ``x`` (n × n_inputs float64, C order); returns (outputs, status)."""
        x, out, status, px, po, ps = self._batch_buffers(x)
        ni, no = self.n_inputs * 8, self.n_outputs * 8

        def work(a: int, b: int) -> None:
            self._predict(px + a * ni, b - a, po + a * no, ps + a * 4)

        run_chunked(x.shape[0], self.threads, work)
        return out, status

    def predict_matrix_counted(self, x: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None]:
        """``predict_matrix`` and ``contract_count`` in one foreign call per chunk:
        outputs, status, violating rows, counts (n_inputs x 3) when any."""
        x, out, status, px, po, ps = self._batch_buffers(x)
        ni, no = self.n_inputs * 8, self.n_outputs * 8

        def work(a: int, b: int) -> tuple[int, np.ndarray]:
            counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
            bad = self._counted(px + a * ni, b - a, po + a * no, ps + a * 4, _address(counts))
            return int(bad), counts

        parts = run_chunked(x.shape[0], self.threads, work)
        bad = sum(p[0] for p in parts)
        counts = sum(p[1].astype(np.int64) for p in parts) if bad else None
        return out, status, bad, counts

    def _batch_buffers(self, x: np.ndarray) -> tuple:
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty((x.shape[0], self.n_outputs))
        status = np.empty(x.shape[0], dtype=np.int32)
        return x, out, status, _address(x), _address(out), _address(status)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]
