"""Training-data fingerprint, drift and the on-device monitor, end to end through the CLI,
the Python API and the compiled library."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import staticml

sys.path.insert(0, str(Path(__file__).parent))
from targets.zoo import _numeric  # noqa: E402


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "staticml", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A regressor built with --train-data from a CSV, plus that data."""
    from sklearn.linear_model import Ridge

    tmp = tmp_path_factory.mktemp("td")
    X, _, y = _numeric(n=3000, d=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["target"] = y
    train = tmp / "train.csv"
    frame.to_csv(train, index=False)
    model = Ridge().fit(frame[["a", "b", "c", "d"]], y)
    import skops.io as sio

    sio.dump(model, tmp / "model.skops")
    sample = tmp / "sample.csv"
    frame[["a", "b", "c", "d"]][:200].to_csv(sample, index=False)
    res = cli("build", tmp / "model.skops", "--sample", sample, "-o", tmp / "bundle",
              "--name", "ridge", "--train-data", train)
    assert res.returncode == 0, res.stderr
    return tmp, frame, model


def test_fingerprint_recorded_and_matched(built) -> None:
    tmp, frame, _ = built
    m = json.loads((tmp / "bundle/manifest.json").read_text())
    fp = m["training_data"]["fingerprint"]
    assert fp["rows"] == 3000 and set(fp["schema"]) == {"a", "b", "c", "d", "target"}
    # the contract comes from the training data, not the 200-row sample
    assert m["inputs"][0]["range"] == [frame["a"].min(), frame["a"].max()]
    res = cli("data", "verify", tmp / "bundle", tmp / "train.csv", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["status"] == "same"
    frame.to_parquet(tmp / "train.parquet")
    res = cli("data", "verify", tmp / "bundle", tmp / "train.parquet", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["status"] == "same"
    frame.sample(frac=1.0, random_state=1).to_csv(tmp / "shuffled.csv", index=False)
    res = cli("data", "verify", tmp / "bundle", tmp / "shuffled.csv", "--json")
    assert res.returncode == 0
    assert json.loads(res.stdout)["status"] == "same_rows_different_order"
    changed = frame.copy()
    changed.loc[1234, "c"] += 1e-3
    changed.to_csv(tmp / "changed.csv", index=False)
    res = cli("data", "verify", tmp / "bundle", tmp / "changed.csv", "--json")
    rep = json.loads(res.stdout)
    assert res.returncode == 1 and rep["status"] == "different"
    assert rep["columns"]["changed"] == ["c"]
    res = cli("data", "verify", tmp / "bundle", tmp / "changed.csv")
    assert res.returncode == 1 and "different data" in res.stderr and "c" in res.stderr


def test_data_verify_without_fingerprint_is_a_clear_error(tmp_path) -> None:
    from sklearn.linear_model import LinearRegression

    X, _, y = _numeric(n=300, d=4)
    staticml.build(LinearRegression().fit(X, y), sample=X, out=tmp_path / "b", name="lin")
    pd.DataFrame(X).to_csv(tmp_path / "d.csv", index=False)
    res = cli("data", "verify", tmp_path / "b", tmp_path / "d.csv")
    assert res.returncode == 3 and "--train-data" in res.stderr


def test_drift_command_and_report(built) -> None:
    tmp, frame, _ = built
    rng = np.random.default_rng(5)
    fresh = pd.DataFrame(rng.normal(size=(2000, 4)), columns=["a", "b", "c", "d"])
    fresh.to_csv(tmp / "fresh.csv", index=False)
    res = cli("drift", tmp / "bundle", tmp / "fresh.csv", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verdict"] == "none"
    shifted = fresh.assign(b=fresh["b"] + 1.0)  # one standard deviation
    shifted.to_csv(tmp / "shifted.csv", index=False)
    res = cli("drift", tmp / "bundle", tmp / "shifted.csv", "--json")
    rep = json.loads(res.stdout)
    assert res.returncode == 1 and rep["verdict"] == "major" and rep["drifted"] == ["b"]
    html = (tmp / "bundle/report.html").read_text()
    assert "PSI" in html
    res = cli("drift", tmp / "bundle", tmp / "shifted.csv")
    assert res.returncode == 1 and "major" in res.stderr
    res = cli("drift", tmp / "bundle", tmp / "nope.csv")
    assert res.returncode == 3 and "does not exist" in res.stderr


def test_c_monitor_agrees_with_python(built) -> None:
    tmp, frame, _ = built
    art = staticml.load(tmp / "bundle")
    rng = np.random.default_rng(9)
    data = pd.DataFrame(rng.normal(0.3, 1.2, size=(700, 4)), columns=["a", "b", "c", "d"])
    data.iloc[::50, 2] = np.nan
    py = art.drift(data)
    lib = ctypes.CDLL(str(art.library_path))
    header = (tmp / "bundle/include/ridge.h").read_text()
    n_counters = int(header.split("#define RIDGE_MONITOR_N_COUNTERS")[1].split()[0])
    mon = (ctypes.c_uint64 * (1 + n_counters))()
    lib.ridge_monitor_init(mon)
    x = np.ascontiguousarray(art.encode(data))
    lib.ridge_monitor_observe_matrix.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                 ctypes.c_size_t]
    assert lib.ridge_monitor_observe_matrix(ctypes.addressof(mon), x.ctypes.data, len(x)) == 0
    lib.ridge_monitor_psi.restype = ctypes.c_double
    lib.ridge_monitor_verdict.restype = ctypes.c_int
    names = ["none", "moderate", "major"]
    for j, col in enumerate(py["columns"]):
        assert lib.ridge_monitor_psi(mon, j) == pytest.approx(col["psi"], abs=1e-12)
        assert names[lib.ridge_monitor_verdict(mon, j)] == col["verdict"]
    assert mon[0] == 700


def test_report_is_written_and_not_hashed(built) -> None:
    tmp, _, _ = built
    m = json.loads((tmp / "bundle/manifest.json").read_text())
    assert (tmp / "bundle/report.html").exists() and "report.html" not in m["files"]
    assert m["built_at"].endswith("+00:00")
