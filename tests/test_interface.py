"""Missing features and upgrades: fallbacks, --drop-unused, `features`, `compat`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import staticml
from staticml import errors

sys.path.insert(0, str(Path(__file__).parent))
from targets.zoo import _frame, logreg_pipeline  # noqa: E402


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "staticml", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def lr():
    return logreg_pipeline()


@pytest.fixture(scope="module")
def subset_model():
    """Reads only age and plan of the five columns in the frame."""
    X, y = _frame()
    pre = ColumnTransformer([("num", StandardScaler(), ["age"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X[:600], y[:600])
    return model, X[:200], X[600:]


# ------------------------------------------------------------------- fallbacks
def test_fallback_predicts_with_the_column_absent(lr, tmp_path) -> None:
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr",
                         fallbacks={"income": "median", "plan": "most_frequent"})
    med = float(np.median(sample["income"]))
    rec = {c["name"]: c for c in art.manifest["inputs"]}
    assert rec["income"]["fallback"] == {"strategy": "median", "value": med}
    assert rec["plan"]["fallback"]["value"] == sample["plan"].value_counts().idxmax()
    # Python: the column is simply absent.
    absent = held.drop(columns=["income"])
    direct = held.assign(income=med)
    np.testing.assert_array_equal(art.predict(absent), model.predict(direct))
    np.testing.assert_allclose(art.predict_proba(absent), model.predict_proba(direct),
                               atol=1e-12, rtol=0)
    # C: NaN in the flat row (what the struct entry point gets as NaN) -> the fallback.
    x = art.encode(held)
    x[:, 1] = np.nan
    out, status = art._lib.predict_matrix(x)
    assert not status.any()
    np.testing.assert_array_equal(out[:, 1:3], art.predict_proba(direct))
    # a dict row without the column works too
    row = held.iloc[0].drop("income").to_dict()
    assert art.predict_one(row) == model.predict(direct.iloc[:1])[0]
    header = (tmp_path / "b/include/lr.h").read_text()
    assert "fallback: NaN missing ->" in header


def test_fallback_values_come_from_the_training_data_when_given(lr, tmp_path) -> None:
    """With --train-data, a fallback's value is the training data's statistic, not the
    sample's (the sample is only a sample), whether the data is in memory or a file."""
    model, sample, held = lr
    train = pd.concat([sample, held], ignore_index=True)
    train.loc[: len(train) // 2, "income"] *= 3  # the training median differs from the sample's
    med, top = float(np.median(train["income"])), train["plan"].value_counts().idxmax()
    assert med != float(np.median(sample["income"]))
    csv = tmp_path / "train.csv"
    train.to_csv(csv, index=False)
    for k, data in enumerate([train, str(csv)]):
        art = staticml.build(model, sample=sample, out=tmp_path / f"t{k}", name="lr",
                             train_data=data,
                             fallbacks={"income": "median", "plan": "most_frequent"})
        rec = {c["name"]: c for c in art.manifest["inputs"]}
        assert rec["income"]["fallback"] == {"strategy": "median", "value": med}
        assert rec["plan"]["fallback"]["value"] == top
    with pytest.raises(errors.BuildError, match="no column"):
        train.drop(columns=["income"]).to_csv(csv, index=False)
        staticml.build(model, sample=sample, out=tmp_path / "t9", name="lr",
                       train_data=str(csv), fallbacks={"income": "median"})
    assert not (tmp_path / "t9").exists()


def test_fallback_in_a_compiled_c_program(lr, tmp_path) -> None:
    """The struct entry point: a C program leaves income as NaN."""
    import shutil

    if shutil.which("cc") is None:
        pytest.skip("needs cc")
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr",
                         fallbacks=["income=constant:50000"])
    row = held.iloc[1]
    prog = tmp_path / "main.c"
    prog.write_text(f"""
#include <stdio.h>
#include <math.h>
#include "lr.h"
int main(void) {{
    lr_input r = {{ {float(row['age'])!r}, NAN, {float(row['visits'])!r}, "{row['plan']}", "{row['region']}" }};
    double out[LR_N_OUTPUTS];
    int rc = lr_predict(&r, out);
    printf("%d %.17g\\n", rc, out[2]);
    return rc;
}}""")
    lib = art.library_path
    subprocess.run(["cc", "-O1", f"-I{tmp_path / 'b/include'}", str(prog), f"-L{lib.parent}",
                    "-llr", f"-Wl,-rpath,{lib.parent}", "-o", str(tmp_path / "demo")],
                   check=True)
    res = subprocess.run([str(tmp_path / "demo")], capture_output=True, text=True, check=True)
    rc, p1 = res.stdout.split()
    want = model.predict_proba(held.iloc[1:2].assign(income=50000.0))[0, 1]
    assert rc == "0" and float(p1) == pytest.approx(want, abs=1e-12)


def test_fallback_errors_are_clear(lr, tmp_path) -> None:
    model, sample, _ = lr
    for spec, match in [("nosuch=median", "does not take"), ("plan=median", "holds strings"),
                        ("income", "COLUMN=STRATEGY"), ("income=mode", "unknown strategy"),
                        ("income=constant:abc", "give a number")]:
        with pytest.raises(errors.BuildError, match=match):
            staticml.build(model, sample=sample, out=tmp_path / "x", fallbacks=[spec])
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ drop-unused
def test_drop_unused_removes_ignored_inputs(subset_model, tmp_path) -> None:
    model, sample, held = subset_model
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="sub",
                         drop_unused=True)
    assert [c.name for c in art.inputs] == ["age", "plan"]
    assert art.manifest["dropped_inputs"] == ["income", "visits", "region"]
    np.testing.assert_array_equal(art.predict(held[["age", "plan"]]), model.predict(held))
    np.testing.assert_allclose(art.predict_proba(held), model.predict_proba(held), atol=1e-12)
    header = (tmp_path / "b/include/sub.h").read_text()
    assert "income" not in header.split("typedef struct")[1].split("}")[0]


def test_drop_unused_with_positional_arrays(tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = 3 * X[:, 0] - 2 * X[:, 4] + rng.normal(0, 0.1, 300)
    model = Lasso(alpha=0.3).fit(X, y)
    zero = [f"x{i}" for i in np.flatnonzero(model.coef_ == 0)]
    assert zero  # the case needs zero coefficients
    art = staticml.build(model, sample=X[:100], out=tmp_path / "b", name="lasso",
                         drop_unused=True)
    assert art.manifest["dropped_inputs"] == zero
    keep = [i for i in range(6) if f"x{i}" not in zero]
    np.testing.assert_allclose(art.predict(X[:, keep]), model.predict(X), atol=1e-12)


def test_features_lists_needed_and_ignored(subset_model, tmp_path) -> None:
    model, sample, _ = subset_model
    staticml.build(model, sample=sample, out=tmp_path / "b", name="sub")
    res = cli("features", tmp_path / "b", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["needed"] == ["age", "plan"]
    assert data["ignored"] == ["income", "visits", "region"]
    res = cli("features", tmp_path / "b")
    assert res.returncode == 0 and "region" in res.stderr
    assert json.loads(res.stdout)["ignored"] == ["income", "visits", "region"]


def test_features_without_matches_a_direct_computation(lr, tmp_path) -> None:
    model, sample, held = lr
    staticml.build(model, sample=sample, out=tmp_path / "b", name="lr")
    data = tmp_path / "held.csv"
    held.to_csv(data, index=False)
    res = cli("features", tmp_path / "b", "--without", "visits", "--data", data, "--json")
    assert res.returncode == 0, res.stderr
    w = json.loads(res.stdout)["without"]
    frame = pd.read_csv(data)
    degraded = frame.assign(visits=float(np.median(frame["visits"].dropna())))
    full, deg = model.predict(frame), model.predict(degraded)
    assert w["fill"]["value"] == float(np.median(frame["visits"].dropna()))
    assert w["label_agreement"] == pytest.approx((full == deg).mean(), abs=1e-15)
    assert w["labels_changed"] == int((full != deg).sum())
    dp = np.abs(model.predict_proba(frame) - model.predict_proba(degraded))
    assert w["proba_mean_abs_change"] == pytest.approx(dp.mean(), abs=1e-12)
    assert w["proba_max_abs_change"] == pytest.approx(dp.max(), abs=1e-12)
    res = cli("features", tmp_path / "b", "--without", "nope", "--data", data)
    assert res.returncode == 3 and "no input 'nope'" in res.stderr
    res = cli("features", tmp_path / "b", "--without", "visits")
    assert res.returncode == 2 and "--data" in res.stderr
    strings = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    res = cli("features", tmp_path / "b", "--without", strings[0], "--data", data, "--json")
    assert res.returncode == 0, res.stderr  # a string column's default stand-in
    assert json.loads(res.stdout)["without"]["fill"]["strategy"] == "most_frequent"
    res = cli("features", tmp_path / "b", "--without", "visits", "--without", strings[0],
              "--data", data)
    assert res.returncode == 2 and "one column per run" in res.stderr
    frame.drop(columns=["visits"]).to_csv(tmp_path / "lacks.csv", index=False)
    res = cli("features", tmp_path / "b", "--without", "visits", "--data", tmp_path / "lacks.csv")
    assert res.returncode == 3 and "the data lacks 'visits'" in res.stderr, res.stderr


# ----------------------------------------------------------------------- compat
def test_compat(lr, subset_model, tmp_path) -> None:
    model, sample, _ = lr
    staticml.build(model, sample=sample, out=tmp_path / "v1", name="lr")
    staticml.build(model, sample=sample, out=tmp_path / "v2", name="lr", model_version="2")
    res = cli("compat", tmp_path / "v1", tmp_path / "v2", "--json")
    assert res.returncode == 0, res.stdout
    assert json.loads(res.stdout)["compatible"] is True
    # new categories are fine; a removed input is not
    more = sample.copy()
    more.loc[more.index[:5], "plan"] = "enterprise"
    refit = logreg_pipeline()[0].fit(more, (more["age"] > 40).astype(int))
    staticml.build(refit, sample=more, out=tmp_path / "v3", name="lr")
    rep = json.loads(cli("compat", tmp_path / "v1", tmp_path / "v3", "--json").stdout)
    kinds = {f["kind"]: f["breaking"] for f in rep["findings"]}
    assert kinds.get("categories_added") is False
    sub, s_sample, _ = subset_model
    staticml.build(sub, sample=s_sample, out=tmp_path / "v4", name="lr", drop_unused=True)
    res = cli("compat", tmp_path / "v1", tmp_path / "v4", "--json")
    rep = json.loads(res.stdout)
    assert res.returncode == 1 and not rep["compatible"]
    assert {f["kind"] for f in rep["findings"] if f["breaking"]} >= {"input_removed"}
    res = cli("compat", tmp_path / "v1", tmp_path / "v4")
    assert "not compatible" in res.stderr and "income" in res.stderr
