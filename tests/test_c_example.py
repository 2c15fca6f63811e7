"""The C side of the contract: examples/c builds with plain cc and matches Python; the
library imports nothing; the C struct API reports errors with codes and strerror."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import staticml
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()
from staticml.backends.c.render import API_FUNCTIONS  # noqa: E402

pytestmark = pytest.mark.needs_cc
ROOT = Path(__file__).resolve().parents[1]


def _lib(bundle: Path) -> Path:
    art = staticml.load(bundle)
    return bundle / art.manifest["targets"][HOST]["path"]


@pytest.mark.skipif(shutil.which("nm") is None, reason="needs binutils nm")
def test_library_imports_no_symbols_at_all(churn_bundle):
    res = subprocess.run(["nm", "-D", "--undefined-only", str(_lib(churn_bundle))],
                         capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""
    exported = subprocess.run(["nm", "-D", "--defined-only", str(_lib(churn_bundle))],
                              capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in exported.splitlines() if " T " in line}
    assert names == {f"churn_{fn}" for fn in API_FUNCTIONS}


def _run_example(bundle, tmp_path, rows, link_source=False):
    demo = tmp_path / "churn_demo"
    src = ROOT / "examples" / "c" / "main.c"
    if link_source:  # compile the model straight into the program
        argv = ["cc", "-O2", "-ffp-contract=off", f"-I{bundle / 'include'}", str(src),
                str(bundle / "src" / "churn.c"), "-o", str(demo)]
    else:
        lib = _lib(bundle)
        argv = ["cc", "-O2", f"-I{bundle / 'include'}", str(src), f"-L{lib.parent}", "-lchurn",
                f"-Wl,-rpath,{lib.parent}", "-o", str(demo)]
    subprocess.run(argv, check=True, capture_output=True)
    csv = tmp_path / "rows.csv"
    rows.to_csv(csv, index=False)
    return subprocess.run([str(demo), str(csv)], capture_output=True, text=True)


@pytest.mark.parametrize("link_source", [False, True], ids=["shared-library", "source"])
def test_example_prints_what_python_predicts(churn, churn_bundle, tmp_path, link_source):
    _, _, X_test, _ = churn
    rows = X_test[:300]
    res = _run_example(churn_bundle, tmp_path, rows, link_source)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    art = staticml.load(churn_bundle)
    labels = [ln.split(",")[0] for ln in lines]
    proba = np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines])
    assert labels == art.predict(rows).tolist()
    assert np.array_equal(proba, art.predict_proba(rows))  # %.17g round-trips exactly


def test_c_struct_api_reports_bad_rows(churn, churn_bundle, tmp_path):
    """NaN is fine here (imputer), unseen strings are fine (ignore); inf is an error."""
    _, _, X_test, _ = churn
    rows = X_test[:3].copy()
    rows.iloc[0, 0] = np.nan
    rows.iloc[1, 3] = "never-seen"
    rows["monthly_charges"] = rows["monthly_charges"].astype(object)
    rows.iloc[2, 1] = "inf"
    res = _run_example(churn_bundle, tmp_path, rows)
    lines = res.stdout.strip().splitlines()
    assert res.returncode == 1
    art = staticml.load(churn_bundle)
    ok = rows[:2].astype({"monthly_charges": float})
    assert [ln.split(",")[0] for ln in lines[:2]] == art.predict(ok).tolist()
    assert lines[2] == "error,infinite value in an input; pass a finite number"
