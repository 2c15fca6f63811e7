"""The generated C drift monitor agrees with the Python drift report on the same rows.

The monitor's header declarations and source are compiled with ``sm_math.h`` (pasted
before the source, as in a generated ``NAME.c``) using the library's discipline (no libc,
no builtins, no FMA contraction), then fed the same encoded rows as ``drift``.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from staticml.backends.c.monitor import render_monitor
from staticml.data.drift import count, counter_layout, drift
from staticml.data.profile import inputs_of, profile
from staticml.data.schema import RowEncoder
from staticml.errors import BuildError
from staticml.ir.ops import InputColumn

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "staticml" / "backends" / "c" / "runtime"
CC = shutil.which("cc")
CFLAGS = ["-std=c99", "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
          "-fno-builtin", "-fno-stack-protector", "-nostdlib", "-Wall", "-Wextra", "-pedantic",
          "-Werror"]

pytestmark = [pytest.mark.needs_cc,
              pytest.mark.skipif(CC is None, reason="no C compiler: `cc` is not on PATH")]

INPUTS = [InputColumn("age", "number"), InputColumn("plan", "string", ("basic", "pro", "max")),
          InputColumn("spend", "number"), InputColumn("dead", "number"),
          InputColumn("steps", "number")]


def _train(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "age": rng.normal(40, 12, n).round(),
        "plan": rng.choice(["basic", "pro", "max", "legacy", None], n, p=[.5, .3, .1, .05, .05]),
        "spend": np.where(rng.random(n) < 0.08, np.nan, rng.lognormal(3, 1, n)),
        "dead": np.full(n, np.nan),                 # no finite training value at all
        "steps": rng.integers(0, 4, n).astype(float),
    })


def _compile(tmp: Path, header: str, source: str, name: str = "t") -> ctypes.CDLL:
    N = name.upper()
    text = "\n".join(["#include <stddef.h>", "#include <stdint.h>", f"#define {N}_API",
                      f"#define {N}_E_ARGUMENT 1", header,
                      (RUNTIME / "sm_math.h").read_text(), source])
    src, lib = tmp / f"{name}.c", tmp / f"lib{name}.so"
    src.write_text(text)
    gcc = ["-fno-tree-loop-distribute-patterns"] if "clang" not in subprocess.run(
        [CC, "--version"], capture_output=True, text=True).stdout else []
    proc = subprocess.run([CC, *CFLAGS, *gcc, str(src), "-o", str(lib)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    dll = ctypes.CDLL(str(lib))
    for fn, res in [("psi", ctypes.c_double), ("psi_adjusted", ctypes.c_double),
                    ("missing_rate", ctypes.c_double), ("out_of_range", ctypes.c_double),
                    ("verdict", ctypes.c_int), ("rows", ctypes.c_uint64),
                    ("observe_matrix", ctypes.c_int), ("observe", ctypes.c_int)]:
        getattr(dll, f"{name}_monitor_{fn}").restype = res
    dll.path = lib
    return dll


class Monitor:
    def __init__(self, dll: ctypes.CDLL, n_counters: int, name: str = "t") -> None:
        self.dll, self.name = dll, name
        self.buf = (ctypes.c_uint64 * (1 + n_counters))()   # the caller allocates it
        self.call("init")

    def call(self, fn: str, *args):
        return getattr(self.dll, f"{self.name}_monitor_{fn}")(ctypes.byref(self.buf), *args)

    def observe(self, x: np.ndarray) -> int:
        x = np.ascontiguousarray(x, dtype=np.float64)
        return self.call("observe_matrix", x.ctypes.data_as(ctypes.c_void_p),
                         ctypes.c_size_t(x.shape[0]))

    @property
    def counters(self) -> list[int]:
        return list(self.buf)[1:]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    prof = profile(_train(5000, np.random.default_rng(0)), INPUTS)
    header, source = render_monitor(prof, INPUTS, "t")
    dll = _compile(tmp_path_factory.mktemp("monitor"), header, source)
    n_counters = sum(nb + num for _, nb, num in counter_layout(prof))
    return prof, dll, n_counters


def _rows(prof: dict, n: int, seed: int, drifted: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    df = _train(n, rng)
    if drifted:
        df["age"] += 8
        df.loc[: n // 3, "plan"] = "max"
        df.loc[: n // 5, "dead"] = 1.0
    x = RowEncoder(inputs_of(prof)).encode(df)
    # edge cases: every bin edge exactly, its neighbours, +-inf, -0.0, odd codes
    edges = np.asarray(prof["columns"][0]["edges"])
    extra = np.full((len(edges) * 3 + 8, len(INPUTS)), np.nan)
    extra[:, 0] = np.concatenate([edges, np.nextafter(edges, -np.inf),
                                  np.nextafter(edges, np.inf),
                                  [np.inf, -np.inf, -0.0, 0.0, 1e308, -1e308, 40.0, np.nan]])
    extra[:8, 1] = [0.0, 1.0, 2.0, -1.0, 3.0, 1.5, -0.0, 1e9]
    extra[:4, 4] = [0.0, 3.0, -0.0, np.inf]
    return np.vstack([x, extra])


@pytest.mark.parametrize("drifted", [False, True], ids=["fresh", "drifted"])
@pytest.mark.parametrize("n", [1, 100, 3000])
def test_c_monitor_equals_python(built, n, drifted):
    prof, dll, n_counters = built
    x = _rows(prof, n, seed=n + drifted, drifted=drifted)
    mon = Monitor(dll, n_counters)
    assert mon.observe(x) == 0
    rows, counts, oor = count(prof, x)
    want = drift(prof, x)
    flat = []
    for c, o, (_, _, num) in zip(counts, oor, counter_layout(prof)):
        flat += [int(v) for v in c] + ([o] if num else [])
    assert mon.call("rows") == rows == x.shape[0]
    assert mon.counters == flat                               # the same bins, row by row
    for j, col in enumerate(want["columns"]):
        c_psi = mon.call("psi", j)
        assert abs(c_psi - col["psi"]) <= 1e-12 * max(1.0, abs(col["psi"])), col["name"]
        assert abs(mon.call("psi_adjusted", j) - col["psi_adjusted"]) <= 1e-12
        assert mon.call("verdict", j) == ["none", "moderate", "major"].index(col["verdict"])
        assert mon.call("missing_rate", j) == col["missing_rate"]
        rate = col.get("out_of_range_rate", col.get("unseen_rate"))
        got = mon.call("out_of_range", j)
        assert (np.isnan(got) and rate is None) or got == rate
    plan = prof["columns"][1]
    assert plan["missing"] > 0 and plan["missing_rate"] == plan["missing"] / prof["rows"]
    if drifted and n >= 1000:
        assert want["verdict"] == "major" and {"age", "plan", "dead"} <= set(want["drifted"])


def test_observe_one_row_at_a_time_and_reset(built):
    prof, dll, n_counters = built
    x = _rows(prof, 50, seed=9, drifted=False)
    a, b = Monitor(dll, n_counters), Monitor(dll, n_counters)
    a.observe(x)
    for row in x:
        row = np.ascontiguousarray(row)
        assert b.call("observe", row.ctypes.data_as(ctypes.c_void_p)) == 0
    assert a.counters == b.counters
    a.call("init")
    assert a.call("rows") == 0 and not any(a.counters) and np.isnan(a.call("psi", 0))


def test_null_pointers_and_bad_columns(built):
    _, dll, n_counters = built
    assert dll.t_monitor_observe(None, None) == 1
    assert dll.t_monitor_observe_matrix(None, None, ctypes.c_size_t(0)) == 1
    dll.t_monitor_init(None)                                  # a no-op, not a crash
    mon = Monitor(dll, n_counters)
    assert mon.call("observe_matrix", None, ctypes.c_size_t(0)) == 0
    assert np.isnan(mon.call("psi", len(INPUTS))) and np.isnan(mon.call("psi", -1))
    assert mon.call("verdict", 99) == -1 and dll.t_monitor_rows(None) == 0


def test_library_imports_nothing(built):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("`nm` is not on PATH")
    out = subprocess.run([nm, "-D", "--undefined-only", str(built[1].path)],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", out


def test_profile_must_match_the_inputs(built):
    prof = built[0]
    with pytest.raises(BuildError, match="not the model's inputs"):
        render_monitor(prof, INPUTS[:2], "t")
    other = [InputColumn("age", "number"), InputColumn("plan", "string", ("basic", "pro")),
             *INPUTS[2:]]
    with pytest.raises(BuildError, match="vocabulary"):
        render_monitor(prof, other, "t")


def test_edges_are_exact_hex_literals(built):
    prof = built[0]
    _, source = render_monitor(prof, INPUTS, "t")
    for e in prof["columns"][0]["edges"]:
        assert float(e).hex() in source
