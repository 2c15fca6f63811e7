"""staticml vs the model's own library, ONNX Runtime, tl2cgen, lleaves and m2cgen on tree
ensembles, measured side by side in one run.

    .venv/bin/python bench/trees.py           # full run (~15-20 min incl. first training)
    .venv/bin/python bench/trees.py --quick   # smoke run (~2 min): smaller models, fewer repeats
    .venv/bin/python bench/trees.py --only rf,lgbm   # a subset of the models

Peers: pip install m2cgen tl2cgen treelite lleaves "llvmlite<0.45" onnxmltools
(plus onnxruntime, skl2onnx, xgboost-cpu, lightgbm). A peer that is missing or fails on a
model is reported as "n/a: reason" in the table, never dropped.

Models (fixed seeds; full / --quick):
  rf    RandomForestClassifier(100 / 20 trees, max_depth=10)
  gbr   GradientBoostingRegressor(300 / 50 trees, max_depth=4)
  hgb   HistGradientBoostingClassifier(max_iter=200 / 50, early_stopping=False)
  xgb   XGBClassifier(500 / 100 trees, max_depth=6)
  lgbm  LGBMClassifier(500 / 100 trees, num_leaves=31)
  big   RandomForestClassifier(2000 / 100 trees, max_depth=8), trained on 10k rows (cheap
        to train, and every tree is close to full depth-8 size: ~290 nodes)
Data: make_classification(130000, 30, n_informative=15, random_state=0) (GBR:
make_regression(130000, 30, n_informative=20, noise=5, random_state=0)). Rows [0, 20k) train
(big: [0, 10k); quick GBR: [0, 5k)), [20k, 30k) are held out (parity, C timings, visited
nodes, single rows), [30k, 130k) measure throughput. Trained models are cached in
bench/results/cache/ keyed by class, parameters, rows and library version.

Measurements (classifiers: P(class 1); GBR: the prediction):
  - latency: one row per call from Python, median of N calls after a warm-up, cycling 256
    held-out rows (slow runtimes stop early after a time cap; the count is reported);
  - batch rows/s on the 100k throughput rows (median of R runs after a warm-up) with one
    thread and with os.cpu_count() threads (staticml and m2cgen: chunks in a
    ThreadPoolExecutor, ctypes releases the GIL);
  - C ns/row: bench/trees_harness.c dlopens each generated library and loops over the 10k
    held-out rows (staticml: NAME_predict_matrix on the whole block and NAME_predict per
    row; lleaves: one batch call and per-row calls; m2cgen/tl2cgen: their per-row function);
  - ns per visited node: C ns/row / visited nodes, where visited nodes = mean over held-out
    rows of the sum over trees of internal nodes on the path (from staticml's ir.json via
    staticml.ir.interpret_trees.leaves, cross-checked with treelite's predict_leaf);
  - build: staticml.build wall time in a child process (includes the parity check) with its
    gcc time and peak memory; peers: code generation + compiler time;
  - parity vs the native library on the held-out rows: max abs diff and label mismatches.

Output: markdown on stdout and in bench/results/trees.md (trees-quick.md), raw numbers in a
.json beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import gc
import hashlib
import importlib.metadata as md
import json
import os
import pickle
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / "results" / "cache"
N_TRAIN, N_HELD, N_THRU = 20_000, 10_000, 100_000
N_DISTINCT_ROWS = 256
NCPU = os.cpu_count() or 1

FULL = dict(calls=2000, warmup=200, latency_rounds=3, batch_runs=5, c_passes=21,
            single_cap_s=8.0, batch_cap_s=10.0, c_budget_s=10.0)
QUICK = dict(calls=300, warmup=30, latency_rounds=2, batch_runs=2, c_passes=5,
             single_cap_s=1.5, batch_cap_s=3.0, c_budget_s=2.0)

# Optimisation levels of the peers' generated C (see peer-baseline: for big if-else tree
# code -O2/-O3 buy nothing and cost 1.5-5x the compile time).
TL2CGEN_OPT = "-O1"
TL2CGEN_OPT_BIG = "-O0"
M2CGEN_OPT = "-O2"
M2CGEN_OPT_BIG = "-O1"
TL2CGEN_PARALLEL_COMP_BIG = 100   # big: 68 MB in one file did not compile in 10 min at -O0
PEER_COMPILE_TIMEOUT_S = 300
M2CGEN_CODEGEN_TIMEOUT_S = 120   # m2cgen's Python code generation is superlinear in size

# Goals of the issue.
GOAL_C_VS_GENERATOR = 0.25      # staticml C ns/row <= 1/4 of the best of m2cgen/tl2cgen
GOAL_NS_PER_NODE = 1.5          # on rf and xgb
GOAL_BATCH_VS_PEER = 2.0        # 1-thread rows/s >= 2x the best peer's 1-thread rows/s
GOAL_LAT_VS_ORT = 3.0           # single-row latency <= ORT / 3
GOAL_LAT_VS_PEER = 2.0          # ... and <= best peer / 2
GOAL_BUILD_S = 5.0              # per benchmark model
GOAL_BIG_BUILD_S = 60.0
GOAL_BIG_MEM_BYTES = 2 * 1024 ** 3

RUNTIMES = ("native", "onnxruntime", "tl2cgen", "lleaves", "m2cgen", "staticml")


# ----------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Spec:
    key: str
    lib: str              # sklearn | xgboost | lightgbm
    cls: str
    params: dict
    data: str             # clf | reg
    n_train: int = N_TRAIN
    bench_model: bool = True   # one of the benchmark models (build <= 5 s goal)

    @property
    def title(self) -> str:
        shown = {k: v for k, v in self.params.items()
                 if k not in ("random_state", "n_jobs", "verbose", "verbosity")}
        args = ", ".join(f"{k}={v}" for k, v in shown.items())
        rows = "" if self.n_train == N_TRAIN else f", trained on {self.n_train:,} rows"
        return f"{self.cls}({args}){rows}"

    @property
    def is_clf(self) -> bool:
        return self.data == "clf"


def specs(quick: bool) -> list[Spec]:
    q = quick
    return [
        Spec("rf", "sklearn", "RandomForestClassifier",
             dict(n_estimators=20 if q else 100, max_depth=10, random_state=0, n_jobs=-1), "clf"),
        Spec("gbr", "sklearn", "GradientBoostingRegressor",
             dict(n_estimators=50 if q else 300, max_depth=4, random_state=0), "reg",
             n_train=5_000 if q else N_TRAIN),
        Spec("hgb", "sklearn", "HistGradientBoostingClassifier",
             dict(max_iter=50 if q else 200, early_stopping=False, random_state=0), "clf"),
        Spec("xgb", "xgboost", "XGBClassifier",
             dict(n_estimators=100 if q else 500, max_depth=6, random_state=0, n_jobs=NCPU),
             "clf"),
        Spec("lgbm", "lightgbm", "LGBMClassifier",
             dict(n_estimators=100 if q else 500, num_leaves=31, random_state=0, verbose=-1),
             "clf"),
        Spec("big", "sklearn", "RandomForestClassifier",
             dict(n_estimators=100 if q else 2000, max_depth=8, random_state=0, n_jobs=-1),
             "clf", n_train=10_000, bench_model=False),
    ]


def _lib_version(lib: str) -> str:
    for dist in {"sklearn": ("scikit-learn",), "xgboost": ("xgboost", "xgboost-cpu"),
                 "lightgbm": ("lightgbm",)}[lib]:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            continue
    return "missing"


def _estimator_class(spec: Spec) -> Any:
    if spec.lib == "sklearn":
        import sklearn.ensemble as m
    elif spec.lib == "xgboost":
        import xgboost as m
    else:
        import lightgbm as m
    return getattr(m, spec.cls)


@dataclass
class Data:
    train: np.ndarray
    y_train: np.ndarray
    held: np.ndarray
    thru: np.ndarray


_DATA: dict[tuple, Data] = {}


def data_for(spec: Spec) -> Data:
    key = (spec.data, spec.n_train)
    if key not in _DATA:
        from sklearn.datasets import make_classification, make_regression

        n = N_TRAIN + N_HELD + N_THRU
        if spec.data == "clf":
            X, y = make_classification(n, 30, n_informative=15, random_state=0)
        else:
            X, y = make_regression(n, 30, n_informative=20, noise=5, random_state=0)
        a, b = N_TRAIN, N_TRAIN + N_HELD
        _DATA[key] = Data(np.ascontiguousarray(X[:spec.n_train]), y[:spec.n_train],
                          np.ascontiguousarray(X[a:b]), np.ascontiguousarray(X[b:]))
    return _DATA[key]


def _ident(spec: Spec) -> dict:
    return {"cls": spec.cls, "lib": spec.lib, "version": _lib_version(spec.lib),
            "params": {k: v for k, v in spec.params.items() if k != "n_jobs"},
            "data": spec.data, "n_train": spec.n_train, "numpy": np.__version__}


def fit_cached(spec: Spec, data: Data, say: Callable[[str], None]
               ) -> tuple[Any, dict, Path]:
    """The fitted model (from bench/results/cache when the same one was trained before),
    its metadata and its pickle's path."""
    ident = _ident(spec)
    h = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    path = CACHE / f"{spec.key}-{h}.pkl"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        with open(path, "rb") as f:
            model = pickle.load(f)
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return model, meta, path
    say(f"  training {spec.title} (cached afterwards in {path.relative_to(HERE.parent)})")
    model = _estimator_class(spec)(**spec.params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data.train, data.y_train)
    meta = {"fit_s": time.perf_counter() - t0, "ident": ident,
            "trained": time.strftime("%Y-%m-%d %H:%M")}
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["cached"] = False
    return model, meta, path


def set_threads(model: Any, spec: Spec, n: int) -> Any:
    """A copy of ``model`` whose predict uses ``n`` threads (where the library has a knob)."""
    if spec.lib == "sklearn":
        m = copy.copy(model)
        if hasattr(m, "n_jobs"):
            m.n_jobs = n
        return m
    if spec.lib == "xgboost":
        m = copy.deepcopy(model)
        m.set_params(n_jobs=n)
        return m
    m = copy.copy(model)
    m.set_params(n_jobs=n)
    return m


# ----------------------------------------------------------------------------- helpers
def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _p1(out: Any, n: int) -> np.ndarray:
    """P(class 1) (binary classifiers) or the prediction (regressors) from a runtime's output:
    the last column of the output row, whatever its shape."""
    return np.asarray(out, dtype=np.float64).reshape(n, -1)[:, -1]


def _size(n: float) -> str:
    if n >= 1024 ** 2:
        return f"{n / 1024 ** 2:.2f} MiB"
    return f"{n / 1024:.0f} KiB"


def _run(argv: list[str], timeout: float | None = None, cwd: Path | None = None) -> float:
    """Run a command; returns its wall time. On timeout the whole process group is killed
    (gcc's cc1 would otherwise outlive the driver) and TimeoutExpired is raised."""
    return _run_out(argv, timeout, cwd)[0]


def _run_out(argv: list[str], timeout: float | None = None, cwd: Path | None = None
             ) -> tuple[float, str]:
    import signal

    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... failed: {err.strip()[-800:]}")
    return time.perf_counter() - t0, out


def _short(exc: BaseException, limit: int = 110) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("|", "/")
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Parallel:
    """Run fn over os.cpu_count() row chunks in a thread pool (fn must release the GIL)."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], threads: int = NCPU) -> None:
        self.fn, self.threads = fn, threads
        self.pool = ThreadPoolExecutor(threads)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        chunks = np.array_split(X, self.threads)
        return np.concatenate(list(self.pool.map(self.fn, chunks)))


# ----------------------------------------------------------------------------- runtimes
@dataclass
class Runtime:
    name: str
    status: str = "ok"                       # "ok" or "n/a: reason"
    single: Callable | None = None           # (1, nf) float64 row -> output
    single_alt: dict = field(default_factory=dict)  # other single-row paths (label -> fn)
    batch1: Callable | None = None           # X -> output, one thread
    batchN: Callable | None = None           # X -> output, NCPU threads
    ctx1: Callable[[], Any] = contextlib.nullcontext   # context for 1-thread measurements
    c: dict | None = None                    # harness: kind, lib, sym, nout, col, block
    build: dict = field(default_factory=dict)
    size: str = "–"
    notes: list = field(default_factory=list)
    res: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def na(name: str, why: str) -> Runtime:
    return Runtime(name, status=f"n/a: {why}")


def rt_native(spec: Spec, model: Any, meta: dict) -> Runtime:
    from threadpoolctl import threadpool_limits

    m1, mN = set_threads(model, spec, 1), set_threads(model, spec, NCPU)
    fn = "predict_proba" if spec.is_clf else "predict"
    if spec.lib == "lightgbm":
        f1 = lambda X: m1.predict_proba(X, num_threads=1)  # noqa: E731
        fN = lambda X: mN.predict_proba(X, num_threads=NCPU)  # noqa: E731
    else:
        f1, fN = getattr(m1, fn), getattr(mN, fn)
    r = Runtime("native", single=f1, batch1=f1, batchN=fN)
    if spec.cls.startswith("HistGradient"):
        r.ctx1 = lambda: threadpool_limits(1, user_api="openmp")
        r.notes.append("HGB's OpenMP limited to 1 thread by threadpoolctl for latency and "
                       "1-thread batch")
    if spec.cls == "GradientBoostingRegressor":
        r.notes.append("GradientBoostingRegressor.predict is single-threaded: both batch "
                       "columns are the same code")
    r.size = f"pickle {_size(len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)))}"
    r.build = {"fit_s": meta.get("fit_s"), "cached": meta.get("cached")}
    return r


def _patch_skl2onnx_bools():
    """skl2onnx 1.20 + protobuf 7 on HistGradientBoosting: bools in
    nodes_missing_value_tracks_true are rejected; cast them to int (peer-baseline)."""
    import skl2onnx.common._container as cont

    orig = cont.make_node

    def make_node(*args, **kwargs):
        for k, v in list(kwargs.items()):
            if isinstance(v, (bool, np.bool_)):
                kwargs[k] = int(v)
            elif isinstance(v, np.ndarray) and v.dtype == np.bool_:
                kwargs[k] = v.astype(np.int64)
            elif isinstance(v, (list, tuple)) and any(isinstance(x, (bool, np.bool_))
                                                      for x in v):
                kwargs[k] = [int(x) if isinstance(x, (bool, np.bool_)) else x for x in v]
        return orig(*args, **kwargs)

    cont.make_node = make_node
    return lambda: setattr(cont, "make_node", orig)


def rt_onnx(spec: Spec, model: Any) -> Runtime:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return na("onnxruntime", _short(exc))
    nf = 30
    t0 = time.perf_counter()
    notes = []
    try:
        if spec.lib == "sklearn":
            from skl2onnx import to_onnx
            from skl2onnx.common.data_types import FloatTensorType

            opts = {id(model): {"zipmap": False}} if spec.is_clf else None
            undo = None
            if spec.cls.startswith("HistGradient"):
                undo = _patch_skl2onnx_bools()
                notes.append("skl2onnx HGB needed the bool->int make_node monkeypatch")
            try:
                onx = to_onnx(model, initial_types=[("X", FloatTensorType([None, nf]))],
                              options=opts)
            finally:
                if undo:
                    undo()
        else:
            import onnxmltools
            from onnxmltools.convert.common.data_types import FloatTensorType

            types = [("X", FloatTensorType([None, nf]))]
            if spec.lib == "xgboost":
                onx = onnxmltools.convert_xgboost(model, initial_types=types)
            else:
                onx = onnxmltools.convert_lightgbm(model, initial_types=types, zipmap=False)
        data = onx.SerializeToString()
    except Exception as exc:  # noqa: BLE001
        return na("onnxruntime", f"conversion: {_short(exc)}")
    convert_s = time.perf_counter() - t0

    def session(threads: int):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        return ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])

    s1, sN = session(1), session(NCPU)
    outs = [o.name for o in s1.get_outputs()]
    out = [next((o for o in outs if "prob" in o.lower()), outs[-1])] if spec.is_clf else [outs[0]]
    run1, runN = s1.run, sN.run
    r = Runtime("onnxruntime",
                single=lambda x: run1(out, {"X": x.astype(np.float32)})[0],
                batch1=lambda X: run1(out, {"X": X.astype(np.float32)})[0],
                batchN=lambda X: runN(out, {"X": X.astype(np.float32)})[0])
    r.build = {"codegen_s": convert_s}
    r.size = f"onnx {_size(len(data))}"
    r.notes += notes + ["float32 input cast inside every timed call; intra_op_num_threads = 1 "
                        f"/ {NCPU}"]
    return r


def _treelite_model(spec: Spec, model: Any):
    import treelite

    if spec.lib == "sklearn":
        return treelite.sklearn.import_model(model)
    if spec.lib == "xgboost":
        return treelite.frontend.from_xgboost(model.get_booster())
    return treelite.frontend.from_lightgbm(model.booster_)


def rt_tl2cgen(spec: Spec, model: Any, work: Path) -> Runtime:
    try:
        import tl2cgen
    except ImportError as exc:
        return na("tl2cgen", _short(exc))
    big = spec.key == "big"
    opt = TL2CGEN_OPT_BIG if big else TL2CGEN_OPT
    n_tu = (max(1, min(TL2CGEN_PARALLEL_COMP_BIG, spec.params["n_estimators"] // 20)) if big
            else 0)   # big: ~20 trees per translation unit
    d = work / f"tl2cgen_{spec.key}"
    shutil.rmtree(d, ignore_errors=True)
    try:
        t0 = time.perf_counter()
        tm = _treelite_model(spec, model)
        tl2cgen.generate_c_code(tm, d, params={"parallel_comp": n_tu})
        codegen_s = time.perf_counter() - t0
        recipe = json.loads((d / "recipe.json").read_text())
        sources = [str(d / f"{s['name']}.c") for s in recipe["sources"]]
        lib = d / f"libtl2cgen_{spec.key}.so"
        t0 = time.perf_counter()
        deadline = t0 + PEER_COMPILE_TIMEOUT_S
        if n_tu:  # one object per translation unit, NCPU compilers at a time, then link
            def obj(src: str) -> str:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise subprocess.TimeoutExpired("gcc", PEER_COMPILE_TIMEOUT_S)
                _run(["gcc", opt, "-c", "-fPIC", "-std=c99", src, "-o", src[:-2] + ".o"],
                     timeout=left)
                return src[:-2] + ".o"

            with ThreadPoolExecutor(NCPU) as pool:
                objects = list(pool.map(obj, sources))
            _run(["gcc", "-shared", *objects, "-o", str(lib), "-lm"], timeout=600)
        else:
            _run(["gcc", opt, "-shared", "-fPIC", "-std=c99", *sources, "-o", str(lib), "-lm"],
                 timeout=PEER_COMPILE_TIMEOUT_S)
        cc_s = time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        return na("tl2cgen", f"gcc {opt} did not finish in {PEER_COMPILE_TIMEOUT_S} s")
    except Exception as exc:  # noqa: BLE001
        return na("tl2cgen", _short(exc))
    header = (d / "header.h").read_text()
    n_target = int(re.search(r"#define N_TARGET (\d+)", header).group(1))
    n_class = int(re.search(r"#define MAX_N_CLASS (\d+)", header).group(1))
    nout = n_target * n_class
    f32_in = re.search(r"union Entry \{[^}]*\bfloat fvalue;", header, re.S) is not None
    f32_out = re.search(r"void predict\(union Entry\* data, int pred_margin, float\* result\)",
                        header) is not None
    in_dt = np.float32 if f32_in else np.float64
    out_dt = np.float32 if f32_out else np.float64

    so = ctypes.CDLL(str(lib))
    fn = so.predict
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    fn.restype = None
    xb = np.zeros((1, 30), dtype=in_dt)
    ob = np.zeros((1, nout), dtype=out_dt)
    px, po = _address(xb), _address(ob)

    def direct(x: np.ndarray) -> np.ndarray:
        xb[...] = x
        ob[...] = 0
        fn(px, 0, po)
        return ob.copy()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p1 = tl2cgen.Predictor(lib, nthread=1)
        pN = tl2cgen.Predictor(lib, nthread=NCPU)
    DM = tl2cgen.DMatrix
    cast = (lambda X: X.astype(np.float32)) if f32_in else (lambda X: X)
    r = Runtime("tl2cgen", single=direct,
                single_alt={"Predictor": lambda x: p1.predict(DM(cast(x)))},
                batch1=lambda X: p1.predict(DM(cast(X))),
                batchN=lambda X: pN.predict(DM(cast(X))))
    r.c = {"kind": "tl2cgen_f" if f32_out else "tl2cgen", "lib": str(lib), "sym": "predict",
           "nout": nout, "col": nout - 1}
    if f32_in != f32_out:
        r.c["kind"] = "unsupported"   # mixed float/double Entry+result: not in the harness
    r.build = {"codegen_s": codegen_s, "compile_s": cc_s, "flags": f"gcc {opt}"}
    c_bytes = sum(Path(s).stat().st_size for s in sources)
    r.size = f".so {_size(lib.stat().st_size)} (C {_size(c_bytes)})"
    how = (f"parallel_comp={n_tu} ({len(sources)} files, {NCPU} gcc jobs at a time)" if n_tu
           else "one translation unit")
    r.notes.append(f"gcc {opt}, {how}; latency: ctypes call of predict() "
                   "(Predictor+DMatrix in brackets); batch: tl2cgen.Predictor(nthread=1 / "
                   f"{NCPU}) incl. DMatrix" + (", float32 input cast" if f32_in else ""))
    return r


def rt_lleaves(spec: Spec, model: Any, work: Path) -> Runtime:
    if spec.lib != "lightgbm":
        return na("lleaves", "LightGBM models only")
    try:
        import lleaves
    except ImportError as exc:
        return na("lleaves", _short(exc))
    d = work / "lleaves"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    txt, obj, lib = d / "model.txt", d / "model.o", d / "liblleaves_model.so"
    try:
        model.booster_.save_model(str(txt))
        t0 = time.perf_counter()
        llm = lleaves.Model(model_file=str(txt))
        llm.compile(cache=str(obj))
        codegen_s = time.perf_counter() - t0
        link_s = _run(["gcc", "-shared", "-o", str(lib), str(obj), "-lm"])
    except Exception as exc:  # noqa: BLE001
        return na("lleaves", _short(exc))
    r = Runtime("lleaves",
                single=lambda x: llm.predict(x, n_jobs=1),
                batch1=lambda X: llm.predict(X, n_jobs=1),
                batchN=lambda X: llm.predict(X, n_jobs=NCPU))
    r.c = {"kind": "lleaves", "lib": str(lib), "sym": "forest_root", "nout": 1, "col": 0,
           "block": True}
    r.build = {"codegen_s": codegen_s, "compile_s": link_s, "flags": "LLVM (lleaves defaults)"}
    r.size = f".so {_size(lib.stat().st_size)} (.o {_size(obj.stat().st_size)})"
    r.notes.append("compile() = LLVM codegen to an object file; the C harness links it into "
                   "a .so; predict(n_jobs=1 / %d)" % NCPU)
    return r


def _m2cgen_export(model: Any) -> str:
    """m2cgen recurses once per tree and node: run it with a deep stack."""
    import m2cgen

    out: dict = {}

    def work() -> None:
        try:
            out["code"] = m2cgen.export_to_c(model)
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    old_stack = threading.stack_size(512 * 1024 * 1024)
    try:
        t = threading.Thread(target=work)
        t.start()
        t.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if "error" in out:
        raise out["error"]
    return out["code"]


M2CGEN_BATCH = """
#include <stddef.h>
void bench_score_batch(double *x, size_t n, size_t nf, double *out, size_t nout) {
    size_t r;
    for (r = 0; r < n; r++) score(x + r * nf, out + r * nout);
}
"""


def _m2cgen_child_main(arg: str) -> int:
    """In a fresh process (so a slow export can be stopped): m2cgen.export_to_c."""
    job = json.loads(arg)
    with open(job["model"], "rb") as f:
        model = pickle.load(f)
    if job.get("base_score") is not None:
        model = copy.copy(model)
        model.base_score = job["base_score"]
    t0 = time.perf_counter()
    try:
        code = _m2cgen_export(model)
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"error": _short(exc, 200)}))
        return 0
    dt = time.perf_counter() - t0
    Path(job["out"]).write_text(code)
    print(json.dumps({"codegen_s": dt}))
    return 0


def rt_m2cgen(spec: Spec, model: Any, model_path: Path, work: Path) -> Runtime:
    try:
        import m2cgen  # noqa: F401
    except ImportError as exc:
        return na("m2cgen", _short(exc))
    opt = M2CGEN_OPT_BIG if spec.key == "big" else M2CGEN_OPT
    notes = []
    base_score = None
    if spec.lib == "xgboost" and model.get_params().get("base_score") is None:
        # m2cgen 0.10 + XGBoost 3: base_score is None (TypeError); copy the learned one
        # from the booster's config (a decimal string rounded to a few digits).
        cfg = json.loads(model.get_booster().save_config())
        text = cfg["learner"]["learner_model_param"]["base_score"]
        base_score = float(text.strip("[]"))
        notes.append(f"XGBoost 3 base_score workaround ({text} from save_config)")
    d = work / f"m2cgen_{spec.key}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    code_path = d / "export.c"
    job = json.dumps({"model": str(model_path), "out": str(code_path),
                      "base_score": base_score})
    try:
        _, out = _run_out([sys.executable, str(Path(__file__).resolve()), "--m2cgen-child", job],
                          timeout=M2CGEN_CODEGEN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return na("m2cgen", f"code generation did not finish in {M2CGEN_CODEGEN_TIMEOUT_S} s")
    except Exception as exc:  # noqa: BLE001
        return na("m2cgen", f"export: {_short(exc, 90)}")
    res = json.loads(out.strip().splitlines()[-1])
    if "error" in res:
        return na("m2cgen", f"export: {res['error'][:90]}")
    codegen_s = res["codegen_s"]
    code = code_path.read_text()
    if not re.search(r"void score\(double \* input, double \* output\)", code):
        return na("m2cgen", "export has no void score(double*, double*)")
    src = d / "model.c"
    src.write_text(code + M2CGEN_BATCH)
    lib = d / f"libm2cgen_{spec.key}.so"
    try:
        cc_s = _run(["gcc", opt, "-shared", "-fPIC", "-std=c99", str(src), "-o", str(lib), "-lm"],
                    timeout=PEER_COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return na("m2cgen", f"gcc {opt} did not finish in {PEER_COMPILE_TIMEOUT_S} s")
    except Exception as exc:  # noqa: BLE001
        return na("m2cgen", _short(exc))
    so = ctypes.CDLL(str(lib))
    score, batch = so.score, so.bench_score_batch
    score.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    score.restype = None
    batch.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p,
                      ctypes.c_size_t]
    batch.restype = None
    nout = 2
    xb, ob = np.zeros((1, 30)), np.zeros((1, nout))
    px, po = _address(xb), _address(ob)

    def single(x: np.ndarray) -> np.ndarray:
        xb[...] = x
        score(px, po)
        return ob.copy()

    def run_batch(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((X.shape[0], nout))
        batch(_address(X), X.shape[0], X.shape[1], _address(out), nout)
        return out

    r = Runtime("m2cgen", single=single, batch1=run_batch, batchN=Parallel(run_batch))
    r.c = {"kind": "m2cgen", "lib": str(lib), "sym": "score", "nout": nout, "col": 1}
    r.build = {"codegen_s": codegen_s, "compile_s": cc_s, "flags": f"gcc {opt}"}
    r.size = f".so {_size(lib.stat().st_size)} (C {_size(len(code))})"
    r.notes += notes + [f"gcc {opt}; code generation in a child process (time inside it); "
                        "called via ctypes; batch = a C loop over score() added to the .so"]
    return r


def _build_child_main(arg: str) -> int:
    """In a fresh process: staticml.build on a cached model; prints one JSON line."""
    job = json.loads(arg)
    import staticml

    for mod in ("staticml.frontends.xgboost", "staticml.frontends.lightgbm"):
        try:
            __import__(mod)
        except Exception:  # noqa: BLE001 (reported by the build error if it matters)
            pass
    with open(job["model"], "rb") as f:
        model = pickle.load(f)
    sample = np.load(job["sample"])
    rss0 = _proc_status_kib("VmRSS")
    phases: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        staticml.build(model, sample, job["out"], job["name"],
                       progress=lambda msg: phases.append((msg, time.perf_counter())))
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001
        result["ok"] = False
        result["error"] = _short(exc, 300)
        result["traceback"] = traceback.format_exc()[-2000:]
    t1 = time.perf_counter()
    result["build_s"] = t1 - t0
    marks = phases + [("end", t1)]
    result["phases"] = [(m, b - a) for (m, a), (_, b) in zip(marks[:-1], marks[1:])]
    if phases:
        result["phases"].insert(0, ("start", phases[0][1] - t0))
    result["rss_before_kib"] = rss0
    result["self_peak_kib"] = _proc_status_kib("VmHWM")
    result["children_peak_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(result))
    return 0


def _proc_status_kib(key: str) -> int:
    try:
        text = Path("/proc/self/status").read_text()
        return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _gcc_peak_kib(bundle: Path, name: str, work: Path) -> int | None:
    """Peak RSS of staticml's compile step: the same compiler command staticml.build ran,
    re-run under /usr/bin/time (the build child's RUSAGE_CHILDREN would report the Python
    process's own RSS, inherited by the child at fork time)."""
    from staticml.toolchain.compilers import find_compiler, shared_library_flags

    if not Path("/usr/bin/time").exists():
        return None
    comp = find_compiler()
    mem = work / f"gcc_mem_{name}.txt"
    argv = ["/usr/bin/time", "-f", "%M", "-o", str(mem), *comp.argv,
            *shared_library_flags(comp), f"-I{bundle / 'include'}",
            str(bundle / "src" / f"{name}.c"), "-o", str(work / f"gcc_mem_{name}.so")]
    try:
        _run(argv, timeout=1800)
        return int(mem.read_text().split()[-1])
    except (RuntimeError, ValueError, subprocess.TimeoutExpired):
        return None


def rt_staticml(spec: Spec, model_path: Path, data: Data, work: Path) -> Runtime:
    import staticml

    name = f"bench_{spec.key}"
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    sample = work / f"sample_{spec.key}.npy"
    np.save(sample, data.train[:2000])
    job = json.dumps({"model": str(model_path), "sample": str(sample), "out": str(out),
                      "name": name})
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--build-child", job],
                         capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if res.returncode != 0 or not res.stdout.strip():
        return na("staticml", f"build child failed: {res.stderr.strip()[-200:]}")
    b = json.loads(res.stdout.strip().splitlines()[-1])
    if not b["ok"]:
        r = na("staticml", f"build: {b['error'][:160]}")
        r.build = b
        return r
    art = staticml.load(out, threads=1)
    art_n = staticml.load(out, threads=NCPU)  # staticml's own split of a batch over threads
    n_out = art.manifest["outputs"]["n_outputs"]
    meth = "predict_proba" if spec.is_clf else "predict"
    if spec.is_clf:
        col = art.manifest["outputs"]["proba"][1] - 1
    else:
        col = art.manifest["outputs"]["values"][0]
    fn = getattr(art, meth)
    r = Runtime("staticml", single=fn, batch1=fn, batchN=getattr(art_n, meth))
    header = (out / "include" / f"{name}.h").read_text()
    struct = re.search(rf"typedef struct {name}_input \{{(.*?)\}} {name}_input;", header, re.S)
    fields = re.findall(r"^\s*(\S[^;]*?)\s+\**[A-Za-z_]\w*;", struct.group(1), re.M)
    if len(fields) == len(art.inputs) and all(f == "double" for f in fields):
        r.c = {"kind": "staticml", "lib": str(art.library_path), "sym": name, "nout": n_out,
               "col": col, "block": True}
    else:
        r.notes.append("input struct is not all doubles: no C per-row timing")
    tgt = art.manifest["targets"][art.target]
    b["compile_s"] = tgt.get("seconds")
    b["gcc_peak_kib"] = _gcc_peak_kib(out, name, work)
    b["flags"] = " ".join(f for f in tgt.get("flags", []) if f.startswith("-O"))
    b["child_wall_s"] = wall
    r.build = b
    r.size = f".so {_size(art.library_path.stat().st_size)}"
    r.res["artifact"] = art
    r.res["ir_path"] = str(out / "ir.json")
    r.notes.append(f"latency: Artifact.{meth} on a (1, 30) array; batch: {meth} of "
                   f"staticml.load(threads=1), all threads = staticml.load(threads={NCPU})")
    return r


# ----------------------------------------------------------------------------- timing
def sample_single(fn: Callable, rows: list, calls: int, warmup: int, cap_s: float,
                  start: int = 0) -> list[int]:
    """ns of ``calls`` one-row calls (after ``warmup`` untimed ones), each timed alone, cycling
    through ``rows`` from ``start``; stops early (after at least 20 calls) past ``cap_s``."""
    k = len(rows)
    deadline = time.perf_counter() + cap_s
    for i in range(warmup):
        fn(rows[(start + i) % k])
        if i >= 10 and time.perf_counter() > deadline:
            break
    pc = time.perf_counter_ns
    ts = []
    gc.collect()
    deadline = time.perf_counter() + cap_s
    for i in range(calls):
        x = rows[(start + i) % k]
        t0 = pc()
        fn(x)
        ts.append(pc() - t0)
        if i >= 20 and time.perf_counter() > deadline:
            break
    return ts


def summarize_single(ts: list[int]) -> dict:
    ts = sorted(ts)
    n = len(ts)
    return {"median_us": ts[n // 2] / 1e3, "p90_us": ts[int(n * 0.9)] / 1e3, "calls": n}


def time_batch(fn: Callable, X: np.ndarray, runs: int, cap_s: float) -> dict:
    """Median rows/s of ``runs`` calls on ``X`` after a warm-up call. A slow runtime gets
    fewer runs (at least 3) and then fewer rows (at least 5,000) so that the measurement
    stays within about ``cap_s``; the rows and runs used are returned."""
    probe = X[:min(len(X), 5_000)]
    t0 = time.perf_counter()
    fn(probe)
    per_row = (time.perf_counter() - t0) / len(probe)
    rows = len(X)
    if per_row * rows * (runs + 1) > cap_s:
        runs = max(3, min(runs, int(cap_s / (per_row * rows)) - 1))
        rows = max(min(rows, 5_000), min(rows, int(cap_s / ((runs + 1) * per_row))))
    X = X[:rows]
    fn(X)  # warm-up
    ts = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn(X)
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts)
    return {"median_s": med, "rows_per_s": rows / med, "runs": runs, "rows": rows}


# ----------------------------------------------------------------------------- C harness
def compile_harness(work: Path) -> Path:
    exe = work / "trees_harness"
    cc = os.environ.get("CC", "cc")
    _run([cc, "-O2", "-std=c99", "-Wall", str(HERE / "trees_harness.c"), "-o", str(exe), "-ldl"])
    return exe


def run_harness(exe: Path, c: dict, rows_bin: Path, n: int, work: Path, tag: str,
                cfg: dict) -> dict:
    out_row, out_block = work / f"{tag}_row.bin", work / f"{tag}_block.bin"
    argv = [str(exe), c["kind"], c["lib"], c["sym"], str(rows_bin), str(n), "30",
            str(c["nout"]), str(cfg["c_passes"]), str(cfg["c_budget_s"]), str(out_row)]
    if c.get("block"):
        argv.append(str(out_block))
    res = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(f"harness failed: {res.stderr.strip()[-300:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["out_row"] = np.fromfile(out_row).reshape(n, c["nout"])[:, c["col"]]
    if c.get("block"):
        out["out_block"] = np.fromfile(out_block).reshape(n, c["nout"])[:, c["col"]]
    return out


# ----------------------------------------------------------------------------- visited nodes
def _depths(feature: np.ndarray, left: np.ndarray, right: np.ndarray, roots: np.ndarray
            ) -> np.ndarray:
    depth = np.zeros(len(feature), dtype=np.int64)
    frontier = np.asarray(roots, dtype=np.int64)
    while frontier.size:
        inner = frontier[feature[frontier] >= 0]
        kids = np.concatenate([left[inner], right[inner]]).astype(np.int64)
        depth[kids] = np.concatenate([depth[inner], depth[inner]]) + 1
        frontier = kids
    return depth


def visited_ir(ir_path: str, X: np.ndarray) -> tuple[float, int, int]:
    """(mean visited internal nodes per row, trees, nodes) from staticml's IR."""
    from staticml.ir import interpret_trees, serialize
    from staticml.ir.ops import TreeEnsemble

    graph = serialize.from_dict(json.loads(Path(ir_path).read_text()))
    ops = [op for op in graph.ops if isinstance(op, TreeEnsemble)]
    total = np.zeros(X.shape[0])
    trees = nodes = 0
    for op in ops:
        src = np.asarray(op.src)
        if (src >= X.shape[1]).any():
            raise ValueError("forest reads derived slots; visited nodes need the interpreter")
        depth = _depths(op.feature, op.left, op.right, op.roots)
        leaves = interpret_trees.leaves(op, X[:, src])
        total += depth[leaves].sum(axis=1)
        trees += op.n_trees
        nodes += len(op.feature)
    return float(total.mean()), trees, nodes


def kernel_steps(ir_path: str) -> dict | None:
    """Node steps per row that staticml's branch-free kernels take (they walk every tree to
    a fixed depth): the block kernel walks each tree to its own depth, the per-row kernel
    walks 16 trees in lock-step to the deepest of the 16."""
    from staticml.backends.c.forest_layout import GROUP, layout
    from staticml.ir import serialize
    from staticml.ir.ops import TreeEnsemble

    graph = serialize.from_dict(json.loads(Path(ir_path).read_text()))
    block = per_row = 0
    for op in graph.ops:
        if isinstance(op, TreeEnsemble):
            f = layout(op)
            if f is None:
                return None
            block += int(f.tree_depth.sum())
            per_row += int(f.group_depth.sum()) * GROUP
    return {"block": block, "per_row": per_row}


def visited_treelite(spec: Spec, model: Any, X: np.ndarray) -> tuple[float, int, int]:
    import treelite

    tm = _treelite_model(spec, model)
    leaves = treelite.gtil.predict_leaf(tm, X).astype(np.int64)
    doc = json.loads(tm.dump_as_json())
    total = np.zeros(X.shape[0])
    nodes = 0
    for t, tree in enumerate(doc["trees"]):
        by_id = {n["node_id"]: n for n in tree["nodes"]}
        nodes += len(by_id)
        depth = {0: 0}
        stack = [0]
        while stack:
            i = stack.pop()
            nd = by_id[i]
            if "left_child" in nd:
                for k in (nd["left_child"], nd["right_child"]):
                    depth[k] = depth[i] + 1
                    stack.append(k)
        dep = np.zeros(max(by_id) + 1, dtype=np.int64)
        for k, v in depth.items():
            dep[k] = v
        total += dep[leaves[:, t]]
    return float(total.mean()), len(doc["trees"]), nodes


# ----------------------------------------------------------------------------- one model
@dataclass
class Case:
    spec: Spec
    meta: dict
    runtimes: dict = field(default_factory=dict)
    visited: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def case_from_json(spec: Spec, d: dict) -> Case:
    """A finished model's section from a previous report's .json (for --merge)."""
    case = Case(spec, d["fit"], visited=d["visited"], notes=d["notes"])
    for name, r in d["runtimes"].items():
        case.runtimes[name] = Runtime(name, status=r["status"], build=r["build"],
                                      size=r["size"], notes=r["notes"], res=r["res"])
    return case


def run_case(spec: Spec, cfg: dict, work: Path, harness: Path, only_rt: set | None,
             say: Callable[[str], None]) -> Case:
    data = data_for(spec)
    model, meta, model_path = fit_cached(spec, data, say)
    case = Case(spec, meta)
    n_held = data.held.shape[0]

    builders = {
        "native": lambda: rt_native(spec, model, meta),
        "onnxruntime": lambda: rt_onnx(spec, model),
        "tl2cgen": lambda: rt_tl2cgen(spec, model, work),
        "lleaves": lambda: rt_lleaves(spec, model, work),
        "m2cgen": lambda: rt_m2cgen(spec, model, model_path, work),
        "staticml": lambda: rt_staticml(spec, model_path, data, work),
    }
    for name, make in builders.items():
        if only_rt and name not in only_rt and name != "native":
            continue
        say(f"  build {name}")
        t0 = time.perf_counter()
        try:
            r = make()
        except Exception as exc:  # noqa: BLE001
            r = na(name, _short(exc))
            r.notes.append(traceback.format_exc()[-1500:])
        r.build.setdefault("wall_s", time.perf_counter() - t0)
        say(f"    {r.status if not r.ok else 'ok'} ({time.perf_counter() - t0:.1f} s)")
        case.runtimes[name] = r

    native = case.runtimes["native"]
    ref = _p1(native.batch1(data.held), n_held)
    ref_label = (ref > 0.5) if spec.is_clf else None

    def parity(p: np.ndarray) -> dict:
        d = np.abs(p - ref)
        out = {"max_abs": float(np.nanmax(d)) if np.isfinite(p).all() else float("inf")}
        if spec.is_clf:
            out["labels"] = int(((p > 0.5) != ref_label).sum())
        else:
            out["max_rel"] = float(np.max(d / np.maximum(np.abs(ref), 1e-12)))
        return out

    rows = [data.held[i:i + 1] for i in range(N_DISTINCT_ROWS)]
    rows_bin = work / f"held_{spec.key}.bin"
    data.held.tofile(rows_bin)
    for name, r in case.runtimes.items():
        if not r.ok:
            continue
        say(f"  measure {name}")
        t0 = time.perf_counter()
        try:
            # sanity: the timed single-row callables return the right numbers
            for i in range(4):
                got = _p1(r.single(rows[i]), 1)[0]
                if not abs(got - ref[i]) <= 1e-4 * max(1.0, abs(ref[i])):
                    raise RuntimeError(f"single-row output {got} differs from native {ref[i]}")
            r.res["parity_py"] = parity(_p1(r.batch1(data.held), n_held))
            with r.ctx1():
                r.res["batch1"] = time_batch(r.batch1, data.thru, cfg["batch_runs"],
                                             cfg["batch_cap_s"])
            r.res["batchN"] = time_batch(r.batchN, data.thru, cfg["batch_runs"],
                                         cfg["batch_cap_s"])
            if r.c and r.c["kind"] != "unsupported":
                c = run_harness(harness, r.c, rows_bin, n_held, work, f"{spec.key}_{name}", cfg)
                c["parity_row"] = parity(c.pop("out_row"))
                if "out_block" in c:
                    c["parity_block"] = parity(c.pop("out_block"))
                r.res["c"] = c
        except Exception as exc:  # noqa: BLE001
            r.status = f"n/a: measurement failed: {_short(exc)}"
            r.notes.append(traceback.format_exc()[-1500:])
            say(f"    {r.status}")
        say(f"    ({time.perf_counter() - t0:.1f} s)")

    # Single-row latency: each runtime's 2000 calls after 200 warm-up are taken as one
    # contiguous block, repeated in rounds that go round-robin over the runtimes; the
    # result is the median of the round medians, so a burst of load from other processes
    # during one round does not decide the number.
    rounds = cfg["latency_rounds"]
    say(f"  latency ({rounds} rounds x {cfg['calls']} calls after {cfg['warmup']} warm-up, "
        "round-robin over runtimes)")
    medians: dict[tuple[str, str], list[float]] = {}
    samples: dict[tuple[str, str], list[int]] = {}
    for rnd in range(rounds):
        for name, r in case.runtimes.items():
            if not r.ok:
                continue
            try:
                with r.ctx1():
                    for label, fn in [("", r.single), *r.single_alt.items()]:
                        ts = sample_single(fn, rows, cfg["calls"], cfg["warmup"],
                                           cfg["single_cap_s"] / rounds)
                        medians.setdefault((name, label), []).append(
                            summarize_single(ts)["median_us"])
                        samples.setdefault((name, label), []).extend(ts)
            except Exception as exc:  # noqa: BLE001
                r.status = f"n/a: latency measurement failed: {_short(exc)}"
                r.notes.append(traceback.format_exc()[-1500:])
    for key, ts in samples.items():
        name, label = key
        r = case.runtimes[name]
        if not r.ok:
            continue
        res = summarize_single(ts)
        res["round_medians_us"] = medians[key]
        res["median_us"] = statistics.median(medians[key])
        res["calls"] = len(ts) // len(medians[key])
        if label:
            r.res.setdefault("latency_alt", {})[label] = res
        else:
            r.res["latency"] = res

    say("  visited nodes")
    sm = case.runtimes.get("staticml")
    try:
        case.visited["treelite"] = visited_treelite(spec, model, data.held)
    except Exception as exc:  # noqa: BLE001
        case.visited["treelite_error"] = _short(exc)
    if sm is not None and sm.ok:
        try:
            case.visited["ir"] = visited_ir(sm.res["ir_path"], data.held)
        except Exception as exc:  # noqa: BLE001
            case.visited["ir_error"] = _short(exc)
    if sm is not None and sm.ok:
        try:
            case.visited["kernel_steps"] = kernel_steps(sm.res["ir_path"])
        except Exception as exc:  # noqa: BLE001
            case.visited["kernel_steps_error"] = _short(exc)
    v_ir, v_tl = case.visited.get("ir"), case.visited.get("treelite")
    case.visited["per_row"] = (v_ir or v_tl or (None,))[0]
    case.visited["source"] = "staticml IR" if v_ir else ("treelite" if v_tl else None)
    if v_ir and v_tl and abs(v_ir[0] - v_tl[0]) > 1e-6 * v_ir[0]:
        case.notes.append(f"visited nodes differ: IR {v_ir[0]:.2f} vs treelite {v_tl[0]:.2f}")
    return case


# ----------------------------------------------------------------------------- report
def _us(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def _rps(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.0f} k"


def _ns(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _e(v: float | None) -> str:
    return "–" if v is None else f"{v:.1e}"


def _get(r: Runtime, *path: str) -> Any:
    cur: Any = r.res
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _c_row(r: Runtime) -> float | None:
    return _get(r, "c", "row_ns_median")


def _c_block(r: Runtime) -> float | None:
    return _get(r, "c", "block_ns_median")


def model_table(case: Case) -> list[str]:
    spec = case.spec
    vis = case.visited.get("per_row")
    L = [f"### {spec.key}: {spec.title}\n"]
    fit = case.meta.get("fit_s")
    v = case.visited.get("ir") or case.visited.get("treelite")
    bits = [f"fit {fit:.1f} s" + (" (cached model)" if case.meta.get("cached") else "")
            if fit is not None else "fit time unknown"]
    if v:
        bits.append(f"{v[1]:,} trees, {v[2]:,} nodes")
    if vis:
        bits.append(f"visited internal nodes per row {vis:,.1f} (from {case.visited['source']})")
    ks = case.visited.get("kernel_steps")
    if ks:
        bits.append(f"staticml kernel steps per row {ks['block']:,} (matrix) / "
                    f"{ks['per_row']:,} (per-row, incl. padding lanes)")
    L.append("; ".join(bits) + "\n")
    L.append("| runtime | latency µs (1 row, Python) | batch rows/s 1 thread | batch rows/s "
             f"{NCPU} threads | C ns/row | ns / visited node | build s | artifact | "
             "parity max abs diff | label mismatches |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for name in RUNTIMES:
        r = case.runtimes.get(name)
        if r is None:
            continue
        if not r.ok:
            L.append(f"| {name} | {r.status} | – | – | – | – | – | – | – | – |")
            continue
        lat = _get(r, "latency", "median_us")
        lat_s = _us(lat)
        calls = _get(r, "latency", "calls")
        if calls is not None and calls < 1000:
            lat_s += f" ({calls} calls)"
        for label, alt in r.res.get("latency_alt", {}).items():
            lat_s += f" ({label} {_us(alt['median_us'])})"
        b1, bN = _get(r, "batch1", "rows_per_s"), _get(r, "batchN", "rows_per_s")
        b1_s, bN_s = _rps(b1), _rps(bN)
        for key, cell in (("batch1", "b1_s"), ("batchN", "bN_s")):
            used = _get(r, key, "rows")
            if used is not None and used < N_THRU:
                if cell == "b1_s":
                    b1_s += f" ({used // 1000}k rows)"
                else:
                    bN_s += f" ({used // 1000}k rows)"
        crow, cblock = _c_row(r), _c_block(r)
        if name == "staticml" and crow is not None:
            c_s = f"{_ns(cblock)} matrix / {_ns(crow)} per-row"
            n_s = (f"{cblock / vis:.2f} / {crow / vis:.2f}" if vis else "–")
        elif name == "lleaves" and crow is not None:
            c_s = f"{_ns(cblock)} batch call / {_ns(crow)} per-row"
            n_s = (f"{cblock / vis:.2f} / {crow / vis:.2f}" if vis else "–")
        elif crow is not None:
            c_s = f"{_ns(crow)} per-row"
            n_s = f"{crow / vis:.2f}" if vis else "–"
        else:
            c_s = "–"
            n_s = f"({1e9 / b1 / vis:.2f} from batch)" if (vis and b1) else "–"
        timed = _get(r, "c", "timed_rows")
        if timed is not None and timed < N_HELD:
            c_s += f" (timed on {timed:,} rows)"
        bd = r.build
        if name == "native":
            build_s = "–"
        elif name == "staticml":
            build_s = f"{bd['build_s']:.2f} (gcc {bd['compile_s']:.2f})"
        else:
            cg, cc = bd.get("codegen_s"), bd.get("compile_s")
            build_s = f"{cg:.2f}" + (f" + {cc:.1f}" if cc is not None else "")
        par = r.res.get("parity_py", {})
        worst = par.get("max_abs")
        lab = par.get("labels")
        c = r.res.get("c", {})
        cpar = [c[k] for k in ("parity_row", "parity_block") if k in c]
        par_s = "reference" if name == "native" else _e(worst)
        if cpar and name != "native":
            par_s += f" (C {_e(max(p['max_abs'] for p in cpar))})"
        if spec.is_clf:
            labs = [lab] + [p.get("labels", 0) for p in cpar]
            lab_s = "–" if name == "native" else f"{max(x for x in labs if x is not None)}/{N_HELD}"
        else:
            rel = par.get("max_rel")
            lab_s = "–" if name == "native" else f"rel {_e(rel)}"
        L.append(f"| {name} | {lat_s} | {b1_s} | {bN_s} | {c_s} | {n_s} | {build_s} | "
                 f"{r.size} | {par_s} | {lab_s} |")
    L.append("")
    return L


def goals(cases: list[Case]) -> list[str]:
    L = ["## Goals\n", "Printed as measured; the measurement is not tuned to meet them. "
         "'per-row' = NAME_predict called once per row, 'matrix' = one NAME_predict_matrix "
         "call on the 10k rows.\n",
         "| model | goal | measured | met? |", "|---|---|---|---|"]

    def yes(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "NOT MET")

    for case in cases:
        k = case.spec.key
        rts = case.runtimes
        sm = rts.get("staticml")
        if sm is None or not sm.ok:
            L.append(f"| {k} | all | staticml {sm.status if sm else 'not run'} | n/a |")
            continue
        vis = case.visited.get("per_row")
        srow, sblk = _c_row(sm), _c_block(sm)
        gens = [(n, _c_row(rts[n])) for n in ("m2cgen", "tl2cgen")
                if n in rts and rts[n].ok and _c_row(rts[n])]
        if gens and srow:
            bn, bv = min(gens, key=lambda t: t[1])
            for label, v in (("matrix", sblk), ("per-row", srow)):
                if v is None:
                    continue
                L.append(f"| {k} | C ns/row ≤ ¼ of best C generator ({bn}) — {label} | "
                         f"{v:,.0f} vs {bv:,.0f} ns ({bv / v:.1f}x faster) | "
                         f"{yes(v <= GOAL_C_VS_GENERATOR * bv)} |")
        elif srow:
            L.append(f"| {k} | C ns/row ≤ ¼ of best C generator | no C generator ran "
                     "(" + ", ".join(f"{n}: {rts[n].status}" for n in ("m2cgen", "tl2cgen")
                                     if n in rts) + ") | n/a |")
        ll = rts.get("lleaves")
        if k == "lgbm" and ll is not None and ll.ok and _c_row(ll):
            for label, v, lv in (("matrix vs lleaves batch call", sblk, _c_block(ll)),
                                 ("per-row vs lleaves per-row", srow, _c_row(ll))):
                L.append(f"| {k} | C ns/row below lleaves — {label} | {v:,.0f} vs {lv:,.0f} ns "
                         f"| {yes(v < lv)} |")
        if k in ("rf", "xgb") and vis:
            for label, v in (("matrix", sblk), ("per-row", srow)):
                if v is not None:
                    L.append(f"| {k} | ≤ {GOAL_NS_PER_NODE} ns per visited node — {label} | "
                             f"{v / vis:.2f} ns ({v:,.0f} ns / {vis:,.0f} nodes) | "
                             f"{yes(v / vis <= GOAL_NS_PER_NODE)} |")
        s1 = _get(sm, "batch1", "rows_per_s")
        peers = [(n, _get(r, "batch1", "rows_per_s")) for n, r in rts.items()
                 if n != "staticml" and r.ok and _get(r, "batch1", "rows_per_s")]
        if peers and s1:
            bn, bv = max(peers, key=lambda t: t[1])
            L.append(f"| {k} | batch 1 thread ≥ {GOAL_BATCH_VS_PEER:g}x best peer ({bn}) | "
                     f"{_rps(s1)} vs {_rps(bv)} rows/s ({s1 / bv:.2f}x) | "
                     f"{yes(s1 >= GOAL_BATCH_VS_PEER * bv)} |")
        lat = _get(sm, "latency", "median_us")
        ort = rts.get("onnxruntime")
        if lat and ort is not None and ort.ok:
            ov = _get(ort, "latency", "median_us")
            L.append(f"| {k} | latency ≤ ⅓ of ONNX Runtime | {lat:.2f} vs {ov:.2f} µs "
                     f"({ov / lat:.1f}x) | {yes(lat * GOAL_LAT_VS_ORT <= ov)} |")
        lats = []
        for n, r in rts.items():
            if n == "staticml" or not r.ok:
                continue
            vals = [_get(r, "latency", "median_us")] + [a["median_us"] for a in
                                                        r.res.get("latency_alt", {}).values()]
            vals = [x for x in vals if x]
            if vals:
                lats.append((n, min(vals)))
        if lat and lats:
            bn, bv = min(lats, key=lambda t: t[1])
            L.append(f"| {k} | latency ≤ ½ of best peer ({bn}) | {lat:.2f} vs {bv:.2f} µs "
                     f"({bv / lat:.1f}x) | {yes(lat * GOAL_LAT_VS_PEER <= bv)} |")
        b = sm.build
        if case.spec.bench_model:
            L.append(f"| {k} | build ≤ {GOAL_BUILD_S:g} s | {b['build_s']:.2f} s (gcc "
                     f"{b['compile_s']:.2f} s) | {yes(b['build_s'] <= GOAL_BUILD_S)} |")
        else:
            peak = (b["self_peak_kib"] + (b.get("gcc_peak_kib") or 0)) * 1024
            L.append(f"| {k} | build < {GOAL_BIG_BUILD_S:g} s on {NCPU} cores | "
                     f"{b['build_s']:.1f} s (gcc {b['compile_s']:.1f} s) | "
                     f"{yes(b['build_s'] < GOAL_BIG_BUILD_S)} |")
            L.append(f"| {k} | build peak memory < 2 GB | Python {_size(b['self_peak_kib'] * 1024)}"
                     f" + gcc {_size((b.get('gcc_peak_kib') or 0) * 1024)} = {_size(peak)} "
                     "(both alive at once at most) | "
                     f"{yes(peak < GOAL_BIG_MEM_BYTES)} |")
    L.append("")
    return L


def build_details(cases: list[Case]) -> list[str]:
    L = ["## staticml build breakdown\n",
         "`staticml.build` in a fresh child process on the cached model (build s = wall time "
         "of the call, which includes lowering, C generation, gcc and the parity check); "
         "peak memory: the child's VmHWM (its RSS before `build`, i.e. after imports and "
         "unpickling the model, in brackets) and gcc's max RSS, measured by re-running "
         "the same compile command under /usr/bin/time.\n",
         "| model | build s | phases (s) | gcc s | Python peak (RSS before build) | gcc peak |",
         "|---|---:|---|---:|---:|---:|"]
    for case in cases:
        sm = case.runtimes.get("staticml")
        if sm is None or "build_s" not in sm.build:
            continue
        b = sm.build
        ph = ", ".join(f"{_phase_name(m)} {s:.2f}" for m, s in b.get("phases", []))
        L.append(f"| {case.spec.key} | {b['build_s']:.2f} | {ph} | "
                 f"{b.get('compile_s') or 0:.2f} | {_size(b['self_peak_kib'] * 1024)} "
                 f"({_size(b['rss_before_kib'] * 1024)}) | "
                 f"{_size(b['gcc_peak_kib'] * 1024) if b.get('gcc_peak_kib') else '–'} |")
    L.append("")
    return L


def _phase_name(msg: str) -> str:
    msg = re.sub(r"^\[\d+/\d+\]\s*", "", msg)  # per-target progress: "[1/1] building ..."
    for key, short in (("lowering", "lower"), ("generating", "codegen"),
                       ("compiling", "compile"), ("building", "compile"), ("verifying", "parity"), ("parity:", "publish"),
                       ("start", "hash/check"), ("end", "end")):
        if msg.startswith(key):
            return short
    return msg[:12]


def environment() -> dict:
    sys.path.insert(0, str(HERE))
    try:
        from pipelines import environment as pipelines_environment
        env = pipelines_environment()
    finally:
        sys.path.remove(str(HERE))
    for dist in ("xgboost", "xgboost-cpu", "lightgbm", "onnxmltools", "tl2cgen", "treelite",
                 "m2cgen", "lleaves", "llvmlite"):
        try:
            env[dist] = md.version(dist)
        except md.PackageNotFoundError:
            env[dist] = "not installed"
    return env


def report(cases: list[Case], env: dict, cfg: dict, quick: bool, argv: list[str]) -> str:
    L = ["# staticml tree-ensemble benchmark" + (" (--quick smoke run)" if quick else ""), ""]
    L.append(f"- Command: `.venv/bin/python bench/trees.py {' '.join(argv)}`".rstrip())
    L.append(f"- Date: {env['date']}")
    L.append(f"- Machine: {env['cpu']}, {env['cpus']}; {env['os']}")
    L.append("- Versions: Python {python}, numpy {numpy}, scikit-learn {scikit-learn}, xgboost "
             "{xgb}, lightgbm {lightgbm}, onnxruntime {onnxruntime}, skl2onnx {skl2onnx}, "
             "onnxmltools {onnxmltools}, tl2cgen {tl2cgen}, treelite {treelite}, m2cgen {m2cgen}, "
             "lleaves {lleaves} (llvmlite {llvmlite}), staticml {staticml} (one-row "
             "accelerator: {accel}); {cc}".format(
                 xgb=env["xgboost"] if env["xgboost"] != "not installed" else env["xgboost-cpu"],
                 **env))
    cont = env.get("contention")
    if cont:
        L.append(f"- Machine load: 1-min load average {cont['load_start'][0]:.2f} at start, "
                 f"{cont['load_end'][0]:.2f} at end; other processes used "
                 f"{100 * cont['others_cpu_share']:.0f}% of all CPU time during the run "
                 "(0% = quiet machine)")
    for rr in env.get("reruns", []):
        c = rr["contention"]
        L.append(f"- Re-run of {', '.join(rr['models'])} (`bench/trees.py "
                 f"{' '.join(rr['argv'])}`) on {rr['date']}; other processes used "
                 f"{100 * c['others_cpu_share']:.0f}% of all CPU time during it")
    L.append(f"- Repeats: latency = median of {cfg['calls']} calls after {cfg['warmup']} "
             f"warm-up (cycling {N_DISTINCT_ROWS} held-out rows), measured "
             f"{cfg.get('latency_rounds', 1)} times in rounds round-robin over the runtimes; "
             f"the median of the round medians is shown (a runtime slower than "
             f"{cfg['single_cap_s']:g} s in total gets fewer calls per round, shown); "
             "batch = median "
             f"of {cfg['batch_runs']} runs on {N_THRU:,} rows after a warm-up (a runtime "
             f"that would need more than ~{cfg['batch_cap_s']:g} s gets at least 3 runs on "
             f"fewer rows, shown); C = median of {cfg['c_passes']} passes over {N_HELD:,} "
             f"held-out rows (fewer if over {cfg['c_budget_s']:g} s, at least 3; very slow "
             "libraries are timed on a prefix of the rows, shown)")
    L.append(f"- Peer compilers: tl2cgen gcc {TL2CGEN_OPT} (big: {TL2CGEN_OPT_BIG}), m2cgen gcc "
             f"{M2CGEN_OPT} (big: {M2CGEN_OPT_BIG}), lleaves LLVM defaults; staticml: its own "
             "flags (gcc -O2, no fast-math, no FP contraction). C harness: "
             "bench/trees_harness.c, cc -O2, dlopen")
    L.append("")
    L.append("## Results\n")
    L.append("Columns: latency = µs per one-row call from Python (lower is better); batch = "
             "rows/s on 100k rows; C ns/row = bench/trees_harness.c over the 10k held-out rows; "
             "ns / visited node = C ns/row divided by the mean number of internal nodes on the "
             "row's paths summed over trees (native/ONNX Runtime: from their 1-thread batch "
             "rate, in brackets); build s = staticml.build wall (its gcc part in brackets), or "
             "peers' code generation + compile; parity vs the native library on the 10k "
             "held-out rows, Python batch path (C paths in brackets); label mismatches = rows "
             "on the other side of 0.5 (GBR: max relative diff).\n")
    for case in cases:
        L += model_table(case)
    L += goals(cases)
    L += build_details(cases)
    L.append("## Notes\n")
    seen: set = set()
    for case in cases:
        for name in RUNTIMES:
            r = case.runtimes.get(name)
            if r is None:
                continue
            for n in r.notes:
                if n.startswith("Traceback") or "\n" in n:
                    continue
                key = (name, n)
                if key not in seen:
                    seen.add(key)
                    L.append(f"- {name} ({case.spec.key}): {n}")
        for n in case.notes:
            L.append(f"- {case.spec.key}: {n}")
    L.append(f"- Threads: '1 thread' = native RF n_jobs=1, HGB OpenMP limited by threadpoolctl, "
             f"XGBoost n_jobs=1, LightGBM num_threads=1, ONNX Runtime intra_op_num_threads=1, "
             f"tl2cgen Predictor(nthread=1), lleaves n_jobs=1; '{NCPU} threads' = the same knobs "
             f"set to {NCPU}. Single-row latency always uses the 1-thread configuration.")
    L.append("")
    return "\n".join(L)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    if raw_argv[:1] == ["--build-child"]:
        return _build_child_main(raw_argv[1])
    if raw_argv[:1] == ["--m2cgen-child"]:
        return _m2cgen_child_main(raw_argv[1])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: smaller models, fewer repeats (~2 min)")
    ap.add_argument("--only", default="", help="comma-separated model keys (rf,gbr,hgb,xgb,"
                    "lgbm,big)")
    ap.add_argument("--runtimes", default="", help="comma-separated runtimes to run "
                    "(native always runs: it is the parity reference)")
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown output (default bench/results/trees[-quick].md)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build everything here and keep it (default: a temp dir)")
    ap.add_argument("--merge", action="store_true",
                    help="re-run the --only models and replace just their sections in the "
                         "existing report (its .json), e.g. after a burst of machine load")
    args = ap.parse_args(raw_argv)
    cfg = QUICK if args.quick else FULL
    out = args.out or HERE / "results" / ("trees-quick.md" if args.quick else "trees.md")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    sys.path.insert(0, str(HERE))
    from pipelines import CpuContention
    sys.path.remove(str(HERE))

    start = time.perf_counter()
    start_stamp = time.time()
    contention = CpuContention()
    env = environment()
    say(f"environment: {env['cpu']}, {env['cpus']}, Python {env['python']}")
    only = {k for k in args.only.split(",") if k}
    only_rt = {k for k in args.runtimes.split(",") if k} or None
    todo = [s for s in specs(args.quick) if not only or s.key in only]
    tmp = None
    if args.keep:
        work = args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="staticml-trees-")
        work = Path(tmp.name)
    cases: list[Case] = []
    kept: dict[str, Case] = {}
    report_env, report_argv = env, raw_argv
    if args.merge:
        if not only:
            raise SystemExit("--merge needs --only MODELS (the models to re-run)")
        base = json.loads(out.with_suffix(".json").read_text())
        if base.get("quick") != args.quick:
            raise SystemExit(f"--merge: {out.with_suffix('.json')} is from a "
                             f"{'quick' if base.get('quick') else 'full'} run")
        by_key = {s.key: s for s in specs(args.quick)}
        kept = {k: case_from_json(by_key[k], v) for k, v in base["cases"].items()
                if k in by_key and k not in only}
        report_env = base["env"]
        report_argv = base.get("argv", [])
        report_env.setdefault("reruns", [])

    def write(final: bool) -> str:
        """Report of the models done so far (rewritten after each model, so an interrupted
        run keeps its finished models)."""
        env["contention"] = contention.summary()
        all_cases = cases
        if args.merge:
            done = {c.spec.key: c for c in cases}
            all_cases = [done.get(s.key) or kept.get(s.key) for s in specs(args.quick)]
            all_cases = [c for c in all_cases if c is not None]
            reruns = [r for r in report_env["reruns"] if r.get("start") != start_stamp]
            reruns.append({"start": start_stamp, "date": env["date"], "argv": raw_argv,
                           "models": [c.spec.key for c in cases],
                           "contention": env["contention"]})
            report_env["reruns"] = reruns
        text = report(all_cases, report_env, cfg, args.quick, report_argv)
        if not final:
            text += (f"PARTIAL: {len(cases)} of {len(todo)} models done; the run is still "
                     "going or was interrupted.\n")
        text += f"Total benchmark wall time: {time.perf_counter() - start:.0f} s\n"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        raw = {"env": report_env, "config": cfg, "quick": args.quick, "final": final,
               "argv": report_argv, "cases": {
            c.spec.key: {"title": c.spec.title, "fit": c.meta, "visited": c.visited,
                         "notes": c.notes,
                         "runtimes": {n: {"status": r.status, "build": r.build, "size": r.size,
                                          "notes": r.notes,
                                          "res": {k: v for k, v in r.res.items()
                                                  if k not in ("artifact",)}}
                                      for n, r in c.runtimes.items()}}
            for c in all_cases}}
        out.with_suffix(".json").write_text(json.dumps(raw, indent=2, default=str),
                                            encoding="utf-8")
        return text

    try:
        harness = compile_harness(work)
        for spec in todo:
            say(f"{spec.key}: {spec.title}")
            t0 = time.perf_counter()
            cases.append(run_case(spec, cfg, work, harness, only_rt, say))
            say(f"  done in {time.perf_counter() - t0:.0f} s")
            write(final=False)
            gc.collect()
    finally:
        if tmp is not None:
            tmp.cleanup()
    text = write(final=True)
    if env["contention"]["others_cpu_share"] > 0.05:
        say(f"WARNING: other processes used {100 * env['contention']['others_cpu_share']:.0f}% "
            "of the CPU during the run; the numbers are noisy")
    print(text)
    say(f"written to {out} (+ {out.with_suffix('.json').name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
