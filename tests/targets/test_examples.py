"""examples/java and examples/python, run the way their READMEs tell a user to run them.

The churn pipeline is trained (the session ``churn`` fixture: ``churn_data(n=3000, seed=1)``,
``churn_pipeline().fit`` on the first 2000 rows) and built once with the native, java and
python targets. Then:

* ``examples/java/Main.java`` is compiled with the real ``javac`` against the bundle's jar and
  run with ``java``, with the README's own command line. Main echoes each row it predicts,
  so the rows are read back from its output (nothing here copies them), rebuilt as a
  DataFrame and predicted by ``staticml.load(bundle)``: labels and probabilities must be
  equal exactly (Double.toString round-trips), a refused row must carry the native
  library's status code and the C library's ``churn_strerror`` text.
* The bundle's wheel is pip-installed offline into a fresh venv that sees numpy and nothing
  else (not staticml), and ``examples/python/app.py`` runs there on a CSV of held-out rows
  (missing values, an unseen category, an extra column, shuffled column order): its output
  must equal the Artifact's predictions exactly; bad rows must exit 1 naming row and column.

java/javac missing: the Java test skips, unless STATICML_REQUIRE_RUNNERS is set (it fails).
"""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import staticml
from staticml.errors import ToolchainError
from staticml.runtime.wheel import fresh_venv
from staticml.toolchain.javac import find_jdk_tool
from staticml.runtime.wheel import clean_env  # noqa: E402

from .runners import unavailable

pytestmark = pytest.mark.cross

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
JAVA_RUN = "javac -cp churn.jar Main.java && java -cp churn.jar:. Main"
PIP_INSTALL = "pip install --no-index dist/churn/python/churn-*.whl"
PY_RUN = "python app.py customers.csv"


@pytest.fixture(scope="module")
def bundle(churn, tmp_path_factory) -> Path:
    model, X_train, _, _ = churn
    out = tmp_path_factory.mktemp("examples") / "churn"
    staticml.build(model, sample=X_train[:300], out=out, name="churn",
                   targets=["native", "java", "python"])
    return out


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def test_readmes_show_the_commands_tested_here():
    java = (EXAMPLES / "java" / "README.md").read_text()
    python = (EXAMPLES / "python" / "README.md").read_text()
    assert JAVA_RUN in java and "--target java" in java
    assert PIP_INSTALL in python and PY_RUN in python and "--target python" in python


# -- Java ---------------------------------------------------------------------------------
def _java_rows(text: str, names: list[str], numeric: list[bool]) -> dict:
    """``Arrays.toString(row)`` back into a row: "null" is missing."""
    fields = text.split(", ")
    assert len(fields) == len(names), text
    return {n: (np.nan if f == "null" else float(f)) if num else (None if f == "null" else f)
            for n, num, f in zip(names, numeric, fields)}


def test_java_example_prints_what_the_artifact_predicts(bundle, tmp_path):
    try:
        java, javac = find_jdk_tool("java"), find_jdk_tool("javac")
    except ToolchainError as exc:
        unavailable(str(exc))
    assert _manifest(bundle)["targets"]["java"]["path"] == "java/churn.jar"
    shutil.copy(EXAMPLES / "java" / "Main.java", tmp_path)
    shutil.copy(bundle / "java" / "churn.jar", tmp_path)
    res = subprocess.run([javac, "-cp", "churn.jar", "Main.java"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([java, "-cp", f"churn.jar{os.pathsep}.", "Main"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr

    art = staticml.load(bundle)
    names = [c["name"] for c in art.schema["inputs"]]
    numeric = [c["dtype"] == "number" for c in art.schema["inputs"]]
    header, *lines = res.stdout.splitlines()
    assert header == f"columns: [{', '.join(names)}]"
    parsed = [re.fullmatch(r"\[(.*)\] -> (.*)", line) for line in lines]
    assert all(parsed), res.stdout
    rows = pd.DataFrame([_java_rows(m[1], names, numeric) for m in parsed], columns=names)
    _, status = art.run(rows)
    ok = status == 0
    assert 3 <= ok.sum() < len(rows), "the example predicts rows and shows a refused one"
    assert rows[ok].isna().any().any(), "the example shows a missing value"

    labels, proba = art.predict(rows[ok]), art.predict_proba(rows[ok])
    classes = art.classes_.tolist()
    strerror = getattr(ctypes.CDLL(str(art.library_path)), "churn_strerror")
    strerror.restype, strerror.argtypes = ctypes.c_char_p, [ctypes.c_int]
    j = 0
    for m, good, st in zip(parsed, ok, status):
        if good:
            got = re.fullmatch(r"(\S+), probability (\S+)", m[2])
            assert got, m[0]
            assert got[1] == labels[j]
            assert float(got[2]) == proba[j, classes.index(got[1])], m[0]  # exact
            j += 1
        else:
            code = int(st) & 0xFF
            assert m[2] == f"error {code}: {strerror(code).decode()}", m[0]


# -- Python -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_python(bundle, tmp_path_factory) -> Path:
    """A fresh venv holding the bundle's wheel (pip, offline) and numpy: no staticml."""
    base = tmp_path_factory.mktemp("app-venv")
    python = fresh_venv(base)
    wheel = bundle / _manifest(bundle)["targets"]["python"]["path"]
    assert wheel.match("python/churn-*.whl")  # what the README's pip command picks up
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                          "--no-index", "--no-deps", "--no-cache-dir",
                          "--disable-pip-version-check", str(wheel)],
                         env=clean_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([str(python), "-c", "import staticml"], env=clean_env(),
                         capture_output=True, text=True)
    assert res.returncode != 0, "the app's venv must not see staticml"
    return python


def _run_app(python: Path, rows: pd.DataFrame, tmp_path: Path) -> subprocess.CompletedProcess:
    shutil.copy(EXAMPLES / "python" / "app.py", tmp_path)
    rows.to_csv(tmp_path / "customers.csv", index=False)
    return subprocess.run([str(python), "app.py", "customers.csv"], cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True)


def test_python_example_prints_what_the_artifact_predicts(churn, bundle, app_python, tmp_path):
    _, _, X_test, _ = churn
    rows = X_test.iloc[:400].reset_index(drop=True)
    rows.loc[1, "region"] = None          # missing string
    rows.loc[2, "contract"] = "lifetime"  # unseen category (the encoder ignores it)
    rows.loc[3, "tenure_months"] = np.nan
    assert rows["support_calls"].isna().any()
    csv_rows = rows[list(reversed(rows.columns))].assign(customer_id=range(len(rows)))

    res = _run_app(app_python, csv_rows, tmp_path)
    assert res.returncode == 0, res.stderr
    header, *out = list(csv.reader(io.StringIO(res.stdout)))
    art = staticml.load(bundle)
    assert header == ["prediction"] + [f"P({c})" for c in art.classes_]
    assert [r[0] for r in out] == art.predict(rows).tolist()
    proba = np.array([[float(v) for v in r[1:]] for r in out])
    assert np.array_equal(proba, art.predict_proba(rows))  # repr round-trips: exact


@pytest.mark.parametrize("value, message", [
    ("inf", "infinite value"),
    ("n/a", "expected a number, got 'n/a'"),
], ids=["infinite", "not-a-number"])
def test_python_example_reports_a_refused_row(churn, app_python, tmp_path, value, message):
    _, _, X_test, _ = churn
    rows = X_test.iloc[:5].astype({"monthly_charges": object}).reset_index(drop=True)
    rows.loc[3, "monthly_charges"] = value
    res = _run_app(app_python, rows, tmp_path)
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.startswith(f"error: row 3, column 'monthly_charges': {message}"), res.stderr
