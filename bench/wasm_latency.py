"""Single-row latency of the wasm32 target in node, beside the native library from Python.

    .venv/bin/python bench/wasm_latency.py            # ~30 s
    .venv/bin/python bench/wasm_latency.py --quick    # smoke run

Models (fixed seeds): (a) churn, the quickstart pipeline (ColumnTransformer: imputer +
scaler on 3 numeric columns, one-hot on 3 string columns; LogisticRegression), on a
DataFrame; (b) a RandomForestClassifier (100 trees, depth 8) on 20 numeric columns.

Each model is built (`staticml.build`), its C compiled to wasm (`build_wasm`) and its ES
module rendered (`render_mjs`). Timed, one row per call, cycling 256 distinct held-out rows,
each call timed alone and the median reported (after a warm-up):

- node, inside a JS loop (`process.hrtime.bigint()` around each call): `predict([row])` with
  the row as an object keyed by column name (strings mapped to codes in JS),
  `predictProba([row])`, and `predictMatrix(Float64Array, 1)` on an already encoded row;
- Python, `perf_counter_ns` around each call: the native library through
  `staticml.load(b)`: `predict` on a one-row DataFrame, `predict_one(dict)`, `predict` on a
  (1, k) float64 array (numeric models), and the raw ctypes call `_lib.predict_row`; and
  the same wasm module in-process under wasmtime (`WasmEngine.predict_matrix`, one row).

Before timing, node's predictions on the 256 rows are checked equal to Python's.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

import staticml
from staticml.backends.js import render_mjs
from staticml.runtime.node import NodeEngine, find_node, js_literal
from staticml.runtime.wasm import WasmEngine
from staticml.toolchain.wasm import build_wasm

N_ROWS = 256

_NODE_TIMER = r"""
import { pathToFileURL } from 'node:url';
const [mjs, rowsPath, calls, warmup] = process.argv.slice(1);
const model = await import(pathToFileURL(mjs).href);
await model.load();
const { objects, encoded } = (await import(pathToFileURL(rowsPath).href)).default;
const k = model.schema.inputs.length;
const matrices = encoded.map((r) => Float64Array.from(r));
const one = objects.map((r) => [r]);
const cases = { 'predict([row])': (i) => model.predict(one[i]),
                'predictMatrix(x, 1)': (i) => model.predictMatrix(matrices[i], 1) };
if (model.outputs.proba) cases['predictProba([row])'] = (i) => model.predictProba(one[i]);
const median = (a) => { a.sort((x, y) => x - y); return a[a.length >> 1]; };
const result = {};
const empty = [];
for (let c = 0; c < Number(calls); c++) {
  const t0 = process.hrtime.bigint();
  empty.push(Number(process.hrtime.bigint() - t0));
}
result['(timer overhead)'] = median(empty) / 1000;
for (const [name, fn] of Object.entries(cases)) {
  for (let c = 0; c < Number(warmup); c++) fn(c % one.length);
  const times = [];
  for (let c = 0; c < Number(calls); c++) {
    const i = c % one.length;
    const t0 = process.hrtime.bigint();
    fn(i);
    times.push(Number(process.hrtime.bigint() - t0));
  }
  result[name] = median(times) / 1000;
}
process.stdout.write(JSON.stringify(result));
"""


def churn_model() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    from staticml.quickstart import churn_data, churn_pipeline

    X, y = churn_data(n=3000, seed=1)
    return churn_pipeline().fit(X[:2000], y[:2000]), X[:300], X[2000:2000 + N_ROWS]


def forest_model() -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(3000, 20, n_informative=10, random_state=0)
    model = RandomForestClassifier(100, max_depth=8, random_state=0, n_jobs=1).fit(X[:2000], y[:2000])
    return model, X[:300], X[2000:2000 + N_ROWS]


def median_us(fn: Callable[[int], Any], calls: int, warmup: int) -> float:
    for c in range(warmup):
        fn(c % N_ROWS)
    times = []
    clock = time.perf_counter_ns
    for c in range(calls):
        i = c % N_ROWS
        t0 = clock()
        fn(i)
        times.append(clock() - t0)
    return statistics.median(times) / 1000


def measure(label: str, model: Any, sample: Any, held: Any, work: Path, calls: int,
            warmup: int) -> list[tuple[str, str, str, float]]:
    name = label
    bundle = work / name
    art = staticml.build(model, sample=sample, out=bundle, name=name)
    wasm = work / "wasm" / f"{name}.wasm"
    info = build_wasm(bundle / "src" / f"{name}.c", bundle / "include", wasm, name)
    manifest = art.manifest
    mjs = wasm.with_suffix(".mjs")
    mjs.write_text(render_mjs(name, {"inputs": manifest["inputs"]}, manifest["outputs"]))
    n_out = manifest["outputs"]["n_outputs"]

    names = [c.name for c in art.inputs]
    frame = held[names] if isinstance(held, pd.DataFrame) else pd.DataFrame(held, columns=names)
    objects = frame.astype(object).to_dict("records")
    x = art.encode(held)

    # Correctness first: the JS path must predict what Python predicts.
    got = NodeEngine(mjs, n_out).call("predict", objects)
    want = art.predict(held).tolist()
    if got != want:
        raise SystemExit(f"{name}: node predictions differ from Python's")

    rows_mod = work / f"{name}-rows.mjs"
    rows_mod.write_text(_rows_module(objects, x))
    res = subprocess.run([find_node(), "--input-type=module", "-e", _NODE_TIMER, str(mjs),
                          str(rows_mod), str(calls), str(warmup)],
                         capture_output=True, text=True, check=True)
    node = json.loads(res.stdout)

    rows_df = [frame.iloc[[i]] for i in range(N_ROWS)]
    rows_x = [x[i:i + 1] for i in range(N_ROWS)]
    engine = WasmEngine(wasm, name, x.shape[1], n_out)
    py = {
        "predict(1-row DataFrame)": lambda i: art.predict(rows_df[i]),
        "predict_one(dict)": lambda i: art.predict_one(objects[i]),
        "_lib.predict_row (raw ctypes)": lambda i: art._lib.predict_row(rows_x[i]),
        "WasmEngine.predict_matrix (1 row)": lambda i: engine.predict_matrix(rows_x[i]),
    }
    if not isinstance(held, pd.DataFrame):
        py["predict((1, k) array)"] = lambda i: art.predict(rows_x[i])
    table = [(name, "node + wasm (JS loop)", call, us) for call, us in node.items()]
    for call, fn in py.items():
        runtime = "Python + wasmtime" if call.startswith("Wasm") else "Python + native .so"
        table.append((name, runtime, call, median_us(fn, calls, warmup)))
    print(f"# {name}: {len(names)} inputs, wasm {wasm.stat().st_size} bytes, built in "
          f"{info['seconds']} s with {info['toolchain']}", file=sys.stderr)
    return table


def _rows_module(objects: list[dict], x: np.ndarray) -> str:
    """``export default {objects, encoded}`` (a JS literal, not JSON: NaN stays NaN)."""
    return f"export default {{ objects: {js_literal(objects)}, encoded: {js_literal(x.tolist())} }};\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (smoke run)")
    args = parser.parse_args(argv)
    calls, warmup = (2000, 200) if args.quick else (20000, 2000)
    if find_node() is None:
        raise SystemExit("needs node on PATH (or STATICML_NODE)")
    node_version = subprocess.run([find_node(), "--version"], capture_output=True,
                                  text=True).stdout.strip()
    print(f"staticml {staticml.__version__}, node {node_version}, Python "
          f"{platform.python_version()}, {platform.machine()}; median of {calls} calls "
          f"(after {warmup} warm-up) cycling {N_ROWS} rows")
    rows: list[tuple[str, str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="staticml-bench-wasm-") as tmp:
        for label, factory in (("churn", churn_model), ("forest", forest_model)):
            model, sample, held = factory()
            rows += measure(label, model, sample, held, Path(tmp), calls, warmup)
    print("\n| model | runtime | call | µs/call (median) |\n|---|---|---|---|")
    for model_name, runtime, call, us in rows:
        print(f"| {model_name} | {runtime} | `{call}` | {us:.2f} |")


if __name__ == "__main__":
    main()
