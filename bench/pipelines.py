"""staticml vs scikit-learn vs ONNX Runtime on three pipelines, measured side by side.

    .venv/bin/python bench/pipelines.py           # full run (a few minutes)
    .venv/bin/python bench/pipelines.py --quick   # smoke run (fewer repeats)
    make bench                                    # same as the full run

Models (fixed seeds):
  (a) StandardScaler + LogisticRegression on make_classification(130000, 30,
      n_informative=15, random_state=0): rows [0, 20k) train, [20k, 30k) held out,
      [30k, 130k) throughput;
  (b) ColumnTransformer(SimpleImputer + StandardScaler on 10 numeric columns with 5% NaN,
      OneHotEncoder(handle_unknown='ignore') on 3 string columns of 4, 12 and 3 levels)
      + LogisticRegression, on a pandas DataFrame (same row split);
  (c) MLPClassifier(hidden (64, 32), relu, max_iter=20) on the data of (a).

Measurements (all predict_proba):
  - single-row latency from Python, median of N calls after a warm-up, each call on one of
    256 distinct held-out rows (cycled), with the row given as (1) a 2-D numpy array row,
    (2) a one-row DataFrame, (3) a dict {column: value}. Input conversion a runtime needs
    (float32 cast, DataFrame -> one ONNX input per column, dict -> DataFrame for sklearn)
    is inside the timed call. ONNX Runtime latency sessions use 1 intra-op thread;
  - batch throughput on the 100,000 throughput rows (median of R runs), with 1 thread and
    with each runtime's default threads;
  - C-level ns/row (bench/harness.c, compiled with the system cc against the bundle's
    header and library): NAME_predict over the held-out rows as NAME_input structs, and
    NAME_predict_matrix over the same rows as a flat matrix;
  - parity: max |predict_proba - sklearn's| on the held-out rows.

The tables are printed and written to bench/results/pipelines.md (--quick:
pipelines-quick.md), with the raw numbers in a .json beside it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_TRAIN, N_HELD, N_THRU = 20_000, 10_000, 100_000
N_DISTINCT_ROWS = 256

FULL = dict(calls=2000, warmup=200, rounds=3, batch_runs=11, c_passes=21)  # 11: 2-thread runs vary
QUICK = dict(calls=200, warmup=20, rounds=1, batch_runs=2, c_passes=3)
# Before each single-row measurement: time for the previous runtime's worker threads (BLAS,
# ONNX Runtime) to stop spinning. On 2 vCPUs a spinning pool slowed the next runtime's
# calls by up to 1.7x, whichever runtime came next (staticml's dict column after
# scikit-learn's DataFrame column: 2.0 us in the run, 1.2 us alone).
SETTLE_S = 0.3

GOAL_ARRAY_US = 2.0
GOAL_SINGLE_VS_ORT = 5.0


# ----------------------------------------------------------------------------- environment
def _cmd(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def environment() -> dict[str, Any]:
    import onnx
    import onnxruntime
    import skl2onnx
    import sklearn
    from threadpoolctl import threadpool_info

    import staticml

    lscpu = _cmd(["lscpu"])

    def field_of(name: str) -> str:
        m = re.search(rf"^{re.escape(name)}:\s*(.+)$", lscpu, re.M)
        return m.group(1).strip() if m else "?"

    try:
        import google.protobuf as pb
        protobuf = pb.__version__
    except ImportError:  # pragma: no cover
        protobuf = "not installed"
    cc = _cmd([os.environ.get("CC", "cc"), "--version"]).splitlines()
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer')}, "
            f"{i.get('num_threads')} threads, kernel {i.get('architecture')})"
            for i in threadpool_info()]
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": field_of("Model name"),
        "cpus": f"{os.cpu_count()} logical ({field_of('Core(s) per socket')} cores/socket x "
                f"{field_of('Socket(s)')} socket(s), {field_of('Thread(s) per core')} "
                "thread(s)/core)",
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
        "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
        "skl2onnx": skl2onnx.__version__, "protobuf": protobuf,
        "staticml": staticml.__version__,
        "cc": cc[0] if cc else "?",
        "blas": "; ".join(blas) or "none loaded",
        "env": {k: os.environ.get(k, "(unset)") for k in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                 "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "timer_overhead_ns": _timer_overhead_ns(),
        "accel": _accel_status(),
    }


def _accel_status() -> str:
    """Whether staticml's one-row calls go through its C accelerator or ctypes."""
    from staticml.runtime import accel

    accel.module()
    return accel.status()


class CpuContention:
    """Share of the machine's CPU time that other processes used while the benchmark ran.

    The numbers are only as good as the machine is quiet; this makes a noisy run visible.
    """

    def __init__(self) -> None:
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy(), self._own()
        self.load0 = os.getloadavg()

    @staticmethod
    def _busy() -> float:
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except OSError:
            return float("nan")
        # user nice system idle iowait irq softirq steal ...
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def summary(self) -> dict:
        wall = time.perf_counter() - self.t0
        others = (self._busy() - self.busy0) - (self._own() - self.own0)
        return {"wall_s": wall, "load_start": self.load0, "load_end": os.getloadavg(),
                "others_cpu_share": max(0.0, others) / (wall * (os.cpu_count() or 1))}


def wait_quiet(max_s: float, say: Callable[[str], None]) -> float:
    """Wait (up to max_s) until other processes use < 5% of the CPU for 15 s; returns the
    seconds waited. Only reads /proc/stat; touches no other process."""
    start = time.perf_counter()
    quiet_windows = 0
    while time.perf_counter() - start < max_s:
        b0, t0 = CpuContention._busy(), time.perf_counter()
        time.sleep(5)
        share = (CpuContention._busy() - b0) / ((time.perf_counter() - t0) * (os.cpu_count() or 1))
        quiet_windows = quiet_windows + 1 if share < 0.05 else 0
        if quiet_windows >= 3:
            return time.perf_counter() - start
    say(f"machine still busy after {max_s:.0f} s; measuring anyway")
    return time.perf_counter() - start


def _timer_overhead_ns() -> float:
    pc = time.perf_counter_ns
    ts = []
    for _ in range(20000):
        t0 = pc()
        ts.append(pc() - t0)
    return float(statistics.median(ts))


# ----------------------------------------------------------------------------- data
@dataclass
class Split:
    train: Any
    held: Any
    thru: Any
    y_train: np.ndarray


def numeric_data() -> tuple[Split, Split, list[str]]:
    """(a)/(c): the same rows as a DataFrame (columns f0..f29) and as a float64 array."""
    from sklearn.datasets import make_classification

    X, y = make_classification(N_TRAIN + N_HELD + N_THRU, 30, n_informative=15,
                               random_state=0)
    cols = [f"f{i}" for i in range(X.shape[1])]
    a, b = N_TRAIN, N_TRAIN + N_HELD
    arr = Split(X[:a], X[a:b], X[b:], y[:a])
    df = pd.DataFrame(X, columns=cols)
    frame = Split(df.iloc[:a], df.iloc[a:b].reset_index(drop=True),
                  df.iloc[b:].reset_index(drop=True), y[:a])
    return arr, frame, cols


MIXED_NUM = [f"n{i}" for i in range(10)]
MIXED_CAT = {"plan": [f"plan_{i}" for i in range(4)],
             "city": [f"city_{i:02d}" for i in range(12)],
             "tier": ["bronze", "silver", "gold"]}


def mixed_data() -> Split:
    """(b): 10 numeric columns (5% NaN) + 3 string columns, label from a logistic model."""
    n = N_TRAIN + N_HELD + N_THRU
    rng = np.random.default_rng(0)
    num = rng.normal(size=(n, len(MIXED_NUM)))
    codes = {c: rng.integers(0, len(levels), n) for c, levels in MIXED_CAT.items()}
    logit = num @ rng.normal(size=len(MIXED_NUM))
    for c, levels in MIXED_CAT.items():
        logit += rng.normal(size=len(levels))[codes[c]]
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    num[rng.random(num.shape) < 0.05] = np.nan
    df = pd.DataFrame(num, columns=MIXED_NUM)
    for c, levels in MIXED_CAT.items():
        df[c] = pd.Series(np.array(levels, dtype=object)[codes[c]], dtype="str")
    a, b = N_TRAIN, N_TRAIN + N_HELD
    return Split(df.iloc[:a], df.iloc[a:b].reset_index(drop=True),
                 df.iloc[b:].reset_index(drop=True), y[:a])


# ----------------------------------------------------------------------------- models
@dataclass
class Case:
    key: str
    title: str
    sk: Any                    # scikit-learn model fitted on a DataFrame
    sk_array: Any | None       # same model fitted on the ndarray (None: no array path)
    train: pd.DataFrame        # training rows as a DataFrame
    held: pd.DataFrame         # held-out rows as a DataFrame
    held_array: np.ndarray     # held-out rows as a 2-D array (object dtype for (b))
    thru: Any                  # throughput rows in the runtime-natural form
    thru_desc: str
    onnx_inputs: list          # skl2onnx initial_types
    art: Any = None
    onnx_bytes: bytes = b""
    results: dict = field(default_factory=dict)


def build_cases() -> list[Case]:
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    arr, frame, cols = numeric_data()
    mixed = mixed_data()
    x_in = [("X", FloatTensorType([None, len(cols)]))]

    def fit_twice(make: Callable[[], Any]) -> tuple[Any, Any]:
        """Fit on the DataFrame (dict/DataFrame paths) and on the array (array path);
        the twins are the same model, checked below, so neither path warns about names."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            named = make().fit(frame.train, frame.y_train)
            plain = make().fit(arr.train, arr.y_train)
        diff = np.abs(named.predict_proba(frame.held) - plain.predict_proba(arr.held)).max()
        if diff > 1e-12:
            raise SystemExit(f"array-fitted twin differs from the DataFrame-fitted model "
                             f"by {diff:g}")
        return named, plain

    cases = []
    sk, ska = fit_twice(lambda: make_pipeline(StandardScaler(),
                                              LogisticRegression(max_iter=1000)))
    cases.append(Case("a", "(a) StandardScaler+LogisticRegression, 30 numeric", sk, ska,
                      frame.train, frame.held, arr.held, arr.thru, "float64 ndarray", x_in))

    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), MIXED_NUM),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(MIXED_CAT)),
    ])
    skb = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])
    skb.fit(mixed.train, mixed.y_train)
    b_in = ([(c, FloatTensorType([None, 1])) for c in MIXED_NUM]
            + [(c, StringTensorType([None, 1])) for c in MIXED_CAT])
    cases.append(Case("b", "(b) ColumnTransformer(impute+scale 10 num, one-hot 3 str)+LogReg",
                      skb, None, mixed.train, mixed.held, mixed.held.to_numpy(dtype=object), mixed.thru,
                      "DataFrame", b_in))

    sk, ska = fit_twice(lambda: MLPClassifier(hidden_layer_sizes=(64, 32), activation="relu",
                                              max_iter=20, random_state=0))
    cases.append(Case("c", "(c) MLPClassifier (64, 32) relu, 30 numeric", sk, ska,
                      frame.train, frame.held, arr.held, arr.thru, "float64 ndarray", x_in))
    return cases


def compile_staticml(case: Case, root: Path) -> None:
    import staticml

    t0 = time.perf_counter()
    sample = case.train.iloc[:2000]  # training rows: fix the schema, first half of parity
    case.art = staticml.build(case.sk, sample, root / f"bench_{case.key}", f"bench_{case.key}")
    case.results["build_s"] = time.perf_counter() - t0


def convert_onnx(case: Case) -> None:
    from skl2onnx import to_onnx

    t0 = time.perf_counter()
    model = to_onnx(case.sk, initial_types=case.onnx_inputs, options={"zipmap": False})
    case.onnx_bytes = model.SerializeToString()
    case.results["onnx_convert_s"] = time.perf_counter() - t0


def ort_session(case: Case, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads      # 0 = ORT default (one per physical core)
    so.inter_op_num_threads = 1 if threads == 1 else 0
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(case.onnx_bytes, sess_options=so,
                                providers=["CPUExecutionProvider"])


# ----------------------------------------------------------------------------- ONNX feeds
def ort_feeds(case: Case) -> dict[str, Callable[[Any], dict]]:
    """Functions turning each input form into the ONNX input dict (part of the timing)."""
    if case.key != "b":
        cols = list(case.held.columns)
        return {
            "array": lambda x: {"X": x.astype(np.float32)},
            "frame": lambda df: {"X": df.to_numpy(dtype=np.float32)},
            "dict": lambda d: {"X": np.array([[d[c] for c in cols]], dtype=np.float32)},
            "batch": lambda x: {"X": x.astype(np.float32)},
        }
    num, cat = MIXED_NUM, list(MIXED_CAT)
    n_num = len(num)

    def from_frame(df: pd.DataFrame) -> dict:
        feed = {c: df[c].to_numpy(dtype=np.float32).reshape(-1, 1) for c in num}
        feed.update({c: df[c].to_numpy(dtype=object).reshape(-1, 1) for c in cat})
        return feed

    def from_array(x: np.ndarray) -> dict:
        feed = {c: x[:, j:j + 1].astype(np.float32) for j, c in enumerate(num)}
        feed.update({c: x[:, n_num + j:n_num + j + 1] for j, c in enumerate(cat)})
        return feed

    def from_dict(d: dict) -> dict:
        feed = {c: np.array([[d[c]]], dtype=np.float32) for c in num}
        feed.update({c: np.array([[d[c]]], dtype=object) for c in cat})
        return feed

    return {"array": from_array, "frame": from_frame, "dict": from_dict, "batch": from_frame}


# ----------------------------------------------------------------------------- timing
def time_single(fn: Callable[[Any], Any], inputs: list, calls: int, warmup: int) -> dict:
    k = len(inputs)
    for i in range(warmup):
        fn(inputs[i % k])
    pc = time.perf_counter_ns
    ts = [0] * calls
    gc.collect()
    for i in range(calls):
        x = inputs[i % k]
        t0 = pc()
        fn(x)
        ts[i] = pc() - t0
    ts.sort()
    return {"median_us": ts[calls // 2] / 1e3, "p90_us": ts[int(calls * 0.9)] / 1e3,
            "p99_us": ts[min(calls - 1, int(calls * 0.99))] / 1e3}


def time_batch(fn: Callable[[], Any], n_rows: int, runs: int) -> dict:
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts)
    return {"median_s": med, "rows_per_s": n_rows / med, "runs": runs}


def single_inputs(case: Case) -> dict[str, list]:
    idx = range(N_DISTINCT_ROWS)
    held = case.held
    records = held.iloc[:N_DISTINCT_ROWS].to_dict("records")
    return {
        "array": [case.held_array[i:i + 1] for i in idx],
        "frame": [held.iloc[[i]].reset_index(drop=True) for i in idx],
        "dict": [{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                  for k, v in r.items()} for r in records],
    }


def runtime_calls(case: Case, sess1) -> dict[str, dict[str, Callable | None]]:
    """{runtime: {input form: fn(x) -> proba}} for the single-row measurements."""
    art, sk, ska = case.art, case.sk, case.sk_array
    feeds = ort_feeds(case)
    out = ["probabilities"]
    run = sess1.run
    ffa, fff, ffd = feeds["array"], feeds["frame"], feeds["dict"]
    return {
        "staticml": {
            "array": art.predict_proba,
            "frame": art.predict_proba,
            "dict": art.predict_proba_one,
        },
        "onnxruntime": {
            "array": lambda x: run(out, ffa(x))[0],
            "frame": lambda df: run(out, fff(df))[0],
            "dict": lambda d: run(out, ffd(d))[0],
        },
        "scikit-learn": {
            "array": ska.predict_proba if ska is not None else None,
            "frame": sk.predict_proba,
            "dict": lambda d: sk.predict_proba(pd.DataFrame([d])),
        },
    }


def check_single(case: Case, calls: dict, inputs: dict) -> None:
    """Every timed callable must return the right probabilities before it is timed."""
    ref = case.sk.predict_proba(case.held.iloc[:4])
    for rt, forms in calls.items():
        for form, fn in forms.items():
            if fn is None:
                continue
            for i in range(4):
                got = np.asarray(fn(inputs[form][i]), dtype=np.float64).reshape(-1)
                if not np.allclose(got, ref[i], atol=1e-5, rtol=0):
                    raise SystemExit(f"{case.key}/{rt}/{form}: wrong output {got} vs {ref[i]}")


def batch_calls(case: Case, sess1, sessd) -> dict[str, dict[str, Callable]]:
    from threadpoolctl import threadpool_limits

    import staticml

    art, x = case.art, case.thru  # default threads: every core (staticml.load's default)
    art1 = staticml.load(art.root, threads=1)
    sk = case.sk_array if case.sk_array is not None else case.sk
    feed = ort_feeds(case)["batch"]

    def sk_one_thread():
        with threadpool_limits(1):
            return sk.predict_proba(x)

    return {
        "staticml": {"1": lambda: art1.predict_proba(x),
                     "default": lambda: art.predict_proba(x)},
        "onnxruntime": {"1": lambda: sess1.run(["probabilities"], feed(x)),
                        "default": lambda: sessd.run(["probabilities"], feed(x))},
        "scikit-learn": {"1": sk_one_thread, "default": lambda: sk.predict_proba(x)},
    }


# ----------------------------------------------------------------------------- C harness
def _struct_fields(header: str, name: str) -> list[tuple[str, str]]:
    m = re.search(rf"typedef struct {name}_input \{{(.*?)\}} {name}_input;", header, re.S)
    if not m:
        raise SystemExit(f"cannot find struct {name}_input in the generated header")
    fields = []
    for line in m.group(1).splitlines():
        f = re.match(r"\s*(double|const char \*)\s*([A-Za-z_]\w*);", line)
        if f:
            fields.append(("number" if f.group(1) == "double" else "string", f.group(2)))
    return fields


def _c_string(s: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " _-.,:/" else f"\\{ord(c):03o}"
                         for c in s) + '"'


def run_c_harness(case: Case, work: Path, passes: int) -> dict:
    art = case.art
    name = art.name
    root = Path(art.root)
    header = (root / "include" / f"{name}.h").read_text()
    fields = _struct_fields(header, name)
    if len(fields) != len(art.inputs):
        raise SystemExit(f"{name}.h has {len(fields)} fields, the manifest {len(art.inputs)}")
    held = case.held
    raw = np.empty((len(held), len(fields)))
    glue_tables, fill = [], []
    for j, (col, (kind, fname)) in enumerate(zip(art.inputs, fields)):
        values = held[col.name]
        if kind == "number":
            raw[:, j] = values.to_numpy(dtype=np.float64)
            fill.append(f"    r->{fname} = raw[{j}];")
            continue
        obj = values.to_numpy(dtype=object)
        present = [v for v in obj if isinstance(v, str)]
        table = sorted(set(present))
        pos = {s: k for k, s in enumerate(table)}
        raw[:, j] = [pos[v] if isinstance(v, str) else -1 for v in obj]
        glue_tables.append(f"static const char *const strings{j}[] = {{"
                           + ", ".join(_c_string(s) for s in table) + "};")
        fill.append(f"    r->{fname} = raw[{j}] < 0 ? NULL : strings{j}[(int)raw[{j}]];")
    N = name.upper()
    glue = "\n".join([
        "/* generated by bench/pipelines.py */",
        f'#include "{name}.h"',
        f"#define BENCH_INPUT {name}_input",
        f"#define BENCH_PREDICT {name}_predict",
        f"#define BENCH_PREDICT_MATRIX {name}_predict_matrix",
        f"#define BENCH_N_INPUTS {N}_N_INPUTS",
        f"#define BENCH_N_OUTPUTS {N}_N_OUTPUTS",
        *glue_tables,
        f"static void bench_fill_row({name}_input *r, const double *raw) {{",
        *fill, "}", ""])
    d = work / f"harness_{case.key}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "bench_glue.h").write_text(glue)
    shutil.copy(HERE / "harness.c", d / "harness.c")
    lib = Path(art.library_path)
    exe = d / "harness"
    cc = os.environ.get("CC", "cc")
    argv = [cc, "-O2", "-std=c99", "-Wall", f"-I{d}", f"-I{root / 'include'}",
            str(d / "harness.c"), "-o", str(exe), f"-L{lib.parent}", f"-l{name}",
            f"-Wl,-rpath,{lib.parent}"]
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"compiling the C harness failed:\n{' '.join(argv)}\n{res.stderr}")
    enc = art.encode(held)
    np.ascontiguousarray(raw).tofile(d / "raw.bin")
    np.ascontiguousarray(enc, dtype=np.float64).tofile(d / "enc.bin")
    res = subprocess.run([str(exe), str(d / "raw.bin"), str(d / "enc.bin"), str(len(held)),
                          str(passes), str(d / "out_predict.bin"), str(d / "out_matrix.bin")],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"the C harness failed:\n{res.stderr}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    n_out = art.manifest["outputs"]["n_outputs"]
    proba = slice(*art.manifest["outputs"]["proba"])
    ref = case.sk.predict_proba(held)
    for key in ("predict", "matrix"):
        o = np.fromfile(d / f"out_{key}.bin").reshape(len(held), n_out)[:, proba]
        out[f"parity_{key}"] = float(np.abs(o - ref).max())
    out["cc"] = " ".join(argv[:4])
    return out


# ----------------------------------------------------------------------------- measure
def measure(case: Case, cfg: dict, work: Path, say: Callable[[str], None]) -> None:
    r = case.results
    sess1, sessd = ort_session(case, 1), ort_session(case, 0)
    inputs = single_inputs(case)
    calls = runtime_calls(case, sess1)
    check_single(case, calls, inputs)

    say(f"  single-row latency ({cfg['rounds']} rounds of {cfg['calls']} calls after "
        f"{cfg['warmup']} warm-up)")
    rounds: dict = {}
    for _ in range(cfg["rounds"]):  # round-robin, so no runtime always follows the same one
        for form in ("array", "frame", "dict"):
            for rt in ("staticml", "onnxruntime", "scikit-learn"):
                fn = calls[rt][form]
                if fn is not None:
                    time.sleep(SETTLE_S)
                    rounds.setdefault((rt, form), []).append(
                        time_single(fn, inputs[form], cfg["calls"], cfg["warmup"]))
    lat: dict = {}
    for rt in ("staticml", "onnxruntime", "scikit-learn"):
        for form in ("array", "frame", "dict"):
            got = rounds.get((rt, form))
            lat.setdefault(rt, {})[form] = None if got is None else {
                k: float(np.median([g[k] for g in got])) for k in got[0]}
    r["latency"] = lat

    say(f"  batch throughput ({N_THRU:,} rows, median of {cfg['batch_runs']} runs)")
    thr: dict = {}
    for rt, modes in batch_calls(case, sess1, sessd).items():
        for mode, fn in modes.items():
            thr.setdefault(rt, {})[mode] = time_batch(fn, N_THRU, cfg["batch_runs"])
    r["batch"] = thr

    say("  parity on the held-out rows")
    ref = case.sk.predict_proba(case.held)
    feed = ort_feeds(case)["frame"]
    r["parity"] = {
        "staticml": float(np.abs(case.art.predict_proba(case.held) - ref).max()),
        "onnxruntime": float(np.abs(sess1.run(["probabilities"], feed(case.held))[0]
                                    .astype(np.float64) - ref).max()),
        "scikit-learn": 0.0,
    }

    say(f"  C harness ({cfg['c_passes']} passes over {N_HELD:,} held-out rows)")
    r["c"] = run_c_harness(case, work, cfg["c_passes"])


# ----------------------------------------------------------------------------- report
RUNTIMES = ("staticml", "onnxruntime", "scikit-learn")


def _us(v: dict | None) -> str:
    if v is None:
        return "n/a"
    x = v["median_us"]
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _rps(v: dict | None) -> str:
    return "n/a" if v is None else f"{v['rows_per_s'] / 1e6:.2f} M" if v["rows_per_s"] >= 1e6 \
        else f"{v['rows_per_s'] / 1e3:.0f} k"


def _ratio(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}x" if x >= 1.95 or x < 0.95 else f"{x:.2f}x"


def report(cases: list[Case], env: dict, cfg: dict, quick: bool) -> str:
    L = []
    L.append(f"# staticml pipeline benchmark{' (--quick smoke run)' if quick else ''}\n")
    L.append(f"Command: `.venv/bin/python bench/pipelines.py{' --quick' if quick else ''}`  ")
    L.append(f"Date: {env['date']}\n")
    L.append("## Environment\n")
    L.append(f"- CPU: {env['cpu']}, {env['cpus']}; {env['os']}")
    L.append(f"- Python {env['python']}, numpy {env['numpy']}, pandas {env['pandas']}, "
             f"scikit-learn {env['scikit-learn']}, onnxruntime {env['onnxruntime']}, "
             f"skl2onnx {env['skl2onnx']}, onnx {env['onnx']}, protobuf {env['protobuf']}, "
             f"staticml {env['staticml']}")
    L.append(f"- C compiler: {env['cc']}")
    L.append(f"- staticml one-row accelerator (runtime/rowcall.c): {env['accel']}")
    L.append(f"- BLAS (threadpoolctl): {env['blas']}")
    L.append("- Environment: " + ", ".join(f"{k}={v}" for k, v in env["env"].items()))
    L.append(f"- Timer overhead (perf_counter_ns pair, included in single-row numbers): "
             f"{env['timer_overhead_ns']:.0f} ns")
    cont = env.get("contention")
    if cont:
        L.append(f"- Machine load: 1-min load average {cont['load_start'][0]:.2f} at start, "
                 f"{cont['load_end'][0]:.2f} at end; other processes used "
                 f"{100 * cont['others_cpu_share']:.0f}% of all CPU time during the run "
                 "(0% = quiet machine)")
    L.append(f"- Repeats: {cfg['calls']} single-row calls after {cfg['warmup']} warm-up "
             f"(cycling {N_DISTINCT_ROWS} distinct held-out rows), median, measured in "
             f"{cfg['rounds']} rounds round-robin over the runtimes (each after a "
             f"{SETTLE_S:g} s pause); the median of the round medians is shown; batch = median of "
             f"{cfg['batch_runs']} runs on {N_THRU:,} rows; C = median of {cfg['c_passes']} "
             f"passes over {N_HELD:,} held-out rows\n")

    L.append("## Absolute numbers\n")
    L.append("Single-row columns: median µs per `predict_proba` call from Python (lower is "
             "better). Batch: rows/s of `predict_proba` on 100,000 rows (higher is better). "
             "C: ns/row measured in C by `bench/harness.c`. Parity: max |Δ proba| vs "
             "scikit-learn on the 10,000 held-out rows.\n")
    L.append("| model | runtime | array row µs | 1-row DataFrame µs | dict µs | batch rows/s "
             "(1 thread) | batch rows/s (default threads) | C `NAME_predict` ns/row | "
             "C `NAME_predict_matrix` ns/row | parity max abs diff |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        r = c.results
        for rt in RUNTIMES:
            lat, thr = r["latency"][rt], r["batch"][rt]
            cc = r["c"] if rt == "staticml" else None
            par = r["parity"][rt]
            if rt == "staticml":
                worst_c = max(cc["parity_predict"], cc["parity_matrix"])
                par_s = f"{par:.1e} (C: {worst_c:.1e})"
                c_cells = f"{cc['predict_ns_median']:.0f} | {cc['matrix_ns_median']:.0f}"
            else:
                par_s = "reference" if rt == "scikit-learn" else f"{par:.1e} (float32)"
                c_cells = "— | —"
            L.append(f"| {c.key} | {rt} | {_us(lat['array'])} | {_us(lat['frame'])} | "
                     f"{_us(lat['dict'])} | {_rps(thr['1'])} | {_rps(thr['default'])} | "
                     f"{c_cells} | {par_s} |")
    L.append("")
    for c in cases:
        L.append(f"- **{c.key}**: {c.title}; batch input: {c.thru_desc}.")
    L.append("- Threads: single-row calls use 1 thread everywhere (ONNX Runtime: "
             "intra_op_num_threads=1). Batch '1 thread': ONNX Runtime intra_op_num_threads=1, "
             "scikit-learn under threadpoolctl.threadpool_limits(1). Batch 'default threads': "
             "ONNX Runtime's default intra-op pool (one thread per physical core), "
             "scikit-learn's default BLAS threads; staticml: `staticml.load(threads=1)` (one "
             "`NAME_predict_matrix_counted` call on the calling thread) and its default "
             "(the batch split into one chunk per core on a thread pool).")
    L.append("- ONNX models come from skl2onnx with float32 inputs (its default) and "
             "`zipmap=False`; every ONNX Runtime number includes building its input dict "
             "(float32 cast; for (b) one [n, 1] input per column). scikit-learn's dict column "
             "is `predict_proba(pd.DataFrame([d]))`; its array column for (a)/(c) uses a twin "
             "fitted on the ndarray (same coefficients) so no feature-name warning fires; (b) "
             "selects columns by name, so an array row does not apply to scikit-learn. "
             "staticml's and ONNX Runtime's (b) array row is an object ndarray row.\n")

    L.append("## Ratios\n")
    L.append("Speed-up of staticml over each peer: peer time / staticml time for single rows, "
             "staticml rows/s / peer rows/s for batch (> 1 = staticml faster).\n")
    L.append("| model | vs | array row | 1-row DataFrame | dict | batch (1 thread) | "
             "batch (default threads) |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    for c in cases:
        r = c.results
        s_lat, s_thr = r["latency"]["staticml"], r["batch"]["staticml"]
        for peer in ("onnxruntime", "scikit-learn"):
            p_lat, p_thr = r["latency"][peer], r["batch"][peer]
            cells = []
            for form in ("array", "frame", "dict"):
                a, b = s_lat[form], p_lat[form]
                cells.append(_ratio(b["median_us"] / a["median_us"]) if a and b else "n/a")
            for mode in ("1", "default"):
                cells.append(_ratio(s_thr[mode]["rows_per_s"] / p_thr[mode]["rows_per_s"]))
            L.append(f"| {c.key} | {peer} | " + " | ".join(cells) + " |")
    L.append("")

    L.append("## Goals\n")
    L.append("Printed as measured; the measurement is not tuned to meet them.\n")
    L.append("| model | goal | measured | met? |")
    L.append("|---|---|---|---|")
    for c in cases:
        r = c.results
        s, o, k = (r["latency"][x] for x in RUNTIMES)
        a = s["array"]["median_us"]
        L.append(f"| {c.key} | array row < {GOAL_ARRAY_US:g} µs | {a:.2f} µs | "
                 f"{'yes' if a < GOAL_ARRAY_US else 'NO'} |")
        for form, label in (("frame", "1-row DataFrame"), ("dict", "dict")):
            x = o[form]["median_us"] / s[form]["median_us"]
            L.append(f"| {c.key} | {label} ≥ {GOAL_SINGLE_VS_ORT:g}x faster than ONNX Runtime | "
                     f"{x:.1f}x ({s[form]['median_us']:.1f} vs {o[form]['median_us']:.1f} µs)"
                     f" | {'yes' if x >= GOAL_SINGLE_VS_ORT else 'NO'} |")
        s1 = r["batch"]["staticml"]["1"]["rows_per_s"]
        sd = r["batch"]["staticml"]["default"]["rows_per_s"]
        for peer in ("onnxruntime", "scikit-learn"):
            p1 = r["batch"][peer]["1"]["rows_per_s"]
            pd_ = r["batch"][peer]["default"]["rows_per_s"]
            L.append(f"| {c.key} | batch ≥ {peer}, default threads | {sd / 1e6:.2f} M vs "
                     f"{pd_ / 1e6:.2f} M rows/s | {'yes' if sd >= pd_ else 'NO'} |")
            L.append(f"| {c.key} | batch ≥ {peer}, 1 thread | {s1 / 1e6:.2f} M vs "
                     f"{p1 / 1e6:.2f} M rows/s | {'yes' if s1 >= p1 else 'NO'} |")
    L.append("")
    L.append("## Other\n")
    for c in cases:
        r = c.results
        cc = r["c"]
        L.append(f"- {c.key}: staticml build {r['build_s']:.1f} s (C codegen + compile + "
                 f"parity check); skl2onnx conversion {r['onnx_convert_s']:.2f} s; C parity "
                 f"NAME_predict {cc['parity_predict']:.1e}, NAME_predict_matrix "
                 f"{cc['parity_matrix']:.1e}; single-row p99 µs staticml/ORT/sklearn (dict): "
                 + "/".join(f"{r['latency'][rt]['dict']['p99_us']:.1f}" for rt in RUNTIMES))
    L.append("")
    return "\n".join(L)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer repeats")
    ap.add_argument("--out", type=Path, default=None,
                    help="markdown output (default bench/results/pipelines[-quick].md)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="build bundles and harnesses here and keep them (default: a temp dir)")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for other processes to go idle")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    out = args.out or HERE / "results" / ("pipelines-quick.md" if args.quick else "pipelines.md")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.wait_quiet > 0:
        say(f"waiting up to {args.wait_quiet:.0f} s for a quiet machine")
        say(f"waited {wait_quiet(args.wait_quiet, say):.0f} s")
    start = time.perf_counter()
    contention = CpuContention()
    env = environment()
    say(f"environment: {env['cpu']}, Python {env['python']}, OPENBLAS_CORETYPE="
        f"{env['env']['OPENBLAS_CORETYPE']}")
    tmp = None
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="staticml-bench-")
        work = Path(tmp.name)
    try:
        say("fitting models")
        cases = build_cases()
        for case in cases:
            say(f"{case.title}")
            say("  staticml build")
            target = work / f"bench_{case.key}"
            if target.exists():
                shutil.rmtree(target)
            compile_staticml(case, work)
            say("  skl2onnx conversion")
            convert_onnx(case)
            measure(case, cfg, work, say)
    finally:
        if tmp is not None:
            tmp.cleanup()
    env["contention"] = contention.summary()
    if env["contention"]["others_cpu_share"] > 0.05:
        say(f"WARNING: other processes used {100 * env['contention']['others_cpu_share']:.0f}% "
            "of the CPU during the run; the numbers are noisy")
    text = report(cases, env, cfg, args.quick)
    text += f"Total benchmark wall time: {time.perf_counter() - start:.0f} s\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    raw = {"env": env, "config": cfg, "quick": args.quick,
           "cases": {c.key: {"title": c.title, **c.results} for c in cases}}
    out.with_suffix(".json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(text)
    say(f"written to {out} (+ {out.with_suffix('.json').name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
