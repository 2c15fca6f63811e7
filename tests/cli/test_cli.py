"""The command line as a script sees it: stdout results, stderr messages, exit codes."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()

pytestmark = pytest.mark.needs_cc


def staticml(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "staticml", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def files(churn, tmp_path_factory):
    model, X_train, X_test, _ = churn
    d = tmp_path_factory.mktemp("cli")
    sio.dump(model, d / "model.skops")
    (d / "model.pkl").write_bytes(pickle.dumps(model))
    X_train[:300].to_csv(d / "sample.csv", index=False)
    X_test.to_csv(d / "test.csv", index=False)
    X_test.to_parquet(d / "test.parquet")
    return d


@pytest.fixture(scope="module")
def built(files):
    res = staticml("build", files / "model.skops", "--sample", files / "sample.csv",
                   "-o", files / "bundle", "--name", "churn")
    assert res.returncode == 0, res.stderr
    return files / "bundle", res


def test_build_prints_the_bundle_on_stdout_and_progress_on_stderr(built):
    bundle, res = built
    assert res.stdout.strip() == str(bundle)
    assert "building" in res.stderr and "parity" in res.stderr


def test_build_json_is_the_manifest(files, tmp_path):
    res = staticml("build", files / "model.skops", "--sample", files / "sample.csv",
                   "-o", tmp_path / "b", "--name", "churn", "--json")
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["name"] == "churn" and m["parity"][HOST]["passed"]


def test_pickle_needs_trust(files, tmp_path):
    res = staticml("build", files / "model.pkl", "--sample", files / "sample.csv",
                   "-o", tmp_path / "b")
    assert res.returncode == 3
    assert "--trust-pickle" in res.stderr and res.stdout == ""
    assert not (tmp_path / "b").exists()
    res = staticml("build", files / "model.pkl", "--sample", files / "sample.csv",
                   "-o", tmp_path / "b", "--trust-pickle")
    assert res.returncode == 0, res.stderr


def test_a_file_that_is_not_a_model(files, tmp_path):
    bogus = tmp_path / "model.skops"
    bogus.write_text("hello")
    res = staticml("build", bogus, "--sample", files / "sample.csv", "-o", tmp_path / "b")
    assert res.returncode == 3 and "not a valid .skops file" in res.stderr


@pytest.mark.parametrize("data", ["test.csv", "test.parquet"])
@pytest.mark.parametrize("out", ["pred.csv", "pred.parquet", None])
def test_predict_streams_files(built, files, churn, tmp_path, data, out):
    model, _, X_test, _ = churn
    bundle, _ = built
    args = ["predict", bundle, files / data, "--proba"]
    if out:
        args += ["-o", tmp_path / out]
    res = staticml(*args)
    assert res.returncode == 0, res.stderr
    if out is None:
        from io import StringIO

        got = pd.read_csv(StringIO(res.stdout))
    elif out.endswith(".csv"):
        got = pd.read_csv(tmp_path / out)
    else:
        got = pd.read_parquet(tmp_path / out)
    assert got["prediction"].tolist() == model.predict(X_test).tolist()
    np.testing.assert_allclose(got[["proba_churn", "proba_stay"]].to_numpy(),
                               model.predict_proba(X_test), rtol=0, atol=1e-9)


def test_predict_failure_keeps_the_existing_output_file(built, files, tmp_path):
    bundle, _ = built
    out = tmp_path / "pred.csv"
    out.write_text("old results\n")
    bad = pd.read_csv(files / "test.csv")
    bad["monthly_charges"] = bad["monthly_charges"].astype(object)
    bad.loc[500, "monthly_charges"] = "inf"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = staticml("predict", bundle, tmp_path / "bad.csv", "-o", out)
    assert res.returncode == 3
    assert "row 500" in res.stderr and "monthly_charges" in res.stderr
    assert out.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "pred.csv"]


def test_predict_refuses_to_write_over_its_input(built, files, tmp_path):
    bundle, _ = built
    data = tmp_path / "customers.csv"
    data.write_bytes((files / "test.csv").read_bytes())
    (tmp_path / "link.csv").hardlink_to(data)
    for out in (data, tmp_path / "." / "customers.csv", tmp_path / "link.csv"):
        res = staticml("predict", bundle, data, "-o", out)
        assert res.returncode == 3 and "is the input file" in res.stderr, res.stderr
    assert data.read_bytes() == (files / "test.csv").read_bytes()
    res = staticml("predict", bundle, data, "-o", tmp_path / "nodir" / "p.csv")
    assert res.returncode == 3 and "directory" in res.stderr and "nodir does not exist" in \
        res.stderr, res.stderr


@pytest.mark.parametrize("rows, problem", [
    ("header", "the data has no rows"),
    ("no-tenure", "missing column(s) ['tenure_months']"),
])
def test_verify_names_what_is_wrong_with_the_data(built, files, tmp_path, rows, problem):
    bundle, _ = built
    data = pd.read_csv(files / "test.csv")
    data = data[:0] if rows == "header" else data.drop(columns=["tenure_months"])
    data.to_csv(tmp_path / "d.csv", index=False)
    res = staticml("verify", bundle, "--model", files / "model.skops", "--data", tmp_path / "d.csv")
    assert res.returncode == 3 and res.stderr.startswith("error: ") and problem in res.stderr, \
        res.stderr


def test_drift_of_no_rows_is_an_error_not_a_verdict(built, files, tmp_path):
    bundle, _ = built
    pd.read_csv(files / "test.csv")[:0].to_csv(tmp_path / "none.csv", index=False)
    res = staticml("drift", bundle, tmp_path / "none.csv")
    assert res.returncode == 3 and "the data has no rows" in res.stderr, res.stderr


def test_a_joblib_dump_saved_as_pkl_loads_with_trust(files, churn, tmp_path):
    import joblib

    joblib.dump(churn[0], tmp_path / "model.pkl")
    res = staticml("build", tmp_path / "model.pkl", "--trust-pickle", "--sample",
                   files / "sample.csv", "-o", tmp_path / "b")
    assert res.returncode == 0, res.stderr


def test_verify_passes_and_fails_with_exit_codes(built, files, churn, tmp_path):
    bundle, _ = built
    res = staticml("verify", bundle, "--model", files / "model.skops", "--data",
                   files / "test.csv", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["passed"] and report["targets"][HOST]["label_mismatches"] == 0
    # A different model (same inputs) must fail verification.
    model, X_train, _, y = churn
    other = clone(model).set_params(model__C=1e-4).fit(X_train, y[:2000])
    sio.dump(other, tmp_path / "other.skops")
    res = staticml("verify", bundle, "--model", tmp_path / "other.skops", "--data",
                   files / "test.csv", "--json")
    assert res.returncode == 1
    assert json.loads(res.stdout)["passed"] is False


def test_inspect(built):
    bundle, _ = built
    res = staticml("inspect", bundle)
    assert res.returncode == 0, res.stderr
    assert "tenure_months" in res.stderr and "identical" in res.stderr
    res = staticml("inspect", bundle, "--json")
    assert json.loads(res.stdout)["name"] == "churn"


def test_inspect_refuses_a_tampered_bundle(built, tmp_path):
    import shutil

    bundle, _ = built
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "src" / "churn.c").write_text("int x;")
    res = staticml("inspect", copy)
    assert res.returncode == 3 and "sha256" in res.stderr


@pytest.mark.parametrize("verb", ["build", "predict", "verify", "inspect", "quickstart"])
def test_help_shows_an_example(verb):
    res = staticml(verb, "--help")
    assert res.returncode == 0 and "Example:" in res.stdout


def test_usage_error_exit_code():
    assert staticml("build").returncode == 2


def test_quickstart(tmp_path):
    res = staticml("quickstart", "--out", tmp_path / "qs", "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["c_output_matches_python"] is True
    assert summary["parity"]["passed"] and summary["parity"]["label_mismatches"] == 0


def test_build_a_lightgbm_text_file_without_python_objects(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 5, random_state=0)
    cols = [f"f{i}" for i in range(5)]
    frame = pd.DataFrame(X, columns=cols)
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1).fit(frame, y)
    model.booster_.save_model(tmp_path / "model.txt")
    frame[:200].to_csv(tmp_path / "sample.csv", index=False)
    res = staticml("build", tmp_path / "model.txt", "--sample", tmp_path / "sample.csv",
                   "-o", tmp_path / "b", "--name", "lgb", "--json")
    assert res.returncode == 0, res.stderr
    manifest = json.loads(res.stdout)
    assert manifest["source_model"]["library"] == "lightgbm"
    assert manifest["parity"][HOST]["passed"]
    res = staticml("predict", tmp_path / "b", tmp_path / "sample.csv", "--proba")
    got = pd.read_csv(__import__("io").StringIO(res.stdout))
    np.testing.assert_allclose(got[["proba_0", "proba_1"]].to_numpy(),
                               model.predict_proba(frame[:200]), rtol=0, atol=1e-9)


@pytest.mark.parametrize("suffix, content, problem", [
    (".txt", b"tree\nversion=v4\nnum_class=1\n", "header: label_index is missing"),
    (".json", b'{"learner": 5}', "learner: has the wrong type (int)"),
    (".ubj", b"{L\x00\x00\x00\x00\x00\x00\x00\x05lea", "malformed UBJSON at byte 1"),
])
def test_a_malformed_vendor_file_names_the_problem_and_the_fix(tmp_path, files, suffix,
                                                               content, problem):
    bad = tmp_path / f"model{suffix}"
    bad.write_bytes(content)
    res = staticml("build", bad, "--sample", files / "sample.csv", "-o", tmp_path / "b")
    assert res.returncode == 3 and res.stderr.startswith("error: model"), res.stderr
    library = "LightGBM" if suffix == ".txt" else "XGBoost"
    assert problem in res.stderr
    assert (f"not written by {library}: write it again from the trained model with "
            f"booster.save_model('model{suffix}')") in res.stderr
    assert not (tmp_path / "b").exists()
    assert bad.read_bytes() == content


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_build_an_xgboost_model_file(tmp_path, suffix):
    xgb = pytest.importorskip("xgboost")
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(frame, y)
    model.save_model(tmp_path / f"model{suffix}")
    frame[:200].to_csv(tmp_path / "sample.csv", index=False)
    res = staticml("build", tmp_path / f"model{suffix}", "--sample", tmp_path / "sample.csv",
                   "-o", tmp_path / "b", "--name", "xgb", "--json")
    assert res.returncode == 0, res.stderr
    manifest = json.loads(res.stdout)
    assert manifest["source_model"]["library"] == "xgboost"
    assert manifest["parity"][HOST]["passed"]
    res = staticml("predict", tmp_path / "b", tmp_path / "sample.csv")
    got = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert got["prediction"].tolist() == model.predict(frame[:200]).tolist()


def test_names_with_brackets_are_printed_as_written(tmp_path):
    """Column names, categories and paths reach stderr through rich: its markup must neither
    eat ``[bold]pro`` nor crash on ``[/b]``, ``:smile:`` is not an emoji, and error messages
    show them as written."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size[/b]": rng.normal(size=200),
                          "plan": rng.choice(["[bold]pro", ":smile:"], 200)})
    y = (frame["size[/b]"] > 0).astype(int)
    model = make_pipeline(make_column_transformer((OneHotEncoder(), ["plan"]),
                                                  remainder="passthrough"),
                          LogisticRegression()).fit(frame, y)
    sio.dump(model, tmp_path / "m.skops")
    frame.to_csv(tmp_path / "s.csv", index=False)
    bundle = tmp_path / "b[dim]"
    res = staticml("build", tmp_path / "m.skops", "--sample", tmp_path / "s.csv", "-o", bundle,
                   "--name", "brackets")
    assert res.returncode == 0, res.stderr
    assert f"built {bundle}" in res.stderr, res.stderr
    res = staticml("inspect", bundle)
    assert res.returncode == 0, res.stderr
    assert "size[/b]" in res.stderr and ":smile:, [bold]pro" in res.stderr, res.stderr
    frame.drop(columns=["size[/b]"]).to_csv(tmp_path / "bad.csv", index=False)
    res = staticml("predict", bundle, tmp_path / "bad.csv")
    assert res.returncode == 3 and "size[/b]" in res.stderr, res.stderr
