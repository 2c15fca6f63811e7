"""One interface for every way of running a compiled model: the ``Engine``.

Every target (the host library through ctypes, a cross-built library under qemu or wine,
the wasm module, the Java class, the ONNX model) is driven through the same flat entry
point as ``NAME_predict_matrix``: rows already encoded as float64 (a string column holds
its vocabulary code, -1 = unseen, NaN = missing) in, the output rows and one status per
row out. That is what lets the parity runner compare targets bit for bit.

Engines that run in another process (qemu, wine, java, node) exchange rows through two
files in the *harness protocol*, little-endian throughout:

- input:  ``uint64 n, uint64 n_inputs`` then ``n * n_inputs`` float64, row-major;
- output: ``n * n_outputs`` float64 row-major, then ``n`` int32 statuses.

A status is 0, or ``error_code | (1 + input column) << 8`` (column 0 = unknown), exactly
as the C ABI reports it; rows with a non-zero status have NaN outputs.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Protocol

import numpy as np


class Engine(Protocol):
    target: str

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(n, n_outputs)`` float64 and statuses ``(n,)`` int32 for rows ``x``."""
        ...

    def close(self) -> None:
        ...


def write_matrix(path: Path, x: np.ndarray) -> None:
    """Write rows ``x`` as a harness-protocol input file."""
    x = np.ascontiguousarray(x, dtype="<f8")
    n, k = x.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<QQ", n, k))
        f.write(x.tobytes())


def read_matrix(path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    n, k = struct.unpack_from("<QQ", data)
    return np.frombuffer(data, dtype="<f8", count=n * k, offset=16).reshape(n, k).copy()


def write_result(path: Path, out: np.ndarray, status: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(out, dtype="<f8").tobytes())
        f.write(np.ascontiguousarray(status, dtype="<i4").tobytes())


def read_result(path: Path, n: int, n_outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a harness-protocol output file; raises ValueError if it is truncated."""
    data = Path(path).read_bytes()
    want = n * n_outputs * 8 + n * 4
    if len(data) != want:
        raise ValueError(f"harness output has {len(data)} bytes, expected {want}")
    out = np.frombuffer(data, dtype="<f8", count=n * n_outputs).reshape(n, n_outputs).copy()
    status = np.frombuffer(data, dtype="<i4", count=n, offset=n * n_outputs * 8).copy()
    return out, status
