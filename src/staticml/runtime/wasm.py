"""Run ``NAME.wasm`` in this process with wasmtime: the wasm32 target as an ``Engine``.

In-process (no node needed) so ``verify`` can always check the wasm build bit for bit
against the host library. The module imports nothing; rows go into its linear memory at
``__heap_base`` (the same layout the ES module uses), in chunks so the buffers stay small.
A wasmtime ``Store`` is single-threaded, hence the lock. Needs the ``wasmtime`` package.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import ArtifactError, ToolchainError

PAGE = 65536
CHUNK_BYTES = 1 << 20  # row buffers per call, as in NAME.mjs


class WasmEngine:
    """``NAME_predict_matrix`` of a wasm32 module, under wasmtime."""

    target = "wasm32"
    runner = "wasmtime"

    def __init__(self, path: Path, name: str, n_inputs: int, n_outputs: int) -> None:
        try:
            import wasmtime
        except ImportError:
            raise ToolchainError("running the wasm32 target needs the wasmtime package: "
                                 "pip install wasmtime") from None
        self.path = Path(path)
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self._trap = wasmtime.Trap
        self._store = wasmtime.Store(wasmtime.Engine())
        module = wasmtime.Module.from_file(self._store.engine, str(self.path))
        if module.imports:
            wanted = ", ".join(f"{i.module}.{i.name}" for i in module.imports)
            raise ArtifactError(f"{self.path.name} imports {wanted}; staticml modules import "
                                "nothing. Rebuild it with staticml's wasm32 target")
        exports = wasmtime.Instance(self._store, module, []).exports(self._store)
        try:
            self._memory = exports["memory"]
            self._predict = exports[f"{name}_predict_matrix"]
            self._base = (exports["__heap_base"].value(self._store) + 7) & ~7
            self.abi_version = int(exports[f"{name}_abi_version"](self._store))
            self.schema_json = self._c_string(exports[f"{name}_schema_json"](self._store))
        except KeyError as exc:
            raise ArtifactError(f"{self.path.name} does not export {exc}: it is not the "
                                f"wasm32 build of {name!r}") from None
        self._row_bytes = (n_inputs + n_outputs) * 8 + 4
        self._chunk = max(1, CHUNK_BYTES // self._row_bytes)
        self._lock = threading.Lock()

    def _c_string(self, ptr: int) -> str:
        data = self._memory.read(self._store, ptr, self._memory.data_len(self._store))
        return bytes(data[:data.index(0)]).decode("utf-8")

    def _buffers(self, n: int) -> tuple[int, int, int]:
        """Addresses of x, out and status for ``n`` rows, growing memory when needed."""
        end = self._base + n * self._row_bytes
        have = self._memory.data_len(self._store)
        if end > have:
            self._memory.grow(self._store, -(-(end - have) // PAGE))
        out = self._base + n * self.n_inputs * 8
        return self._base, out, out + n * self.n_outputs * 8

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(n, n_outputs)`` float64 and statuses ``(n,)`` int32 for rows ``x``."""
        x = np.ascontiguousarray(x, dtype="<f8")
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"expected rows of shape (n, {self.n_inputs}), got {x.shape}")
        n, k = x.shape[0], self.n_outputs
        out = np.empty((n, k))
        status = np.empty(n, dtype=np.int32)
        with self._lock:
            for r0 in range(0, n, self._chunk):
                m = min(self._chunk, n - r0)
                px, po, ps = self._buffers(m)
                self._memory.write(self._store, x[r0:r0 + m].tobytes(), px)
                try:
                    self._predict(self._store, px, m, po, ps)
                except self._trap as exc:
                    raise ArtifactError(f"{self.path.name} trapped: {exc}") from None
                raw = self._memory.read(self._store, po, ps + 4 * m)
                out[r0:r0 + m] = np.frombuffer(raw, "<f8", count=m * k).reshape(m, k)
                status[r0:r0 + m] = np.frombuffer(raw, "<i4", count=m, offset=m * k * 8)
        return out, status

    def close(self) -> None:
        """Drop the instance (wasmtime frees it with the store)."""
        self._memory = self._predict = self._store = None  # type: ignore[assignment]
