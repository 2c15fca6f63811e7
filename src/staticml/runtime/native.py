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
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import accel

# Below this many rows per chunk, handing work to another thread costs more than it saves.
MIN_CHUNK_ROWS = 4096
# Largest batch scratch (outputs + status) a thread keeps between calls (``reuse``).
REUSE_BYTES = 64 << 20
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """``STATICML_THREADS`` if set, else the cores this process may run on."""
    env = os.environ.get("STATICML_THREADS", "").strip()
    if env:
        try:
            return check_threads(int(env), "STATICML_THREADS")
        except ValueError:
            raise ValueError(f"STATICML_THREADS={env!r} is not a whole number >= 1; "
                             "set it to the number of threads for batch predictions") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def check_threads(threads: object, what: str = "threads") -> int:
    """``threads`` as a thread count, or a ValueError naming the problem (0 or -1 are not
    taken as "one" or "all": say 1, or leave it unset for one per core)."""
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"{what}={threads!r}: expected a whole number >= 1 (1 = no thread "
                         "pool; leave it unset for one thread per core)")
    return int(threads)


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


# Files this process has dlopen()ed, by real path: the dynamic loader hands back the library
# first loaded from a path (it matches the name and never reopens the file), so a bundle
# rebuilt in place and loaded again in the same process would run the old model.
_LOADED: dict[str, tuple[int, int, int, int]] = {}
_LOADED_LOCK = threading.Lock()
_ALIASES: list[str] = []  # a private directory for copies, made on first need


def loadable_path(path: Path) -> str:
    """``path``, or a private copy of it when this process loaded a different file there."""
    import shutil
    import tempfile

    real = os.path.realpath(path)
    st = os.stat(real)
    ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOADED_LOCK:
        if _LOADED.setdefault(real, ident) == ident:
            return real
        if not _ALIASES:
            import atexit

            _ALIASES.append(tempfile.mkdtemp(prefix="staticml-libs-"))
            atexit.register(shutil.rmtree, _ALIASES[0], True)
        alias = Path(_ALIASES[0]) / "-".join(map(str, ident)) / Path(real).name
        if not alias.exists():
            alias.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, alias)
        return str(alias)


class NativeLibrary:
    """The flat ``NAME_predict_matrix`` entry point of one shared library."""

    def __init__(self, path: Path, name: str, n_inputs: int, n_outputs: int,
                 threads: int | None = None) -> None:
        self.path = Path(path)
        self.name = name
        self.threads = default_threads() if threads is None else check_threads(threads)
        self._lib = ctypes.CDLL(loadable_path(self.path))
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
        # Handles of the same functions for one-row calls (``RowCall``): no argtypes, so
        # ctypes passes the ready parameters RowCall made as they are.
        self._predict_raw = self._raw(f"{name}_predict_matrix", ctypes.c_int)
        self._counted_raw = (self._raw(f"{name}_predict_matrix_counted", ctypes.c_size_t)
                             if counted is not None else None)
        self._tls = threading.local()  # this thread's RowCall (predict_row), batch scratch

    def _raw(self, symbol: str, restype: type) -> Callable:
        fn = self._lib[symbol]  # indexing makes a new function object (getattr shares one)
        fn.restype = restype
        return fn

    def fast_row(self, call: "RowCall", keys: tuple[str, ...], tables: tuple,
                 counted: bool) -> Any | None:
        """``call``'s buffers and entry points driven from C by the one-row accelerator
        (runtime/rowcall.c: fills the row from a dict, list or array and calls), or None
        when it is unavailable (``accel.status()`` says why)."""
        mod = accel.module()
        if mod is None:
            return None
        counted = counted and self._counted_raw is not None

        def address(fn: Callable) -> int:
            return ctypes.cast(fn, ctypes.c_void_p).value or 0

        return mod.Row(
            predict=address(self._predict_raw),
            counted=address(self._counted_raw) if counted else 0,
            x=_address(call.x), out=_address(call.out),
            status=ctypes.addressof(call.status),
            counts=_address(call.counts) if counted else 0,
            keys=keys, tables=tables, owner=(call, self))

    def row_call(self) -> "RowCall":
        """New one-row buffers with the foreign calls bound to them (one per thread: the
        buffers are reused by every call)."""
        return RowCall(self)

    def _row(self) -> "RowCall":
        try:
            return self._tls.row
        except AttributeError:
            row = self._tls.row = RowCall(self)
            return row

    def predict_row(self, x: np.ndarray, cols: slice | None = None) -> tuple[np.ndarray, int]:
        """One row (shape (1, n_inputs)): outputs (``[:, cols]`` if given) and status code."""
        row = self._row()
        row.x[...] = x
        row.predict()
        out = row.out if cols is None else row.out[:, cols]
        return out.copy(), row.status.value

    def contract_count(self, x: np.ndarray) -> tuple[int, np.ndarray | None]:
        """Rows of ``x`` violating the input contract, and counts (n_inputs x 3) when any."""
        counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
        if not (x.dtype == np.float64 and x.flags.c_contiguous):
            x = np.ascontiguousarray(x, dtype=np.float64)
        bad = self._count(_address(x), x.shape[0], _address(counts))
        return (int(bad), counts.astype(np.int64)) if bad else (0, None)

    def predict_matrix(self, x: np.ndarray, reuse: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Run rows ``x`` (n × n_inputs float64, C order); returns (outputs, status).
        ``reuse``: write into this thread's scratch buffers, valid until its next call
        (for callers that copy out what they return; see ``_batch_buffers``)."""
        x, out, status, px, po, ps = self._batch_buffers(x, reuse)
        ni, no = self.n_inputs * 8, self.n_outputs * 8

        def work(a: int, b: int) -> None:
            self._predict(px + a * ni, b - a, po + a * no, ps + a * 4)

        run_chunked(x.shape[0], self.threads, work)
        return out, status

    def predict_matrix_counted(self, x: np.ndarray, reuse: bool = False
                               ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None]:
        """``predict_matrix`` and ``contract_count`` in one foreign call per chunk:
        outputs, status, violating rows, counts (n_inputs x 3) when any."""
        x, out, status, px, po, ps = self._batch_buffers(x, reuse)
        ni, no = self.n_inputs * 8, self.n_outputs * 8

        def work(a: int, b: int) -> tuple[int, np.ndarray]:
            counts = np.zeros((self.n_inputs, 3), dtype=np.uint64)
            bad = self._counted(px + a * ni, b - a, po + a * no, ps + a * 4, _address(counts))
            return int(bad), counts

        parts = run_chunked(x.shape[0], self.threads, work)
        bad = sum(p[0] for p in parts)
        counts = sum(p[1].astype(np.int64) for p in parts) if bad else None
        return out, status, bad, counts

    def _batch_buffers(self, x: np.ndarray, reuse: bool = False) -> tuple:
        """Input, outputs and status of a batch. Fresh output arrays are fresh pages: the
        kernel zero-fills each 4 KiB page on first touch, ~2 ms per 100k rows of 4 outputs
        (a fifth of a scaler + logistic regression batch), and threads touching new pages
        at once contend for the process's memory map. With ``reuse``, a thread's previous
        buffers serve again when big enough (up to REUSE_BYTES)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        n = x.shape[0]
        if reuse and n * (self.n_outputs * 8 + 4) <= REUSE_BYTES:
            kept = getattr(self._tls, "batch", None)
            if kept is None or kept[1].shape[0] < n:
                kept = self._tls.batch = (np.empty((n, self.n_outputs)),
                                          np.empty(n, dtype=np.int32))
            out, status = kept[0][:n], kept[1][:n]
        else:
            out = np.empty((n, self.n_outputs))
            status = np.empty(n, dtype=np.int32)
        return x, out, status, _address(x), _address(out), _address(status)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class RowCall:
    """Fixed one-row buffers (input ``x`` (1 x n_inputs), ``out`` (1 x n_outputs), ``status``,
    contract ``counts``) with the library's entry points bound to them.

    A one-row prediction is all fixed costs, so everything that does not depend on the row
    is done once here. The buffer addresses (numpy's ``.ctypes.data`` costs ~1 us per
    access) become ready call parameters: ``c_void_p.from_param(address)`` makes the object
    ctypes would otherwise build from each argument on every call, and a function pointer
    without argtypes passes such objects as they are (~50 ns less per argument than
    converting a Python int or a ``c_void_p``). ``predict``/``predict_counted`` are
    ``functools.partial`` objects over those parameters. The caller writes ``x``, calls,
    then reads ``out`` and ``status.value``. One object per thread: calls reuse the buffers.
    """

    __slots__ = ("x", "out", "status", "counts", "predict", "predict_counted")

    def __init__(self, lib: NativeLibrary) -> None:
        self.x = np.zeros((1, lib.n_inputs))
        self.out = np.zeros((1, lib.n_outputs))
        self.status = ctypes.c_int32(0)  # .value is cheaper to read than a numpy element
        self.counts = np.zeros((lib.n_inputs, 3), dtype=np.uint64)
        ptr = ctypes.c_void_p.from_param  # the buffers live as long as this object
        args = (ptr(_address(self.x)), ctypes.c_size_t.from_param(1), ptr(_address(self.out)),
                ptr(ctypes.addressof(self.status)))
        self.predict: Callable[[], int] = partial(lib._predict_raw, *args)
        self.predict_counted: Callable[[], int] | None = (
            partial(lib._counted_raw, *args, ptr(_address(self.counts)))
            if lib._counted_raw is not None else None)

    def take_counts(self) -> np.ndarray:
        """The contract counts the last counted call added (n_inputs x 3, int64), zeroing
        the buffer for the next call."""
        got = self.counts.astype(np.int64)
        self.counts[:] = 0
        return got
