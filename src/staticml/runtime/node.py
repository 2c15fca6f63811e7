"""Run the shipped ``NAME.mjs`` under node: the wasm32 target exactly as JS users get it.

``WasmEngine`` checks the ``.wasm`` in wasmtime; this engine imports the real ES module
(its loader, memory management and, through ``call``, its row encoding and errors) in a node
process, so a bug in the JavaScript is caught too. ``predict_matrix`` speaks the harness file
protocol of ``engine.py`` through the module's ``predictMatrix``; each call is one node run
(~50 ms), which is fine for parity checks, not for serving.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ToolchainError
from .engine import read_result, write_matrix

# argv: NAME.mjs, then "matrix IN OUT" or "call METHOD ROWS.mjs". Little-endian host assumed
# (typed arrays use the platform's byte order; node runs on little-endian CPUs only).
_HARNESS = r"""
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [mjs, mode, a, b] = process.argv.slice(1);
const model = await import(pathToFileURL(mjs).href);
await model.load();
if (mode === 'matrix') {
  const buf = readFileSync(a);
  const head = new DataView(buf.buffer, buf.byteOffset, 16);
  const n = Number(head.getBigUint64(0, true)), k = Number(head.getBigUint64(8, true));
  if (k !== model.schema.inputs.length) throw new Error(`input has ${k} columns, model takes ${model.schema.inputs.length}`);
  const x = new Float64Array(buf.buffer.slice(buf.byteOffset + 16, buf.byteOffset + 16 + n * k * 8));
  const { out, status } = model.predictMatrix(x, n);
  writeFileSync(b, Buffer.concat([new Uint8Array(out.buffer), new Uint8Array(status.buffer)]));
} else {
  const rows = (await import(pathToFileURL(b).href)).default;
  let reply;
  try {
    const result = model[a](rows);
    reply = { result: ArrayBuffer.isView(result) ? Array.from(result) : result };
  } catch (e) {
    if (!(e instanceof model.InputError)) throw e;
    reply = { error: { message: e.message, code: e.code, row: e.row, column: e.column } };
  }
  process.stdout.write(JSON.stringify(reply));
}
"""


def find_node() -> str | None:
    """``STATICML_NODE`` or ``node`` on PATH."""
    return os.environ.get("STATICML_NODE") or shutil.which("node")


def _js_value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or isinstance(v, (str, bool, int, float)):
        return v  # floats print as their shortest repr: JS reads back the same double
    if type(v).__name__ in ("NAType", "NaTType"):
        return None
    raise TypeError(f"cannot pass {v!r} ({type(v).__name__}) to JavaScript")


def js_rows_module(rows: list) -> str:
    """``export default [...]``: rows as a JS module (see ``js_literal``)."""
    return f"export default {js_literal(rows)};\n"


def js_literal(rows: list) -> str:
    """Rows (dicts or sequences) as a JS array literal. Unlike JSON it keeps NaN and ±Infinity."""

    def lit(v: Any) -> str:
        v = _js_value(v)
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return json.dumps(v, ensure_ascii=True)

    def row(r: Any) -> str:
        if isinstance(r, dict):
            return "{" + ",".join(f"{json.dumps(str(k))}:{lit(v)}" for k, v in r.items()) + "}"
        return "[" + ",".join(lit(v) for v in r) + "]"

    return "[\n" + ",\n".join(row(r) for r in rows) + "\n]"


class NodeEngine:
    """The ES module ``NAME.mjs`` (and the ``NAME.wasm`` beside it), run by node."""

    target = "wasm32"
    runner = "node"

    def __init__(self, mjs_path: Path, n_outputs: int) -> None:
        node = find_node()
        if node is None:
            raise ToolchainError("running NAME.mjs needs node (Node.js 18 or newer) on PATH, or "
                                 "STATICML_NODE set to its path")
        self.node = node
        self.mjs_path = Path(mjs_path).resolve()
        self.n_outputs = n_outputs

    def _run(self, *args: str) -> str:
        res = subprocess.run([self.node, "--input-type=module", "-e", _HARNESS,
                              str(self.mjs_path), *args], capture_output=True, text=True,
                             timeout=600)
        if res.returncode != 0:
            raise RuntimeError(f"node failed running {self.mjs_path.name}:\n"
                               f"{res.stderr.strip()[-4000:]}")
        return res.stdout

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs ``(n, n_outputs)`` and statuses ``(n,)`` from the module's ``predictMatrix``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        with tempfile.TemporaryDirectory(prefix="staticml-node-") as tmp:
            inp, outp = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
            write_matrix(inp, x)
            self._run("matrix", str(inp), str(outp))
            return read_result(outp, x.shape[0], self.n_outputs)

    def call(self, method: str, rows: list) -> Any:
        """``model[method](rows)`` in JavaScript (e.g. ``predict``), its result as JSON
        (typed arrays as lists; NaN becomes None).

        ``rows`` are dicts keyed by column name or lists in column order (None/NaN missing).
        An ``InputError`` thrown by the module is raised here as staticml's ``InputError``
        with the module's message, code, row and column.
        """
        with tempfile.TemporaryDirectory(prefix="staticml-node-") as tmp:
            data = Path(tmp) / "rows.mjs"
            data.write_text(js_rows_module(rows), encoding="utf-8")
            reply = json.loads(self._run("call", method, str(data)))
        if "error" in reply:
            err = reply["error"]
            raise InputError(err["message"], code=err["code"], row=err["row"],
                             column=err["column"])
        return reply["result"]

    def close(self) -> None:
        """Nothing to release: every call is its own node process."""
