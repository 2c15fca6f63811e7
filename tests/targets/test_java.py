"""The Java target: one dependency-free class per model, bit-identical to the C library.

For every zoo model and a 2000-tree forest: render the class from the bundle's ``ir.json``,
compile it with the real ``javac`` into a jar, run held-out and probe rows through
``JavaEngine`` (the harness protocol, a real ``java`` process) and require the native
library's exact output bits and statuses. Then the one-row ``Object[]`` API (string
categories, missing values, wrong types) through a small Java program compiled against the
jar, the math port against ``sm_math.h`` compiled by the C toolchain, and the encoder and
naming details without a JDK.

java/javac missing: skipped, unless STATICML_REQUIRE_RUNNERS is set (then it fails).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import json
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import staticml
from staticml.backends.java import render as jrender
from staticml.errors import ToolchainError
from staticml.ir import serialize
from staticml.runtime.java import JavaEngine
from staticml.toolchain.javac import build_jar, find_jdk_tool
from staticml.verification.runner import rows_for_check

from .runners import unavailable
from .zoo import ZOO, big_forest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "src" / "staticml" / "backends" / "java" / "runtime"
C_RUNTIME = ROOT / "src" / "staticml" / "backends" / "c" / "runtime"
NEEDS = {"xgboost_binary": "xgboost", "lightgbm_regression": "lightgbm"}


# -- runners ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def jdk() -> dict[str, str]:
    try:
        return {tool: find_jdk_tool(tool) for tool in ("java", "javac")}
    except ToolchainError as exc:
        unavailable(str(exc))
        raise


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("java")


# -- bundles ------------------------------------------------------------------------------
@dataclass
class Built:
    name: str
    art: Any
    graph: Any
    jar: Path
    main_class: str
    info: dict
    source: str
    x: np.ndarray  # held-out + sample + probe rows, encoded


def _version_json(art: Any) -> str:
    fn = getattr(art._lib._lib, f"{art.name}_version_json")
    fn.restype = ctypes.c_char_p
    return fn().decode("utf-8")


def build_java(model: Any, sample: Any, held: Any, root: Path, name: str) -> Built:
    """Native bundle, then the Java class from its ir.json, compiled into a jar."""
    art = staticml.build(model, sample=sample, out=root / "b", name=name)
    graph = serialize.from_dict(json.loads((root / "b" / "ir.json").read_text()))
    rows, _ = rows_for_check(graph, sample)
    x = np.concatenate([art.encode(held), art.encode(rows)])
    return add_java(art, graph, x, root, name)


def add_java(art: Any, graph: Any, x: np.ndarray, root: Path, name: str) -> Built:
    """Render the Java class of a built bundle's graph into ``root/java`` and compile it."""
    files = jrender.render_java(graph, name, art._lib.schema_json, _version_json(art),
                                f"test build of {name}")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    main = jrender.main_class(name)
    jar = root / "java" / f"{name}.jar"
    info = build_jar(root / "java", jar, main)
    return Built(name, art, graph, jar, main, info, next(iter(files.values())), x)


@functools.cache
def _zoo_built(key: str, workdir: Path) -> Built:
    if key in NEEDS and importlib.util.find_spec(NEEDS[key]) is None:
        pytest.skip(f"needs {NEEDS[key]}")
    model, sample, held = ZOO[key]()
    return build_java(model, sample, held, workdir / key, key)


def _assert_identical(b: Built, got: tuple[np.ndarray, np.ndarray]) -> None:
    want_out, want_status = b.art._lib.predict_matrix(b.x)
    out, status = got
    assert out.shape == want_out.shape
    np.testing.assert_array_equal(status, want_status)
    diff = np.flatnonzero((out.view(np.uint64) != want_out.view(np.uint64)).any(axis=1))
    assert diff.size == 0, (f"{diff.size} of {len(out)} rows differ, first {diff[:5]}: "
                            f"{out[diff[0]]} vs {want_out[diff[0]]}")


# -- the zoo and a big forest, bit for bit ----------------------------------------------------
@pytest.mark.cross
@pytest.mark.parametrize("key", sorted(ZOO))
def test_zoo_model_is_bit_identical_to_the_native_library(key, jdk, workdir):
    b = _zoo_built(key, workdir)
    assert b.info["flags"][:2] == ["--release", "8"] and b.info["toolchain"].startswith("javac")
    engine = JavaEngine(b.jar, b.main_class, b.art.manifest["outputs"]["n_outputs"])
    assert engine.target == "java"
    got = engine.predict_matrix(b.x)
    _assert_identical(b, got)
    # the rows exercise both outcomes: predictions and refusals (where the model has any)
    assert (got[1] == 0).any()


@pytest.mark.cross
def test_2000_tree_forest_builds_and_is_bit_identical(jdk, workdir):
    model, sample, held = big_forest()
    b = build_java(model, sample, held, workdir / "big", "big_forest")
    op = next(op for op in b.graph.ops if type(op).__name__ == "TreeEnsemble")
    assert op.n_trees == 2000 and len(op.feature) > 400_000
    # Data is in strings, not code: a few hundred constants, far from 65535 entries
    assert b.source.count('"') < 2 * 1000
    engine = JavaEngine(b.jar, b.main_class, 1)
    _assert_identical(b, engine.predict_matrix(b.x))


TREE_MODELS = ("random_forest", "gradient_boosting", "hist_gradient_boosting", "xgboost_binary",
               "lightgbm_regression")


@pytest.mark.cross
@pytest.mark.parametrize("key", TREE_MODELS)
def test_general_forest_kernel_is_bit_identical_too(key, jdk, workdir, monkeypatch):
    """The zoo's forests use the branch-free layout; the general kernel must agree as well."""
    b = _zoo_built(key, workdir)
    monkeypatch.setenv("STATICML_FOREST_KERNEL", "general")
    g = add_java(b.art, b.graph, b.x, workdir / f"{key}-general", key)
    assert g.source != b.source  # the switch took effect: another program, same bits below
    _assert_identical(g, JavaEngine(g.jar, g.main_class, b.art.manifest["outputs"]["n_outputs"])
                      .predict_matrix(g.x))


def lightgbm_categorical():
    """Bitset splits on an integer-coded category and zero_as_missing (LightGBM's Zero
    missing type): the C library runs these on its general kernel."""
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(5)
    n = 900
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 12, n)
    X[rng.random(n) < 0.1, 1] = np.nan
    X[rng.random(n) < 0.3, 2] = 0.0
    y = X[:, 0] + 1.5 * np.isin(X[:, 3], [1, 4, 7]) + np.nan_to_num(X[:, 1]) + (X[:, 2] == 0)
    model = lgb.LGBMRegressor(n_estimators=30, num_leaves=15, min_child_samples=5,
                              min_data_per_group=5, cat_smooth=1.0, max_cat_to_onehot=2,
                              zero_as_missing=True, n_jobs=1, verbose=-1, random_state=0)
    model.fit(X[:600], y[:600], categorical_feature=[3])
    held = X[600:].copy()
    held[::7, 3], held[::11, 3], held[::13, 3], held[::17, 3] = -1.0, 40.0, 2.7, np.nan
    held[::5, 2] = -1e-36  # |x| <= 1e-35f: missing under the Zero type
    return model, X[:200], held


@pytest.mark.cross
def test_categorical_and_zero_missing_trees_are_bit_identical(jdk, workdir):
    from staticml.backends.c.forest_layout import layout
    from staticml.ir.ops import MISSING_ZERO

    model, sample, held = lightgbm_categorical()
    b = build_java(model, sample, held, workdir / "lgbm_cat", "lgbm_cat")
    op = next(op for op in b.graph.ops if type(op).__name__ == "TreeEnsemble")
    assert (op.cat_node >= 0).any() and (op.missing_type == MISSING_ZERO).any()
    assert layout(op) is None  # the general kernel, in C and in Java
    _assert_identical(b, JavaEngine(b.jar, b.main_class, 1).predict_matrix(b.x))


@pytest.mark.cross
def test_blob_split_over_many_methods_still_decodes(jdk, workdir, monkeypatch):
    """Tiny chunks and parts force what only a multi-hundred-MB model would otherwise reach."""
    monkeypatch.setattr(jrender, "CHUNK", 400)
    monkeypatch.setattr(jrender, "PER_PART", 3)
    model, sample, held = ZOO["random_forest"]()
    b = build_java(model, sample, held, workdir / "split", "split_rf")
    assert len(re.findall(r"static String\[\] part\d+\(\)", b.source)) > 10
    _assert_identical(b, JavaEngine(b.jar, b.main_class, b.art.manifest["outputs"]["n_outputs"])
                      .predict_matrix(b.x))


@pytest.mark.cross
def test_engine_reports_a_bad_matrix(jdk, workdir):
    b = _zoo_built("ridge_regression", workdir)
    engine = JavaEngine(b.jar, b.main_class, 1)
    with pytest.raises(ToolchainError, match="bad input"):
        engine.predict_matrix(np.zeros((3, b.graph.n_inputs + 1)))
    out, status = engine.predict_matrix(np.zeros((0, b.graph.n_inputs)))
    assert out.shape == (0, 1) and status.shape == (0,)


# -- the one-row API from Java -------------------------------------------------------------
API_CHECK = r"""
import staticml.models.LogregPipeline;

public class ApiCheck {
    static String bits(double[] out) {
        StringBuilder sb = new StringBuilder();
        for (double d : out) sb.append(' ').append(Long.toHexString(Double.doubleToRawLongBits(d)));
        return sb.toString();
    }

    static void row(String label, Object[] row) {
        double[] out = new double[LogregPipeline.N_OUTPUTS];
        int rc = LogregPipeline.predict(row, out);
        System.out.println(label + " " + rc + bits(out));
    }

    public static void main(String[] args) {
        row("known", new Object[] {41.5, 52000.0, 3.0, "pro", "north"});
        row("boxed", new Object[] {41.5f, 52000, 3L, "basic", "east"});
        row("missing", new Object[] {null, 52000.0, Double.NaN, null, "mars"});
        row("infinite", new Object[] {Double.POSITIVE_INFINITY, 1.0, 2.0, "pro", "west"});
        row("wrongtype", new Object[] {"41.5", 52000.0, 3.0, "pro", "north"});
        row("numberforstring", new Object[] {41.5, 52000.0, 3.0, 7, "north"});
        row("short", new Object[] {41.5, 52000.0});
        double[] x = {41.5, 52000.0, 3.0, LogregPipeline.encode(3, "pro"), LogregPipeline.encode(4, "north")};
        double[] out = new double[LogregPipeline.N_OUTPUTS];
        System.out.println("encoded " + LogregPipeline.predict(x, out) + bits(out));
        int[] status = new int[2];
        double[] two = {41.5, 52000.0, 3.0, 0.0, 0.0, Double.NEGATIVE_INFINITY, 1.0, 1.0, -1.0, 0.0};
        double[] outs = new double[2 * LogregPipeline.N_OUTPUTS];
        int first = LogregPipeline.predictMatrix(two, 2, outs, status);
        System.out.println("matrix " + first + " " + status[0] + " " + status[1]);
        System.out.println("argument " + LogregPipeline.predict((Object[]) null, out) + " "
                           + LogregPipeline.predictMatrix(two, 3, outs, null));
        System.out.println("strerror " + LogregPipeline.strerror(LogregPipeline.E_ARGUMENT));
        System.out.println("classes " + String.join(",", LogregPipeline.classNames()));
        System.out.println("inputs " + String.join(",", LogregPipeline.inputNames()));
        System.out.println("abi " + LogregPipeline.abiVersion() + " " + LogregPipeline.N_INPUTS
                           + " " + LogregPipeline.N_OUTPUTS + " " + LogregPipeline.N_CLASSES);
        System.out.println("schema " + LogregPipeline.schemaJson());
        System.out.println("version " + LogregPipeline.versionJson());
    }
}
"""


def _run_java_program(jdk: dict, b: Built, tmp: Path, name: str, text: str,
                      *args: str) -> str:
    """Compile ``text`` (class ``name``) against the model's jar and run it; its stdout."""
    (tmp / f"{name}.java").write_text(text, encoding="utf-8")
    package = re.search(r"^package ([\w.]+);", text, flags=re.M)
    main = f"{package.group(1)}.{name}" if package else name
    cp = f"{b.jar}{os.pathsep}{tmp}"
    res = subprocess.run([jdk["javac"], "-cp", str(b.jar), "-d", str(tmp),
                          str(tmp / f"{name}.java")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([jdk["java"], "-cp", cp, main, *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _native_bits(b: Built, rows: list[list]) -> list[str]:
    frame = pd.DataFrame(rows, columns=[c.name for c in b.graph.inputs])
    out, status = b.art._lib.predict_matrix(b.art.encode(frame))
    return [f"{int(s) & 0xff} " + " ".join(f"{int(u):x}" for u in o.view(np.uint64))
            for o, s in zip(out, status)]


@pytest.mark.cross
def test_object_row_api_with_strings_missing_values_and_wrong_types(jdk, workdir, tmp_path):
    b = _zoo_built("logreg_pipeline", workdir)
    assert b.main_class == "staticml.models.LogregPipeline"
    lines = dict(ln.split(" ", 1) for ln in
                 _run_java_program(jdk, b, tmp_path, "ApiCheck", API_CHECK).splitlines())
    nan = np.nan
    known, boxed, missing, infinite = _native_bits(b, [
        [41.5, 52000.0, 3.0, "pro", "north"],
        [float(np.float32(41.5)), 52000.0, 3.0, "basic", "east"],
        [nan, 52000.0, nan, None, "mars"],
        [np.inf, 1.0, 2.0, "pro", "west"]])
    assert lines["known"] == known and lines["encoded"] == known
    assert lines["boxed"] == boxed
    assert lines["missing"] == missing and missing.startswith("0 ")  # imputed, unseen ignored
    assert lines["infinite"] == infinite and infinite.startswith("3 ")
    nan_row = "1" + " 7ff8000000000000" * b.art.manifest["outputs"]["n_outputs"]
    assert lines["wrongtype"] == lines["numberforstring"] == lines["short"] == nan_row
    assert lines["matrix"] == f"3 0 {3 | (1 + 0) << 8}"  # column 0 ("age") is infinite
    assert lines["argument"] == "1 1"
    assert "wrong type" in lines["strerror"]
    assert lines["classes"] == ",".join(str(c) for c in b.art.classes_)
    assert lines["inputs"] == ",".join(c.name for c in b.graph.inputs)
    assert lines["abi"] == f"{b.art._lib.abi_version} 5 {b.art.manifest['outputs']['n_outputs']} 2"
    assert lines["schema"] == b.art._lib.schema_json
    assert lines["version"] == _version_json(b.art)


# -- the math port against sm_math.h -------------------------------------------------------
MATH_CHECK = r"""
package staticml.models;

import java.io.*;

public class MathCheck {
    public static void main(String[] args) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(args[0])));
        int n = Integer.reverseBytes(in.readInt());
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = Double.longBitsToDouble(Long.reverseBytes(in.readLong()));
        in.close();
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(args[1])));
        for (int f = 0; f < 6; f++) {
            for (int i = 0; i < n; i++) {
                double y;
                switch (f) {
                    case 0: y = RidgeRegression.SmMath.exp(x[i]); break;
                    case 1: y = RidgeRegression.SmMath.expm1(x[i]); break;
                    case 2: y = RidgeRegression.SmMath.log(x[i]); break;
                    case 3: y = RidgeRegression.SmMath.log1p(x[i]); break;
                    case 4: y = RidgeRegression.SmMath.tanh(x[i]); break;
                    default: y = RidgeRegression.SmMath.sigmoid(x[i]); break;
                }
                out.writeLong(Long.reverseBytes(Double.doubleToRawLongBits(y)));
            }
        }
        out.close();
    }
}
"""
MATH_SHIM = r"""
#include <stddef.h>
#include "sm_math.h"
#define SM_V(f) __attribute__((visibility("default"))) \
    void f##_v(const double *x, double *y, size_t n) \
    { size_t i; for (i = 0; i < n; i++) y[i] = f(x[i]); }
SM_V(sm_exp) SM_V(sm_expm1) SM_V(sm_log) SM_V(sm_log1p) SM_V(sm_tanh) SM_V(sm_sigmoid)
"""
MATH_FUNCS = ("sm_exp", "sm_expm1", "sm_log", "sm_log1p", "sm_tanh", "sm_sigmoid")


def _math_points(n: int = 60_000) -> np.ndarray:
    """Specials, every path's switch points with neighbours, and random values over each
    function's range (log-uniform magnitudes, subnormals, near 0 and 1)."""
    rng = np.random.default_rng(7)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0 ** -54, 2.0 ** -28,
                      2.0 ** -18, 2.0 ** -9, 2.0 ** -8, 20.0, 40.0, -40.0, 700.0, -700.0, 709.0,
                      709.78, 710.0, -745.1, -746.0, 5e-324, 2.2250738585072014e-308,
                      np.finfo(float).max, 0.5, 0.7071067811865476, 1.4142135623730951])
    with np.errstate(over="ignore"):
        near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    mags = np.exp2(rng.uniform(-1074, 1024, n // 3))
    small = np.exp2(rng.uniform(-60, 10, n // 3))
    sign = rng.choice([-1.0, 1.0], n // 3)
    near_one = 1.0 + rng.normal(0, 1e-3, n // 6)
    dyadic = rng.integers(1, 1 << 20, n // 6) * 2.0 ** -rng.integers(20, 60, n // 6)
    return np.concatenate([edges, near, mags * sign, small * sign[::-1], near_one, dyadic,
                           -dyadic])


@pytest.mark.cross
def test_math_port_returns_the_c_headers_bits(jdk, workdir, tmp_path):
    from staticml.toolchain.compilers import build_shared, find_compiler

    b = _zoo_built("ridge_regression", workdir)
    x = _math_points()
    (tmp_path / "sm_math.h").write_text((C_RUNTIME / "sm_math.h").read_text())
    (tmp_path / "shim.c").write_text(MATH_SHIM)
    build_shared(find_compiler(), tmp_path / "shim.c", tmp_path, tmp_path / "shim.so")
    lib = ctypes.CDLL(str(tmp_path / "shim.so"))
    (tmp_path / "x.bin").write_bytes(struct.pack("<i", x.size) + x.astype("<f8").tobytes())
    _run_java_program(jdk, b, tmp_path, "MathCheck", MATH_CHECK,
                      str(tmp_path / "x.bin"), str(tmp_path / "y.bin"))
    java = np.fromfile(tmp_path / "y.bin", dtype="<f8").reshape(len(MATH_FUNCS), x.size)
    for k, fn in enumerate(MATH_FUNCS):
        want = np.empty_like(x)
        f = getattr(lib, f"{fn}_v")
        f.restype = None
        f(x.ctypes.data_as(ctypes.c_void_p), want.ctypes.data_as(ctypes.c_void_p),
          ctypes.c_size_t(x.size))
        bad = np.flatnonzero(java[k].view(np.uint64) != want.view(np.uint64))
        assert bad.size == 0, f"{fn}: {bad.size} inputs differ, e.g. x={x[bad[0]]!r}: " \
                              f"java {java[k][bad[0]]!r} vs C {want[bad[0]]!r}"


# -- without a JDK ---------------------------------------------------------------------------
def _c_table(name: str) -> list[str]:
    text = (C_RUNTIME / "sm_math.h").read_text()
    body = text.split(name, 1)[1].split("};", 1)[0].split("=", 1)[1]
    return re.findall(r"-?0x[0-9a-f.]+p[+-]?\d+", body)


def test_math_tables_are_the_c_headers_tables():
    java = (RUNTIME / "SmMath.java.in").read_text()
    for c_name, j_name, n in (("sm__exp_tab[128][2]", "EXP_TAB", 256),
                              ("sm__log_tab[129][3]", "LOG_TAB", 387)):
        body = java.split(f"double[] {j_name} = {{", 1)[1].split("};", 1)[0]
        values = re.findall(r"-?0x[0-9a-f.]+p[+-]?\d+", body)
        assert len(values) == n and values == _c_table(c_name)


def test_class_names():
    assert jrender.java_class_name("churn") == "Churn"
    assert jrender.java_class_name("big_forest") == "BigForest"
    assert jrender.java_class_name("myModel_v2") == "MyModelV2"
    assert jrender.java_class_name("_9lives") == "Model9lives"
    # names the generated file uses itself (java.lang/java.util, nested classes) get a suffix
    for taken in ("string", "map", "program", "sm_math", "data"):
        assert jrender.java_class_name(taken).endswith("Model")
    assert jrender.main_class("churn") == "staticml.models.Churn"


def test_source_is_dependency_free_and_readable():
    from staticml.data.schema import infer_inputs
    from staticml.frontends import lower
    from staticml.quickstart import churn_data, churn_pipeline

    X, y = churn_data(n=400, seed=3)
    model = churn_pipeline().fit(X, y)
    graph = lower(model, infer_inputs(model, X))
    files = jrender.render_java(graph, "churn", '{"name":"churn"}', '{"abi_version":1}', "b */ \\u0041")
    (path, src), = files.items()
    assert path == "java/src/staticml/models/Churn.java"
    imports = re.findall(r"^import ([\w.]+);", src, flags=re.M)
    assert imports and all(re.match(r"java\.(lang|util|io)\.[A-Z]\w*$", i) for i in imports)
    assert not re.search(r"\bjava\.(?!lang\.|util\.|io\.)[a-z]+\.|\bjavax\.", src)
    assert "public final strictfp class Churn {" in src
    assert "*/ \\u0041" not in src  # banner text cannot end the comment or escape
    assert "@@" not in src
    longest = max(len(m) for m in re.findall(r'"([A-Za-z0-9+/=]*)"', src))
    assert longest <= jrender.CHUNK < 65535


def test_varints_round_trip():
    a = np.array([0, 1, -1, 63, -64, 64, 127, 128, 300, -300, 2 ** 31 - 1, -2 ** 31])
    data = jrender._uvarints(jrender._zigzag(a))
    pos, got = 0, []
    while pos < len(data):
        shift = r = 0
        while True:
            c = data[pos]
            pos += 1
            r |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        got.append((r >> 1) ^ -(r & 1))
    assert got == a.tolist()
    with pytest.raises(ValueError):
        jrender._zigzag([2 ** 31])
