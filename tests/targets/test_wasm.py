"""The wasm32 target: ``NAME.wasm`` + ``NAME.mjs``, checked the way users run them.

For every zoo model: the module imports nothing and exports the C ABI; under wasmtime
(in-process) and under node (through the shipped ES module's ``predictMatrix``) its outputs
are bit-identical and its statuses equal to the host library's on held-out and probe rows;
the ES module's ``predict``/``predictProba`` on rows of objects (string categories, NaN,
unseen values) equal ``staticml.load(b).predict(DataFrame)``. Then the module's errors, the
node example, and the web example in headless chromium.

node/chromium missing: skipped, unless STATICML_REQUIRE_RUNNERS is set (then it fails).
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import wasmtime

import staticml
from staticml.backends.js import render_mjs
from staticml.errors import FIXES, InputError
from staticml.ir import serialize
from staticml.runtime.node import NodeEngine, find_node
from staticml.runtime.wasm import WasmEngine
from staticml.toolchain.wasm import EXPORTED_FUNCTIONS, build_wasm, stack_size_for
from staticml.verification.runner import rows_for_check

from .runners import unavailable
from .zoo import ZOO

pytestmark = pytest.mark.cross
ROOT = Path(__file__).resolve().parents[2]


# -- runners (chromium: tests/conftest.py) -----------------------------------------------
@pytest.fixture(scope="session")
def node() -> str:
    found = find_node()
    if not found:
        unavailable("needs node")
    return found


# -- bundles ------------------------------------------------------------------------------
@dataclass
class Built:
    name: str
    bundle: Path
    wasm: Path
    mjs: Path
    info: dict
    art: Any
    graph: Any
    held: Any


def build_all(model: Any, sample: Any, held: Any, root: Path, name: str) -> Built:
    """Native bundle + wasm from its C + mjs from its manifest, as `build --target wasm32` will."""
    bundle = root / "b"
    staticml.build(model, sample=sample, out=bundle, name=name)
    manifest = json.loads((bundle / "manifest.json").read_text())
    wasm = root / "wasm" / f"{name}.wasm"
    info = build_wasm(bundle / "src" / f"{name}.c", bundle / "include", wasm, name)
    mjs = wasm.with_suffix(".mjs")
    mjs.write_text(render_mjs(name, {"name": name, "inputs": manifest["inputs"]},
                              manifest["outputs"]), encoding="utf-8")
    graph = serialize.from_dict(json.loads((bundle / "ir.json").read_text()))
    return Built(name, bundle, wasm, mjs, info, staticml.load(bundle), graph, held)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wasm")


@functools.lru_cache(maxsize=None)
def _zoo_built(key: str, workdir: Path) -> Built:
    model, sample, held = ZOO[key]()
    return build_all(model, sample, held, workdir / key, key)


@pytest.fixture(params=sorted(ZOO))
def built(request, workdir) -> Built:
    return _zoo_built(request.param, workdir)


def _check_rows(b: Built) -> np.ndarray:
    rows, _ = rows_for_check(b.graph, b.held)
    return b.art.encode(rows)


def _assert_same(b: Built, got: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> None:
    want_out, want_status = b.art._lib.predict_matrix(x)
    out, status = got
    assert out.shape == want_out.shape and status.shape == want_status.shape
    np.testing.assert_array_equal(status, want_status)
    diff = np.flatnonzero((out.view(np.uint64) != want_out.view(np.uint64)).any(axis=1))
    assert diff.size == 0, f"{diff.size} rows differ, first {diff[:5]}: {out[diff[0]]} vs " \
                           f"{want_out[diff[0]]}"


# -- the module ---------------------------------------------------------------------------
def test_module_imports_nothing_and_exports_the_c_abi(built):
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(built.wasm))
    assert module.imports == []
    names = {e.name for e in module.exports}
    assert names == {f"{built.name}_{fn}" for fn in EXPORTED_FUNCTIONS} | {"memory", "__heap_base"}
    assert "-ffp-contract=off" in built.info["flags"] and built.info["target"] == "wasm32-freestanding"
    assert built.wasm.stat().st_size < 256 * 1024  # stripped
    engine = WasmEngine(built.wasm, built.name, len(built.art.inputs),
                        built.art.manifest["outputs"]["n_outputs"])
    assert engine.schema_json == built.art._lib.schema_json
    assert engine.abi_version == built.art._lib.abi_version


def test_wasmtime_bit_identical_to_host_library(built):
    x = _check_rows(built)
    engine = WasmEngine(built.wasm, built.name, x.shape[1],
                        built.art.manifest["outputs"]["n_outputs"])
    _assert_same(built, engine.predict_matrix(x), x)
    # More rows than one chunk of buffers, and then few again: memory grows, is reused.
    big = np.repeat(x, max(1, 40_000 // len(x)), axis=0)
    _assert_same(built, engine.predict_matrix(big), big)
    _assert_same(built, engine.predict_matrix(x[:1]), x[:1])
    out, status = engine.predict_matrix(x[:0])
    assert out.shape == (0, built.art.manifest["outputs"]["n_outputs"]) and status.shape == (0,)


def test_artifact_api_runs_on_the_wasm_engine(built):
    """WasmEngine stands in for the ctypes library: staticml's own predict/predict_proba."""
    from staticml.runtime.artifact import Artifact

    manifest = built.art.manifest
    engine = WasmEngine(built.wasm, built.name, len(manifest["inputs"]),
                        manifest["outputs"]["n_outputs"])
    art = Artifact(built.bundle, manifest, engine, "wasm32")
    want = built.art.predict(built.held)
    got = art.predict(built.held)
    assert got.dtype == want.dtype and _bits_or_equal(got, want)
    assert _bits_or_equal(art.predict(built.held[:1]), want[:1])
    if manifest["outputs"]["proba"]:
        np.testing.assert_array_equal(_bits(art.predict_proba(built.held)),
                                      _bits(built.art.predict_proba(built.held)))


def _bits_or_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return bool((a.view(np.uint64) == b.view(np.uint64)).all() if a.dtype == np.float64
                else (a == b).all())


def test_stack_high_water_mark_is_within_the_reserved_stack(built):
    """The stack sits at [0, stack_size) and starts zeroed: the lowest non-zero byte after a
    run is how deep NAME_predict_matrix went. It must stay inside the estimate
    stack_size_for makes (before its 1 MiB floor), which the build reserves."""
    x = _check_rows(built)
    engine = WasmEngine(built.wasm, built.name, x.shape[1],
                        built.art.manifest["outputs"]["n_outputs"])
    engine.predict_matrix(x)
    stack = built.info["stack_size"]
    low = np.flatnonzero(np.frombuffer(bytes(engine._memory.read(engine._store, 0, stack)),
                                       np.uint8))
    used = stack - int(low[0])
    src = (built.bundle / "src" / f"{built.name}.c").read_text()
    slots = int(re.search(r"^#define N_SLOTS (\d+)$", src, re.M).group(1))
    block = int(re.search(r"^#define BLOCK (\d+)$", src, re.M).group(1))
    assert block * slots * 8 <= used <= 8 * 4 * max(block * slots, slots) + (256 << 10)
    assert stack_size_for(src) == stack


def test_node_runs_the_es_module_bit_identical(built, node):
    x = _check_rows(built)
    engine = NodeEngine(built.mjs, built.art.manifest["outputs"]["n_outputs"])
    _assert_same(built, engine.predict_matrix(x), x)


def _records(b: Built) -> tuple[list, list]:
    """Held-out rows as objects keyed by column name, and as arrays in column order."""
    names = [c.name for c in b.art.inputs]
    if isinstance(b.held, pd.DataFrame):
        frame = b.held[names]
    else:
        frame = pd.DataFrame(np.asarray(b.held), columns=names)
    objects = frame.astype(object).to_dict("records")
    return objects, [[r[n] for n in names] for r in objects]


def _bits(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def test_es_module_encodes_rows_as_python_does(built, node):
    """Strings -> vocabulary codes, unseen -> -1, None/NaN -> NaN (missing), numbers as is."""
    engine = NodeEngine(built.mjs, built.art.manifest["outputs"]["n_outputs"])
    objects, _ = _records(built)
    names = [c.name for c in built.art.inputs]
    extra = [{n: None for n in names}, {n: float("nan") for n in names},
             {n: ("no such category" if c.dtype == "string" else -1e300)
              for n, c in zip(names, built.art.inputs)}]
    rows = objects[:50] + extra
    want = built.art.encode(pd.DataFrame(rows, columns=names))
    got = np.array([np.nan if v is None else v for v in engine.call("encode", rows)])
    np.testing.assert_array_equal(_bits(got), _bits(want.ravel()))


def test_es_module_predict_equals_python(built, node):
    engine = NodeEngine(built.mjs, built.art.manifest["outputs"]["n_outputs"])
    objects, arrays = _records(built)
    want = built.art.predict(built.held)
    got = engine.call("predict", objects)
    if built.art.task == "classification":
        assert got == want.tolist()
    else:
        np.testing.assert_array_equal(_bits(got), _bits(want))
    assert engine.call("predict", arrays) == got
    if built.art.manifest["outputs"]["proba"]:
        np.testing.assert_array_equal(_bits(engine.call("predictProba", arrays)),
                                      _bits(built.art.predict_proba(built.held)))


# -- errors -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def strict(workdir) -> Built:
    """Rejects unknown categories (OneHotEncoder default) and missing/infinite numbers."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], 300),
                      "age": rng.normal(40, 10, 300), "income": rng.lognormal(10, 0.5, 300)})
    y = np.where((X["plan"] == "pro") | (X["age"] > 45), "yes", "no")
    model = Pipeline([("pre", ColumnTransformer([("cat", OneHotEncoder(), ["plan"]),
                                                 ("num", StandardScaler(), ["age", "income"])])),
                      ("clf", LogisticRegression())]).fit(X, y)
    return build_all(model, X[:100], X[200:], workdir / "strict", "strict")


GOOD = {"plan": "pro", "age": 41.5, "income": 52000.0}


@pytest.mark.parametrize("patch, code, column", [
    ({"plan": "platinum"}, 4, "plan"),
    ({"plan": None}, None, "plan"),
    ({"age": None}, 2, "age"),
    ({"age": float("nan")}, 2, "age"),
    ({"income": float("inf")}, 3, "income"),
    ({"income": float("-inf")}, 3, "income"),
], ids=["unknown-category", "missing-category", "null-number", "nan-number", "inf", "-inf"])
def test_refused_rows_name_row_column_and_fix_as_python_does(strict, node, patch, code, column):
    rows = [GOOD, GOOD, {**GOOD, **patch}, {**GOOD, **patch}]
    with pytest.raises(InputError) as py:
        strict.art.predict(pd.DataFrame(rows))
    engine = NodeEngine(strict.mjs, strict.art.manifest["outputs"]["n_outputs"])
    with pytest.raises(InputError) as js:
        engine.call("predict", rows)
    assert (js.value.row, js.value.column, js.value.code) == \
           (py.value.row, py.value.column, py.value.code) == (2, column, code or py.value.code)
    message = str(js.value)
    assert message.startswith(f'row 2 in column "{column}": ')
    assert message.endswith(f"; 1 more row(s) fail too. Fix: {FIXES[py.value.code]}.")
    shown = "missing" if patch[column] is None or patch[column] != patch[column] \
        else json.dumps(patch[column]) if isinstance(patch[column], str) \
        else ("Infinity" if patch[column] > 0 else "-Infinity")
    assert f"(value: {shown})" in message
    # The same row given as an array names the same column.
    with pytest.raises(InputError) as arr:
        engine.call("predictProba", [list(r.values()) for r in rows])
    assert (arr.value.row, arr.value.column) == (2, column)


@pytest.mark.parametrize("row, column, text", [
    ({**GOOD, "income": "52000"}, "income", 'must be numeric but holds "52000" (string)'),
    ({**GOOD, "plan": 3}, "plan", "must hold strings but holds 3 (number)"),
    ({"plan": "pro", "age": 41.5}, "income", 'is missing column "income"'),
    (["pro", 41.5], None, "has 2 values; the model takes 3 columns (plan, age, income)"),
], ids=["string-in-number-column", "number-in-string-column", "missing-key", "short-array"])
def test_malformed_rows_are_refused_before_the_model_runs(strict, node, row, column, text):
    engine = NodeEngine(strict.mjs, strict.art.manifest["outputs"]["n_outputs"])
    with pytest.raises(InputError) as js:
        engine.call("predict", [GOOD, row])
    assert (js.value.row, js.value.column, js.value.code) == (1, column, 1)
    assert str(js.value).startswith("row 1") and text in str(js.value)
    if isinstance(row, dict):  # Python's row-as-dict path refuses the same row
        with pytest.raises(InputError, match=column):
            strict.art.predict_one(row)


def _node_script(node: str, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([node, "--input-type=module", "-e", code], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_module_refuses_a_foreign_wasm_and_use_before_load(strict, node, workdir):
    other = _zoo_built("logreg_pipeline", workdir)
    code = f"""
        const m = await import({json.dumps(strict.mjs.as_uri())});
        try {{ m.predict([]); }} catch (e) {{ console.log('before:', e.message); }}
        try {{ await m.load(new URL({json.dumps(other.wasm.as_uri())})); }}
        catch (e) {{ console.log('foreign:', e.message); }}
        await m.load();
        console.log('after:', JSON.stringify(m.predict([{json.dumps(GOOD)}])));
        try {{ m.predict({json.dumps(GOOD)}); }} catch (e) {{ console.log('not-array:', e.name); }}
    """
    res = _node_script(node, code, workdir)
    assert res.returncode == 0, res.stderr
    lines = dict(line.split(": ", 1) for line in res.stdout.strip().splitlines())
    assert "call `await load()` before predicting" in lines["before"]
    assert "strict.wasm does not belong to this strict.mjs" in lines["foreign"]
    assert json.loads(lines["after"]) == strict.art.predict(pd.DataFrame([GOOD])).tolist()
    assert lines["not-array"] == "TypeError"


# -- examples -----------------------------------------------------------------------------
def _rows_json(rows: list[dict]) -> str:
    return json.dumps([{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                       for r in rows])


def test_node_example_prints_what_python_predicts(node, workdir, tmp_path):
    b = _zoo_built("logreg_pipeline", workdir)
    objects, _ = _records(b)
    rows = objects[:40] + [{**objects[0], "plan": None, "region": "atlantis", "age": None}]
    (tmp_path / "rows.json").write_text(_rows_json(rows))
    res = subprocess.run([node, str(ROOT / "examples/node/predict.mjs"), str(b.mjs),
                          str(tmp_path / "rows.json")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = [json.loads(line) for line in res.stdout.splitlines()]
    frame = pd.DataFrame(rows)
    assert [g["prediction"] for g in got] == b.art.predict(frame).tolist()
    np.testing.assert_array_equal(_bits([g["proba"] for g in got]),
                                  _bits(b.art.predict_proba(frame)))


# Appended to the copied page only: once the page marks itself ready (or failed) it posts its
# DOM back. The test waits for that post instead of chromium's virtual time, which does not wait
# for WebAssembly compilation on a loaded machine (CI once dumped the page before it was ready).
_REPORTER = """<script>
new MutationObserver((_, obs) => {
  if (!document.body.dataset.ready) return;
  obs.disconnect();
  fetch('/report', { method: 'POST', body: document.documentElement.outerHTML });
}).observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
</script>
"""


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves the site; a POST to /report hands the page's DOM to the test."""

    reports: list[str]
    posted: threading.Event

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reports.append(body.decode("utf-8"))
        self.posted.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _page_in_chromium(chromium: str, site: Path, query: str, profile: Path) -> str:
    """The page's DOM once it set data-ready; fails with chromium's stderr if it never does."""
    page = site / "index.html"
    page.write_text(page.read_text().replace("</body>", _REPORTER + "</body>"))
    posted = threading.Event()
    handler = type("Handler", (_SiteHandler,), {"reports": [], "posted": posted})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html?{query}"
    browser = subprocess.Popen([
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(180):  # up to 3 minutes; a page that works posts within seconds
            if posted.wait(1.0) or browser.poll() is not None:
                break
    finally:
        browser.kill()
        stderr = browser.communicate()[1]
        server.shutdown()
        server.server_close()
    assert handler.reports, f"the page never set data-ready; chromium said:\n{stderr[-2000:]}"
    return handler.reports[0]


def test_web_example_predicts_in_headless_chromium(chromium, workdir, tmp_path):
    b = _zoo_built("logreg_pipeline", workdir)
    site = tmp_path / "site"
    shutil.copytree(ROOT / "examples" / "web", site)
    shutil.copy(b.wasm, site)
    shutil.copy(b.mjs, site)
    objects, _ = _records(b)
    rows = objects[:60] + [{**objects[1], "plan": None, "region": "mars", "visits": None}]
    (site / "rows.json").write_text(_rows_json(rows))

    dom = _page_in_chromium(chromium, site, f"model={b.name}&rows=rows.json", tmp_path / "profile")
    status = re.search(r'<p id="status"[^>]*>(.*?)</p>', dom, re.S).group(1)
    assert 'data-ready="yes"' in dom, status

    batch = json.loads(html.unescape(re.search(r'<pre id="batch-result"[^>]*>(.*?)</pre>',
                                               dom, re.S).group(1)))
    frame = pd.DataFrame(rows)
    assert batch["predictions"] == b.art.predict(frame).tolist()
    np.testing.assert_array_equal(_bits(batch["proba"]), _bits(b.art.predict_proba(frame)))
    # The form starts at: numbers missing, each string column at its first category.
    default = {c.name: (c.vocabulary[0] if c.dtype == "string" else None) for c in b.art.inputs}
    shown = re.search(r'<output id="result"[^>]*>(.*?)</output>', dom, re.S).group(1)
    assert shown == str(b.art.predict(pd.DataFrame([default]))[0])
