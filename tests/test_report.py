"""report.html: one self-contained page per bundle.

Rendered for a classification bundle (zoo logreg pipeline, with a training profile and a
drift report) and a regression bundle (zoo ridge), both built for real; a third bundle
whose column names are HTML (``<script>``, ``<img onerror>``) checks the escaping. The
page must reference nothing outside itself, mention every input column, and stay valid
HTML5. Then headless chromium loads it over HTTP: no console message, no resource
request, no script run, and the screenshot shows the charts in their colours.

chromium missing: the browser test is skipped, unless STATICML_REQUIRE_RUNNERS is set
(then it fails).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import threading
import zlib
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import staticml
from staticml.ir.ops import InputColumn
from staticml.report import render_report, svg, write_report
from staticml.report.html import REPORT

sys.path.insert(0, str(Path(__file__).parent))
from targets.zoo import logreg_pipeline, ridge_regression  # noqa: E402

HAVE_PROFILE = (importlib.util.find_spec("staticml.data.profile") is not None
                and importlib.util.find_spec("staticml.data.drift") is not None)
EVIL = ['<script>alert("x")</script>', "a&b 'q\"", "<img src=x onerror=alert(1)>"]


# -- bundles, profiles, drift -------------------------------------------------------------

def _inputs(manifest: dict) -> list[InputColumn]:
    return [InputColumn(c["name"], c["dtype"], tuple(c.get("vocabulary", ())))
            for c in manifest["inputs"]]


def _synthetic_profile(manifest: dict, rows: int = 200) -> dict:
    """A profile in the documented format, for when staticml.data.profile is absent."""
    cols = []
    for c in manifest["inputs"]:
        if c["dtype"] == "number":
            lo, hi = c.get("range", [0.0, 1.0])
            edges = list(np.linspace(lo, hi, 11)[1:-1])
            cols.append({"name": c["name"], "kind": "number", "edges": edges,
                         "counts": [rows // 10] * 10, "missing": 0, "missing_rate": 0.0,
                         "infinite": 0, "min": lo, "max": hi, "mean": (lo + hi) / 2,
                         "std": (hi - lo) / 4})
        else:
            k = len(c["vocabulary"])
            cols.append({"name": c["name"], "kind": "string", "categories": c["vocabulary"],
                         "counts": [rows // max(k, 1)] * k, "unseen": 0, "unseen_rate": 0.0,
                         "missing": 0, "missing_rate": 0.0})
    return {"format": "staticml.profile/1", "rows": rows, "bins": 10,
            "edges_from": {"rows": rows, "exact": True}, "columns": cols}


def _synthetic_drift(profile: dict) -> dict:
    verdicts = ["none", "moderate", "major"]
    cols = []
    for i, c in enumerate(profile["columns"]):
        v = verdicts[i % 3]
        psi = {"none": 0.02, "moderate": 0.17, "major": 0.61}[v]
        entry = {"name": c["name"], "kind": c["kind"], "rows": 100, "psi": psi + 0.05,
                 "psi_adjusted": psi, "df": 9, "verdict": v, "missing_rate": 0.0,
                 "training_missing_rate": 0.0}
        if c["kind"] == "number":
            entry.update(ks=psi / 2, out_of_range_rate=0.01,
                         training_range=[c["min"], c["max"]], counts=[*c["counts"], 0])
        else:
            entry.update(ks=None, unseen_rate=0.0, training_unseen_rate=0.0,
                         counts=[*c["counts"], 0, 0])
        cols.append(entry)
    return {"rows": 100, "training_rows": profile["rows"], "verdict": "major",
            "drifted": [c["name"] for c in cols if c["verdict"] != "none"],
            "thresholds": {"moderate": 0.1, "major": 0.25}, "columns": cols}


def _with_training_data(manifest: dict, train: Any, new: Any) -> tuple[dict, dict]:
    """The manifest with a ``training_data`` record, and a drift report on ``new``: the
    colleague modules' real output when they exist, else the documented format."""
    manifest = dict(manifest)
    if HAVE_PROFILE:
        from staticml.data.drift import drift
        from staticml.data.fingerprint import fingerprint
        from staticml.data.profile import profile

        prof = profile(train, _inputs(manifest))
        fp = fingerprint(train if hasattr(train, "columns") else
                         pd.DataFrame(train, columns=[c["name"] for c in manifest["inputs"]]))
        report = drift(prof, new)
    else:
        prof = _synthetic_profile(manifest)
        fp = {"rows": prof["rows"], "columns": [c["name"] for c in manifest["inputs"]],
              "content_sha256": "0" * 64, "unordered_sha256": "1" * 64}
        report = _synthetic_drift(prof)
    manifest["training_data"] = {"fingerprint": fp, "profile": prof}
    return manifest, report


@functools.lru_cache(maxsize=None)
def _built(kind: str, root: str) -> tuple[dict, dict | None]:
    out = Path(root) / kind
    if kind == "classification":
        model, sample, held = logreg_pipeline()
        staticml.build(model, sample=sample, out=out, name="lr")
        manifest = json.loads((out / "manifest.json").read_text())
        shifted = held.copy()
        shifted["income"] = shifted["income"] * 1.8            # major drift
        shifted.loc[shifted.index[:50], "plan"] = "pro"       # moderate drift
        return _with_training_data(manifest, sample, shifted)
    if kind == "regression":
        model, sample, held = ridge_regression()
        staticml.build(model, sample=sample, out=out, name="reg")
        manifest = json.loads((out / "manifest.json").read_text())
        return _with_training_data(manifest, sample, held + np.array([0.8] + [0.0] * 7))
    if kind == "evil":
        from sklearn.linear_model import LinearRegression

        rng = np.random.default_rng(3)
        X = pd.DataFrame({name: rng.normal(size=120) for name in EVIL})
        num = X[EVIL]
        model = LinearRegression().fit(num, num.iloc[:, 0] * 2 + num.iloc[:, 1])
        staticml.build(model, sample=num, out=out, name="evil")
        manifest = json.loads((out / "manifest.json").read_text())
        return _with_training_data(manifest, num, num * 1.5)
    raise ValueError(kind)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module", params=["classification", "regression"])
def bundle(request, workdir) -> tuple[str, dict, dict | None]:
    manifest, drift = _built(request.param, str(workdir))
    return request.param, manifest, drift


# -- static checks ------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
BLOCK_IN_P = {"address", "article", "aside", "blockquote", "div", "dl", "fieldset", "figure",
              "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main",
              "nav", "ol", "p", "pre", "section", "table", "ul"}


class _Structure(HTMLParser):
    """A strict well-formedness check for the subset of HTML5 the report uses: every
    non-void element closed in order, no block inside ``<p>`` (which a browser would
    silently split), unique ids, fragment links that resolve, doctype first."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: set[str] = set()
        self.links: set[str] = set()
        self.doctype = False
        self.seen_tag = False

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html" and not self.seen_tag:
            self.doctype = True

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen_tag = True
        names = [a for a, _ in attrs]
        if len(names) != len(set(names)):
            self.problems.append(f"duplicate attribute on <{tag}>: {names}")
        for a, v in attrs:
            if a == "id":
                if v in self.ids:
                    self.problems.append(f"duplicate id {v!r}")
                self.ids.add(v or "")
            if a == "href" and v and v.startswith("#"):
                self.links.add(v[1:])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag in BLOCK_IN_P and "p" in self.stack and "svg" not in self.stack:
            self.problems.append(f"<{tag}> inside <p>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID and "svg" not in self.stack:
            self.problems.append(f"self-closing <{tag}/> outside SVG")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def _check_structure(page: str) -> None:
    p = _Structure()
    p.feed(page)
    p.close()
    assert p.doctype, "the page must start with <!DOCTYPE html>"
    assert not p.stack, f"unclosed elements: {p.stack}"
    assert not p.problems, p.problems
    assert p.links <= p.ids, f"links to missing ids: {p.links - p.ids}"


def _check_self_contained(page: str) -> None:
    assert not re.search(r"""(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*"""
                         r"""(?:https?:|//|ftp:|file:)""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:|//)", page, re.I)
    assert "@import" not in page and "@font-face" not in page
    assert "<script" not in page.lower(), "the report runs no script"
    assert not re.search(r"<(?:iframe|object|embed|img|link(?![^>]*href=\"data:))", page, re.I)


def test_report_content(bundle):
    kind, manifest, drift = bundle
    page = render_report(manifest, drift)
    _check_structure(page)
    _check_self_contained(page)
    assert 'http-equiv="Content-Security-Policy"' in page
    for col in manifest["inputs"]:
        assert html.escape(col["name"]) in page
        for cat in col.get("categories", []):
            assert html.escape(str(cat)) in page
    for rel in manifest["files"]:
        assert html.escape(rel) in page
    for target in [*manifest["targets"], *manifest["parity"]]:
        assert f"<b class=\"nowrap\">{html.escape(target)}</b>" in page
    assert manifest["schema_sha256"] in page
    assert manifest["source_model"]["type"] in page
    assert page.count('<svg class="chart diffs"') == 1  # parity differences, log scale
    prof = manifest["training_data"]["profile"]
    n_num = sum(c["kind"] == "number" for c in prof["columns"])
    assert page.count('<svg class="chart hist"') == n_num
    assert page.count('<svg class="chart cats"') == len(prof["columns"]) - n_num
    assert page.count('<svg class="chart psi"') == 1
    assert f">drift: {drift['verdict']}</span>" in page
    tone = {"none": "ok", "moderate": "warn", "major": "bad"}
    for c in drift["columns"]:
        row = page[page.index(f"<td><code>{html.escape(c['name'])}</code></td>",
                              page.index('id="drift"')):]
        assert row.split("</tr>")[0].count(
            f'<span class="badge b-{tone[c["verdict"]]}">{c["verdict"]}</span>') == 1
    assert svg.TOLERANCE_COLOR in page
    if kind == "classification":
        assert "proba" in page and "decision" in page and "2 classes" in page
    else:
        assert "values" in page and "regression" in page
    assert render_report(manifest, drift) == page, "rendering must be deterministic"


def test_hostile_column_names_are_escaped(workdir):
    manifest, drift = _built("evil", str(workdir))
    details = {"ir": [0.0, 1e-16, 3e-12], "<script>": {"abs_diff": [0.0, 2e-15]}}
    page = render_report(manifest, drift, parity_details=details)
    _check_structure(page)
    _check_self_contained(page)
    for name in EVIL:
        assert name not in page
        assert html.escape(name) in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert '<svg class="chart strip"' in page


def test_renders_partial_and_failing_manifests(workdir):
    manifest, _ = _built("classification", str(workdir))
    _check_structure(render_report({}))
    page = render_report({"name": "<x>", "inputs": [{"name": "<y>", "kind": "categorical",
                                                     "categories": ["<c>", "a&amp;b"]}],
                          "parity": {"t": {}}, "dropped_inputs": ["<d>"]})
    _check_structure(page)
    for s in ("&lt;x&gt;", "&lt;y&gt;", "&lt;c&gt;", "a&amp;amp;b", "&lt;d&gt;"):
        assert s in page
    m = json.loads(json.dumps(manifest))
    m.pop("training_data")
    host = next(t for t, r in m["parity"].items() if r.get("bits", {}).get("reference"))
    bad = dict(m["parity"][host], target="onnx", passed=False, label_mismatches=2,
               max_abs_diff={"proba": 0.0, "decision": 3e-3},
               bits={"identical": False, "rows": 328, "identical_rows": 300,
                     "status_mismatches": 1, "nan_mismatches": 0, "max_ulps": 123456})
    bad["worst_rows"] = [{"row": 7, "what": "probe <plan>=x", "abs_diff": 3e-3,
                          "label_mismatch": True, "reference_error": False,
                          "artifact_error": False}]
    m["parity"]["onnx"] = bad
    m["parity"]["macos-arm64"] = {
        "ran": False, "reason": "needs a Mac <host>", "passed": False,
        "structure": {"problems": ["exports symbols beyond the lr_* API: _x"],
                      "info": {"format": "macho", "arch": "arm64", "min_os": "11.0",
                               "exports": ["_lr_predict"]}}}
    m["parity"]["windows-x86_64"] = {"ran": False, "reason": "no wine", "passed": None}
    page = render_report(m, None)
    _check_structure(page)
    _check_self_contained(page)
    assert "parity failed: onnx, macos-arm64" in page
    assert "123456 ulps" in page and "1 status diffs" in page and "300/328 rows" in page
    assert "needs a Mac &lt;host&gt;" in page and "structure: problems" in page
    assert "probe &lt;plan&gt;=x" in page and "= 0 (exact)" in page
    assert "no training data" in page and "No drift check" in page


def test_odd_values_anywhere_still_render(workdir):
    """The report is written at the end of a build: a field of an unexpected type (an older
    or newer manifest, a hand-edited one) must give a page, never a traceback."""
    manifest, drift = _built("classification", str(workdir))
    junk = [None, "<j>", 10**400, float("nan"), [], {}]
    paths: list[list] = []

    def walk(o: Any, path: list) -> None:
        if path:
            paths.append(path)
        items = o.items() if isinstance(o, dict) else enumerate(o[:2]) \
            if isinstance(o, list) else ()
        for k, v in items:
            walk(v, [*path, k])

    walk({"m": manifest, "d": drift}, [])
    for path in paths:
        for value in junk:
            root = json.loads(json.dumps({"m": manifest, "d": drift}))
            node = root
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
            page = render_report(root["m"], root["d"], parity_details={"ir": [0.0, 1e-3]})
            if value == "<j>":  # a string where anything was: still escaped, still valid
                assert "<j>" not in page
                _check_structure(page)


def test_write_report_is_atomic(tmp_path, monkeypatch):
    manifest = {"name": "m", "staticml_version": "0"}
    path = write_report(tmp_path, manifest)
    assert path == tmp_path / REPORT and path.read_text().startswith("<!DOCTYPE html>")
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    before = path.read_bytes()

    def boom(*a: Any, **k: Any) -> str:
        raise RuntimeError("render failed")

    import staticml.report.html as rh

    real_replace = os.replace
    monkeypatch.setattr(rh.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        write_report(tmp_path, {"name": "new"})
    monkeypatch.setattr(rh.os, "replace", real_replace)
    monkeypatch.setattr(rh, "render_report", boom)
    with pytest.raises(RuntimeError):
        write_report(tmp_path, {"name": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPORT], "no temp file left behind"


def test_log_axis_floor_and_ticks():
    axis = svg.LogAxis.fit([0.0, 2.2e-16, 1e-9], 0, 100)
    assert axis.lo <= -17 and axis.hi >= -9
    assert axis(0.0) == 0 and axis(1e-300) == 0  # zeros and denormals sit on the floor
    assert 0 < axis(2.2e-16) < axis(1e-9) <= 100
    assert axis.ticks()[0] == axis.lo and axis.ticks()[-1] == axis.hi
    assert svg.fmt(0.0) == "0" and svg.fmt(1e-9) == "1e-9" and svg.fmt(103818.7) == "1.04e5"


# -- headless chromium --------------------------------------------------------------------

# Runs before the page's CSP <meta> (which would block it): records script errors, CSP
# violations, resource fetches and each chart's box, then logs one console line.
PROBE = ("<script>(function(){var d=document.documentElement;d.setAttribute('data-probe','ran');"
         "function bump(k,v){d.setAttribute(k,(d.getAttribute(k)||'')+v+';');}"
         "window.addEventListener('error',function(e){"
         "bump('data-errors',e.message||(e.target&&e.target.tagName));},true);"
         "document.addEventListener('securitypolicyviolation',function(e){"
         "bump('data-csp',e.violatedDirective+' '+e.blockedURI);});"
         "window.addEventListener('load',function(){"
         "var r=[].map.call(document.querySelectorAll('svg.chart'),function(s){"
         "var b=s.getBoundingClientRect();return [s.getAttribute('class').split(' ')[1],"
         "Math.round(b.left),Math.round(b.top),Math.round(b.width),Math.round(b.height)]"
         ".join(',');});"
         "d.setAttribute('data-charts',r.join(';'));"
         "d.setAttribute('data-resources',String(performance.getEntriesByType('resource')"
         ".length));"
         "d.setAttribute('data-loaded','1');console.log('staticml-probe-ok');});})();</script>")

CHART_COLORS = {
    "diffs": list(svg.KIND_COLORS.values()),
    "hist": [svg.HIST_COLOR],
    "cats": [svg.CATEGORY_COLOR],
    "psi": list(svg.VERDICT_COLORS.values()),
    "strip": [svg.KIND_COLORS["proba"]],
}
WINDOW = (1280, 2000)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _chromium(binary: str, profile: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=5000", *extra, url],
        capture_output=True, text=True, timeout=180)


def read_png(data: bytes) -> tuple[int, int, np.ndarray]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what chromium writes) to an
    ``(h, w, 3)`` uint8 array, with zlib and numpy only (no Pillow in the venv)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    assert hdr is not None
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and interlace == 0 and ctype in (2, 6), hdr
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:]
        if f == 0:
            cur = line.copy()
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(w, bpp), axis=0, dtype=np.uint64).astype(np.uint8)
            cur = cur.reshape(stride)
        elif f == 2:
            cur = line + prev
        else:  # Average / Paeth depend on the pixel to the left: byte by byte
            cur = bytearray(line.tobytes())
            up = prev.tobytes()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = up[i]
                if f == 3:
                    cur[i] = (cur[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.frombuffer(bytes(cur), dtype=np.uint8)
        out[y] = cur
        prev = out[y]
    return w, h, out.reshape(h, w, bpp)[:, :, :3]


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)


def _color_pixels(img: np.ndarray, colors: list[str], tol: int = 14) -> int:
    px = img.astype(np.int16)
    hit = np.zeros(img.shape[:2], dtype=bool)
    for c in colors:
        hit |= (np.abs(px - _hex(c)) <= tol).all(axis=2)
    return int(hit.sum())


@pytest.mark.cross
@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_report_in_headless_chromium(chromium, workdir, tmp_path, kind):
    manifest, drift = _built(kind, str(workdir))
    site = tmp_path / "site"
    site.mkdir()
    page = write_report(site, manifest, drift).read_text(encoding="utf-8")
    head = '<meta charset="utf-8">'
    assert head in page[:200]
    # The probe goes before the page's CSP <meta>, which then forbids any later script.
    (site / "probe.html").write_text(page.replace(head, head + PROBE, 1), encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    shot = tmp_path / f"report-{kind}.png"
    try:
        dom = _chromium(chromium, tmp_path / "p1", f"{base}/probe.html", "--dump-dom")
        pic = _chromium(chromium, tmp_path / "p2", f"{base}/{REPORT}", f"--screenshot={shot}")
    finally:
        server.shutdown()
        server.server_close()
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert pic.returncode == 0 and shot.is_file(), pic.stderr[-3000:]

    root = re.search(r"<html([^>]*)>", dom.stdout)
    assert root, dom.stdout[:500]
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', root.group(1)))
    assert attrs.get("data-probe") == "ran" and attrs.get("data-loaded") == "1", attrs
    assert "data-errors" not in attrs, attrs["data-errors"]
    assert "data-csp" not in attrs, f"blocked by the CSP: {attrs['data-csp']}"
    assert attrs.get("data-resources") == "0", "the page fetched something"
    # Console: chromium logs every message as `...:CONSOLE:<line>] "text", source: ...`.
    # The probe logs one itself, which proves this grep sees console output at all.
    console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln]
    assert any("staticml-probe-ok" in ln for ln in console), dom.stderr[-3000:]
    assert [ln for ln in console if "staticml-probe-ok" not in ln] == []
    assert [ln for ln in pic.stderr.splitlines() if ":CONSOLE" in ln] == []
    assert "<h1>" in dom.stdout and html.escape(manifest["name"]) in dom.stdout

    charts = [(k, *map(int, rest)) for k, *rest in
              (c.split(",") for c in attrs["data-charts"].split(";") if c)]
    assert {k for k, *_ in charts} >= {"diffs", "psi"}
    w, h, img = read_png(shot.read_bytes())
    assert (w, h) == WINDOW
    background = (img.astype(np.int16) != 255).any(axis=2).mean()
    assert background > 0.02, "the screenshot is blank"
    seen = []
    for k, x, y, cw, ch in charts:
        if y >= h or y + ch <= 0:
            continue  # below the fold of this screenshot
        region = img[max(y, 0):min(y + ch, h), max(x, 0):min(x + cw, w)]
        hits = _color_pixels(region, CHART_COLORS[k])
        assert hits >= 30, f"{k} chart at ({x},{y}) shows no bars in its colours ({hits} px)"
        seen.append(k)
    assert "diffs" in seen, f"the parity chart is not in the first {h}px: {charts}"
    # Outside the charts the chart colours are rare (badges and links are other hues).
    assert _color_pixels(img, [svg.TOLERANCE_COLOR]) > 10, "the tolerance line is missing"
