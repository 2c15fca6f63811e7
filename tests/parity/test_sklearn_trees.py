"""scikit-learn tree models: exact parity on held-out rows with NaN, at thresholds, in
pipelines, through every C forest kernel."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              GradientBoostingClassifier, GradientBoostingRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import staticml
from staticml.errors import InputError
from staticml.data.schema import RowEncoder
from staticml.ir import interpret
from staticml.bundle.targets import host_target  # noqa: E402

from .forest_cases import tree_op

HOST = host_target()

pytestmark = pytest.mark.needs_cc
# Trees are bit-exact; the tolerance only absorbs expit/softmax rounding (1 ulp).
TOL = 1e-9


def _data(kind, n=2400, seed=0, nan=0.05):
    rng = np.random.default_rng(seed)
    if kind == "reg":
        X, y = make_regression(n, 8, n_informative=6, noise=3, random_state=seed)
    else:
        X, y = make_classification(n, 8, n_informative=5, n_classes=3 if kind == "multi" else 2,
                                   random_state=seed)
        if kind == "str":
            y = np.array(["low", "mid", "high"])[y]
    X[rng.random(X.shape) < nan] = np.nan
    return X[: n // 2], y[: n // 2], X[n // 2:]


CASES = [
    ("dt-binary", DecisionTreeClassifier(max_depth=7, random_state=0), "binary", True),
    ("dt-regression", DecisionTreeRegressor(max_depth=7, random_state=0), "reg", True),
    ("rf-multiclass-str-labels", RandomForestClassifier(25, max_depth=8, random_state=0), "str", True),
    ("rf-regression", RandomForestRegressor(20, max_depth=8, random_state=0), "reg", True),
    ("et-multiclass", ExtraTreesClassifier(20, max_depth=8, random_state=0), "multi", True),
    ("et-regression", ExtraTreesRegressor(20, max_depth=8, random_state=0), "reg", True),
    ("gb-binary", GradientBoostingClassifier(n_estimators=40, random_state=0), "binary", False),
    ("gb-multiclass", GradientBoostingClassifier(n_estimators=20, random_state=0), "multi", False),
    ("gb-regression", GradientBoostingRegressor(n_estimators=40, random_state=0), "reg", False),
    ("hgb-binary", HistGradientBoostingClassifier(max_iter=40, random_state=0), "binary", True),
    ("hgb-multiclass", HistGradientBoostingClassifier(max_iter=20, random_state=0), "multi", True),
    ("hgb-regression", HistGradientBoostingRegressor(max_iter=40, random_state=0), "reg", True),
    ("hgb-early-stopping", HistGradientBoostingClassifier(
        max_iter=300, early_stopping=True, n_iter_no_change=3, random_state=0), "binary", True),
]


@pytest.mark.parametrize("name,model,kind,nan_ok", CASES, ids=[c[0] for c in CASES])
def test_tree_family_parity(name, model, kind, nan_ok, tmp_path):
    X, y, X_test = _data(kind, nan=0.05 if nan_ok else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    art = staticml.build(model, X[:300], tmp_path / name, name="m")
    for target in ("ir", HOST):
        report = art.manifest["parity"][target]
        assert report["passed"] and report["label_mismatches"] == 0, report
    got = art.predict(X_test)
    assert got.dtype == model.predict(X_test).dtype
    assert np.array_equal(got, model.predict(X_test))
    if hasattr(model, "predict_proba"):
        assert np.abs(art.predict_proba(X_test) - model.predict_proba(X_test)).max() <= TOL
    else:
        assert np.abs(art.predict(X_test) - model.predict(X_test)).max() <= TOL


def test_float32_comparison_matters_and_is_reproduced(tmp_path):
    """sklearn compares (float)x <= t: x just above a float32-representable threshold
    rounds onto it and goes left. A double comparison would send it right."""
    X = np.repeat([[1.0], [2.0]], 50, axis=0)
    y = np.repeat([0, 1], 50)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    t = tree.tree_.threshold[0]
    assert t == 1.5
    x = np.array([[np.nextafter(t, np.inf)], [t], [np.nextafter(t, -np.inf)]])
    assert tree.predict(x).tolist() == [0, 0, 0]  # all go left in sklearn
    art = staticml.build(tree, X, tmp_path / "dt", name="dt")
    assert art.predict(x).tolist() == [0, 0, 0]
    graph_op = tree_op(tmp_path / "dt")
    import dataclasses

    doubled = dataclasses.replace(graph_op, input_float32=False)
    from staticml.ir.interpret_trees import run

    assert run(doubled, x)[:, 1].tolist() != run(graph_op, x)[:, 1].tolist()


def test_probe_rows_cover_every_threshold_edge(tmp_path):
    X, y, _ = _data("binary", nan=0.0)
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    art = staticml.build(model, X[:200], tmp_path / "dt", name="dt")
    op = tree_op(tmp_path / "dt")
    n_thresholds = int((op.feature >= 0).sum())
    # each threshold: itself, two float64 and three float32 neighbours at least
    assert art.manifest["parity"][HOST]["rows"] >= 200 + 5 * n_thresholds


@pytest.mark.parametrize("kernel, walk", [("rank", "sm_fast_forest_r_block("),
                                          ("double", "sm_fast_forest_block("),
                                          ("general", None)])
def test_both_forest_kernels_are_bit_identical(kernel, walk, tmp_path, monkeypatch):
    """The fast kernel with rank nodes, with 16-byte double nodes (used when a feature has
    65535 thresholds or more) and the general kernel all give the library's bits."""
    if kernel == "general":
        monkeypatch.setenv("STATICML_FOREST_KERNEL", "general")
    if kernel == "double":
        monkeypatch.setenv("STATICML_FOREST_NODES", "double")
    X, y, X_test = _data("multi")
    model = RandomForestClassifier(30, max_depth=9, random_state=1).fit(X, y)
    art = staticml.build(model, X[:200], tmp_path / kernel, name="rf")
    src = (tmp_path / kernel / "src" / "rf.c").read_text().split("===== model =====")[1]
    assert re.findall(r"sm_fast_forest\w*_block\(", src) == ([walk] if walk else [])
    expected = model.predict_proba(X_test)
    for chunk in (X_test[:1], X_test[:7], X_test):  # row kernel, short block, full blocks
        got = art.predict_proba(chunk)
        assert got.tobytes() == expected[: len(chunk)].tobytes()


def test_trees_after_preprocessing_in_a_pipeline(tmp_path):
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=1500), "z": rng.normal(size=1500),
                       "city": rng.choice(["oslo", "rome", "lima"], 1500)})
    y = (df.x + (df.city == "rome") + rng.normal(scale=0.3, size=1500) > 0.5).astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["city"]),
                                remainder="passthrough"),
        GradientBoostingClassifier(n_estimators=30, random_state=0)).fit(df[:1000], y[:1000])
    art = staticml.build(model, df[:300], tmp_path / "p", name="p")
    test = df[1000:].copy()
    test.loc[test.index[:5], "city"] = "paris"  # unseen: the encoder ignores it
    assert np.array_equal(art.predict(test), model.predict(test))
    assert np.abs(art.predict_proba(test) - model.predict_proba(test)).max() <= TOL


def test_hgb_categorical_features_and_unknown_categories(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 3))
    X[:, 0] = rng.integers(0, 8, 3000)
    y = ((X[:, 0] % 3 == 0) ^ (X[:, 1] > 0)).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, categorical_features=[0],
                                           random_state=0).fit(X[:2000], y[:2000])
    art = staticml.build(model, X[:300], tmp_path / "h", name="h")
    test = X[2000:].copy()
    test[:20, 0] = 11        # unknown category
    test[20:40, 0] = np.nan  # missing
    test[40:60, 0] = -1      # negative
    test[60:80, 0] = 2.7     # truncated to 2
    assert np.array_equal(art.predict(test), model.predict(test))
    assert np.abs(art.predict_proba(test) - model.predict_proba(test)).max() <= TOL


@pytest.mark.parametrize("early_stopping", [False, True], ids=["all-iterations", "early-stop"])
def test_hgb_encodes_string_categories_from_the_dtype(early_stopping, tmp_path):
    """categorical_features='from_dtype' (scikit-learn's default) on a pandas category of
    strings: HGB's own OrdinalEncoder takes that column, so it is not a string column
    "without an encoder" (the build refused it) and its probes hold a training category."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(6)
    cats = ["basic", "plus", "pro", "team"]
    k = rng.integers(0, 4, 3000)
    df = pd.DataFrame({"x": rng.normal(size=3000),
                       "plan": pd.Categorical([cats[i] for i in k], categories=cats)})
    df.loc[rng.random(3000) < 0.05, "x"] = np.nan
    df.loc[rng.random(3000) < 0.05, "plan"] = np.nan
    y = ((k == 2) ^ (df.x.fillna(0) > 0)).astype(int)
    model = HistGradientBoostingClassifier(max_iter=40, early_stopping=early_stopping,
                                           random_state=0).fit(df[:2000], y[:2000])
    assert model.is_categorical_.tolist() == [False, True]
    art = staticml.build(model, df[:300], tmp_path / "h", name="h")
    test = df[2000:].copy()
    test["plan"] = test["plan"].cat.add_categories(["gold"])
    test.loc[test.index[:20], "plan"] = "gold"  # unseen: HGB treats it as missing
    test.loc[test.index[20:40], "x"] = np.inf
    for rows in (test, test.astype({"plan": object})):  # category dtype, or plain strings
        assert np.array_equal(art.predict(rows), model.predict(rows))
        assert np.abs(art.predict_proba(rows) - model.predict_proba(rows)).max() <= TOL


# Around float32's top: FLT_MAX, a double just above it that still rounds to it, the last
# double that does, the first that rounds to inf (ties to even go up), and far beyond.
F32_EDGE = [float(np.finfo(np.float32).max), 3.4028235e38,
            float.fromhex("0x1.fffffefffffffp+127"), float.fromhex("0x1.ffffffp+127"), 1e39,
            1e308]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scikit-learn's own overflow notes
def test_values_at_float32s_top_are_taken_or_refused_as_scikit_learn_does(tmp_path):
    """scikit-learn casts X to float32 and refuses what becomes inf: a double is infinite
    from 2^128 - 2^103 on, not from FLT_MAX on (staticml refused 3.4028235e38, which
    scikit-learn takes). IsolationForest takes inf, so it takes all of these."""
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 3))
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, X[:, 0] + X[:, 1])
    iso = IsolationForest(n_estimators=20, random_state=0).fit(X)
    art_tree = staticml.build(tree, X[:100], tmp_path / "t", name="t")
    art_iso = staticml.build(iso, X[:100], tmp_path / "i", name="i")
    for v in F32_EDGE + [-x for x in F32_EDGE]:
        row = np.array([[v, 0.1, 0.2]])
        try:
            want = tree.predict(row)
        except ValueError:
            with pytest.raises(InputError, match="infinite value"):
                art_tree.predict(row)
            assert abs(v) >= float.fromhex("0x1.ffffffp+127"), v
        else:
            assert art_tree.predict(row).tobytes() == want.tobytes(), v
        assert np.abs(art_iso.score_samples(row) - iso.score_samples(row)).max() <= TOL, v
        assert art_iso.predict(row).tolist() == iso.predict(row).tolist(), v


def test_interpreter_agrees_with_sklearn_exactly():
    X, y, X_test = _data("reg")
    model = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(
        np.nan_to_num(X), y)
    from staticml.data.schema import infer_inputs
    from staticml.frontends import lower

    graph = lower(model, infer_inputs(model, X))
    out, status, _ = interpret.run(graph, RowEncoder(graph.inputs).encode(np.nan_to_num(X_test)))
    assert not status.any()
    assert out[:, 0].tobytes() == model.predict(np.nan_to_num(X_test)).tobytes()


@pytest.mark.parametrize("max_features", [1.0, 0.6], ids=["all-features", "feature-subsets"])
def test_isolation_forest_scores_decision_and_predict(max_features, tmp_path):
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    model = IsolationForest(n_estimators=60, max_features=max_features,
                            random_state=0).fit(X)
    art = staticml.build(model, X[:300], tmp_path / "iso", name="iso")
    X_test = rng.normal(size=(1500, 6)) * 2.0
    got = art.predict(X_test)
    assert got.dtype == model.predict(X_test).dtype
    assert np.array_equal(got, model.predict(X_test))
    assert (got == -1).any() and (got == 1).any()
    assert np.abs(art.score_samples(X_test) - model.score_samples(X_test)).max() <= TOL
    assert np.abs(art.decision_function(X_test) - model.decision_function(X_test)).max() <= TOL
