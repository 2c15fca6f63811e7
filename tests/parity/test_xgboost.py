"""Parity of compiled XGBoost models with XGBoost itself.

Every case trains a small model (fixed seeds), then checks three things:

1. **Margins are bit-identical.** The IR's ``TreeEnsemble`` output equals
   ``predict(output_margin=True)`` exactly, on held-out rows with NaN plus rows sitting on
   every split threshold (the float32 value, its float32 neighbours, and the doubles just
   around it), +-inf and values beyond float32's range.
2. **The build passes its own parity check** (sample + probe rows, IR and native library),
   for the live object and for the same model saved as ``.json``/``.ubj`` and read back by
   staticml's parser (whose IR must equal the live object's). On held-out rows the artifact's
   labels are identical and its probabilities/values within the tolerances below.
3. **Each feature of the conversion** (early stopping, base_score, categorical splits and
   their invalid values, the binary label threshold, Booster input checks) on a case that
   exercises it.

staticml's parity check runs XGBoost objects through
``staticml.frontends.xgboost.parity_model`` and scales the tolerance for float32 outputs.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")

import staticml  # noqa: E402
import staticml.frontends.xgboost as fx  # noqa: E402
from staticml import errors  # noqa: E402
from staticml.data.schema import RowEncoder, infer_inputs  # noqa: E402
from staticml.frontends import lower  # noqa: E402
from staticml.ir import interpret, serialize  # noqa: E402
from staticml.ir.graph import Graph  # noqa: E402
from staticml.ir.ops import Regress, TreeEnsemble  # noqa: E402
from staticml.verification import parity  # noqa: E402
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# XGBoost computes its margins in float32 and staticml reproduces them bit for bit (check 1
# asserts exact equality). Its *transformed* outputs are float32 too -- 1/(1+expf(-m)), its
# float32 softmax, expf(m) -- while staticml's link ops compute in double from the same
# margin, so those outputs differ by float32 rounding: <= 1.3e-7 observed for
# probabilities, and about one float32 ulp (~1.2e-7) relative for exp outputs.
TOL_PROBA = 1e-6  # absolute, probabilities and logistic outputs
TOL_REL = fx.FLOAT32_RTOL  # 1e-6 relative (to max(1, |value|)), regression values
SEED = 20240611
N_TRAIN, N_TEST, N_SAMPLE = 1200, 400, 150


# -------------------------------------------------------------------- parity wiring
@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: OpenMP threads of two pytest-xdist workers would only fight for cores."""
    with xgb.config_context(nthread=1):
        yield


# -------------------------------------------------------------------- data
def _numeric(seed: int) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    X = rng.normal(size=(n, 6))
    X[:, 2] *= 1000.0  # large magnitudes: float32 rounding of inputs matters
    X[:, 3] = rng.integers(0, 10, n)  # ties on integer thresholds
    X[:, 4] = rng.normal(size=n) * 1e-3
    X[rng.random(X.shape) < 0.08] = np.nan  # missing values in training and held-out rows
    z = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + 0.3 * (X[:, 3] > 4) \
        + 0.2 * rng.normal(size=n)
    targets = {
        "binary": (z > 0).astype(int),
        "multi": np.digitize(z, [-0.6, 0.6]),
        "real": 3 * z + np.nan_to_num(X[:, 2]) / 500 + 1.0,
        "unit": 1 / (1 + np.exp(-2 * z)),
        "count": rng.poisson(np.exp(0.8 * np.clip(z, -3, 2))),
        "positive": np.exp(0.5 * z) * rng.gamma(2.0, 0.5, n) + 0.01,
    }
    return X, targets


def _categorical(seed: int) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    colour = rng.choice(["red", "green", "blue", "grey", "teal", "plum", "sand"], n)
    size = rng.choice([3, 5, 7, 11, 13], n)
    df = pd.DataFrame({
        "num": rng.normal(size=n),
        "colour": pd.Categorical(colour),
        "size": pd.Categorical(size),
        "other": rng.normal(size=n),
    })
    df.loc[rng.random(n) < 0.08, "num"] = np.nan
    df.loc[rng.random(n) < 0.08, "colour"] = None
    df.loc[rng.random(n) < 0.05, "size"] = None
    z = (np.nan_to_num(df["num"].to_numpy()) + np.isin(colour, ["red", "blue", "plum"])
         - 0.8 * (size == 7) + 0.3 * rng.normal(size=n))
    return df, {"binary": (z > 0.4).astype(int), "multi": np.digitize(z, [0.0, 1.0])}


def _codes(seed: int) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    X = np.c_[rng.normal(size=n), rng.integers(0, 12, n), rng.normal(size=n),
              rng.integers(0, 40, n)].astype(float)
    X[rng.random(X.shape) < 0.05] = np.nan
    z = np.nan_to_num(X[:, 0]) + np.isin(X[:, 1], [1, 4, 5, 9]) - (X[:, 3] % 3 == 0)
    return X, {"real": z + 0.1 * rng.normal(size=n)}


# -------------------------------------------------------------------- cases
def _wrapper(cls, data, target, **params):
    params.setdefault("n_estimators", 40)
    params.setdefault("max_depth", 4)
    params.setdefault("random_state", 0)
    params.setdefault("n_jobs", 1)
    return ("wrapper", cls, data, target, params)


def _booster(params, data, target, rounds=30, early_stopping=False):
    return ("booster", params, data, target, {"rounds": rounds, "early": early_stopping})


CASES = {
    "clf_binary": _wrapper("XGBClassifier", "numeric", "binary"),
    "clf_binary_base_score": _wrapper("XGBClassifier", "numeric", "binary", base_score=0.3),
    "clf_binary_early_stopping": _wrapper(
        "XGBClassifier", "numeric", "binary", n_estimators=60, learning_rate=0.6,
        early_stopping_rounds=4, eval_metric="logloss"),
    "clf_softprob": _wrapper("XGBClassifier", "numeric", "multi", n_estimators=30),
    "clf_softmax": _wrapper("XGBClassifier", "numeric", "multi", n_estimators=30,
                            objective="multi:softmax"),
    "clf_softprob_early_stopping": _wrapper(
        "XGBClassifier", "numeric", "multi", n_estimators=40, learning_rate=0.7,
        early_stopping_rounds=3, eval_metric="mlogloss"),
    "rf_classifier": _wrapper("XGBRFClassifier", "numeric", "binary", n_estimators=30),
    "reg_squarederror": _wrapper("XGBRegressor", "numeric", "real", max_depth=6),
    "reg_squarederror_early_stopping": _wrapper(
        "XGBRegressor", "numeric", "real", n_estimators=60, learning_rate=0.8,
        early_stopping_rounds=3),
    "reg_logistic": _wrapper("XGBRegressor", "numeric", "unit", objective="reg:logistic"),
    "reg_poisson": _wrapper("XGBRegressor", "numeric", "count", objective="count:poisson"),
    "reg_gamma": _wrapper("XGBRegressor", "numeric", "positive", objective="reg:gamma",
                          n_estimators=30),
    "reg_tweedie": _wrapper("XGBRegressor", "numeric", "count", objective="reg:tweedie",
                            n_estimators=30),
    "reg_absoluteerror": _wrapper("XGBRegressor", "numeric", "real",
                                  objective="reg:absoluteerror", n_estimators=30),
    "reg_pseudohuber": _wrapper("XGBRegressor", "numeric", "real",
                                objective="reg:pseudohubererror", n_estimators=30),
    "reg_squaredlog": _wrapper("XGBRegressor", "numeric", "positive",
                               objective="reg:squaredlogerror", n_estimators=30),
    "booster_binary": _booster({"objective": "binary:logistic", "max_depth": 4}, "numeric",
                               "binary"),
    "booster_softprob": _booster({"objective": "multi:softprob", "num_class": 3,
                                  "max_depth": 4}, "numeric", "multi", rounds=20),
    "booster_early_stopping": _booster({"objective": "reg:squarederror", "max_depth": 5,
                                        "eta": 0.8}, "numeric", "real", rounds=60,
                                       early_stopping=True),
    "cat_partition": _wrapper("XGBClassifier", "categorical", "binary",
                              enable_categorical=True, max_cat_to_onehot=1),
    "cat_onehot_multi": _wrapper("XGBClassifier", "categorical", "multi", n_estimators=30,
                                 enable_categorical=True, max_cat_to_onehot=16),
    "cat_codes": _wrapper("XGBRegressor", "codes", "real", enable_categorical=True,
                          feature_types=["q", "c", "q", "c"], max_cat_to_onehot=1),
}
DATA = {"numeric": _numeric, "categorical": _categorical, "codes": _codes}


def _split(X):
    return (X.iloc[:N_TRAIN], X.iloc[N_TRAIN:]) if hasattr(X, "iloc") \
        else (X[:N_TRAIN], X[N_TRAIN:])


_FITTED: dict = {}


def fitted(case: str):
    """(model, X_train, X_test), trained once per worker."""
    if case in _FITTED:
        return _FITTED[case]
    how, what, data, target, params = CASES[case]
    X, targets = DATA[data](SEED)
    y = targets[target]
    X_train, X_test = _split(X)
    y_train = y[:N_TRAIN]
    if how == "wrapper":
        params = dict(params)
        fit = {}
        if "early_stopping_rounds" in params:
            # a noisy validation set, so early stopping stops early
            rng = np.random.default_rng(1)
            X_val = X_test
            y_val = y[N_TRAIN:].copy()
            flip = rng.random(len(y_val)) < 0.2
            if target == "real":
                y_val = y_val + 4 * rng.normal(size=len(y_val))
            else:
                y_val[flip] = rng.integers(0, y.max() + 1, flip.sum())
            fit = {"eval_set": [(X_val, y_val)], "verbose": False}
        model = getattr(xgb, what)(**params).fit(X_train, y_train, **fit)
    else:
        dtrain = xgb.DMatrix(X_train, label=y_train)
        kw = {}
        if params["early"]:
            rng = np.random.default_rng(1)
            dval = xgb.DMatrix(X_test, label=y[N_TRAIN:] + 4 * rng.normal(size=N_TEST))
            kw = {"evals": [(dval, "val")], "early_stopping_rounds": 3, "verbose_eval": False}
        model = xgb.train(dict(what, seed=0, nthread=1), dtrain,
                          num_boost_round=params["rounds"], **kw)
    _FITTED[case] = (model, X_train, X_test)
    return _FITTED[case]


# -------------------------------------------------------------------- helpers
def _is_booster(model) -> bool:
    return type(model).__name__ == "Booster"


def _xgb_margins(model, X) -> np.ndarray:
    if _is_booster(model):
        out = model.predict(xgb.DMatrix(X), output_margin=True)
    else:
        out = model.predict(X, output_margin=True)
    return np.asarray(out, dtype=np.float32).reshape(len(X), -1)


def _graph(model, X_train) -> Graph:
    return lower(model, infer_inputs(model, X_train))


def _ir_margins(graph: Graph, X) -> np.ndarray:
    """The TreeEnsemble's output slots, as the IR interpreter computes them."""
    (trees,) = [op for op in graph.ops if isinstance(op, TreeEnsemble)]
    g = Graph(graph.inputs, graph.ops, Regress(trees.dst, squeeze=False), graph.n_slots,
              "regression")
    out, status, _ = interpret.run(g, RowEncoder(graph.inputs).encode(X))
    assert (status == 0).all()
    return out


def _edge_rows(parsed: fx.XGBoostModel, X_test, booster: bool, limit: int = 80) -> np.ndarray:
    """Rows on the split thresholds: float32 t, its float32 neighbours, doubles around it."""
    base = np.nan_to_num(np.asarray(X_test[:1], dtype=np.float64))
    rows = []
    seen = set()
    for tree in parsed.trees:
        for f, t, c in zip(tree.feature, tree.threshold, tree.categories):
            if f < 0 or c is not None or (f, t) in seen:
                continue
            seen.add((f, t))
            d = float(t)
            for v in (d, float(np.nextafter(t, np.float32(-np.inf))),
                      float(np.nextafter(t, np.float32(np.inf))), np.nextafter(d, -np.inf),
                      np.nextafter(d, np.inf)):
                row = base.copy()
                row[0, f] = v
                rows.append(row)
            if len(seen) >= limit:
                break
    specials = [np.nan, 0.0, -0.0]
    if not booster:  # DMatrix refuses these; the wrappers route them like any number
        specials += [np.inf, -np.inf, 1e300, -1e300, float(np.finfo(np.float32).max),
                     float(np.nextafter(np.float64(np.finfo(np.float32).max), np.inf))]
    for f in range(parsed.n_features_in_):
        for v in specials:
            row = base.copy()
            row[0, f] = v
            rows.append(row)
    return np.vstack(rows)


def _assert_outputs(art, reference, X, what: str) -> dict:
    """Artifact vs XGBoost on held-out rows; returns the max differences."""
    diffs = {}
    if hasattr(reference, "classes_"):
        got, want = art.predict(X), reference.predict(X)
        assert np.array_equal(np.asarray(got), np.asarray(want)), f"{what}: labels differ"
        d = float(np.max(np.abs(art.predict_proba(X) - reference.predict_proba(X))))
        assert d <= TOL_PROBA, f"{what}: proba differs by {d}"
        diffs["proba"] = d
    else:
        got = np.asarray(art.predict(X), dtype=np.float64)
        want = np.asarray(reference.predict(X), dtype=np.float64)
        assert got.shape == want.shape
        d = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
        assert d <= TOL_REL, f"{what}: values differ by {d} (relative)"
        diffs["values"] = d
    return diffs


def _passed(art) -> None:
    par = art.manifest["parity"]
    for target in ("ir", HOST):
        assert par[target]["passed"], par[target]
        assert par[target]["label_mismatches"] == 0 and par[target]["error_mismatches"] == 0
        assert par[target]["reference"] == "model"


# -------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("case", list(CASES))
def test_parity(case, tmp_path, record_property):
    model, X_train, X_test = fitted(case)
    booster = _is_booster(model)
    parsed = fx.from_estimator(model)

    # 1. margins, bit for bit, on held-out rows and threshold edges
    graph = _graph(model, X_train)
    rows = X_test
    if not hasattr(X_test, "columns"):
        rows = np.vstack([X_test, _edge_rows(parsed, X_test, booster)])
    ours = _ir_margins(graph, rows)
    theirs = _xgb_margins(model, rows)
    assert np.array_equal(ours, ours.astype(np.float32)), "margins are not float32 values"
    assert np.array_equal(ours.astype(np.float32), theirs), \
        f"margins differ on {int((ours.astype(np.float32) != theirs).any(axis=1).sum())} rows"

    # 2a. build from the live object
    sample = X_train[:N_SAMPLE]
    art = staticml.build(model, sample, out=tmp_path / "live", name="m")
    _passed(art)
    reference = fx.parity_model(model)
    diffs = _assert_outputs(art, reference, X_test, "live")

    # 2b. the file route: .json and .ubj read by staticml's parser give the same IR
    kind = "booster" if booster else "auto"
    parsed_files = {}
    for fmt in ("json", "ubj"):
        path = tmp_path / f"model.{fmt}"
        model.save_model(path)
        parsed_files[fmt] = fx.load_xgboost_file(path, kind=kind)
        assert parsed_files[fmt].kind == parsed.kind
        assert serialize.to_dict(_graph(parsed_files[fmt], X_train)) == \
            serialize.to_dict(graph), f"{fmt}: IR differs from the live object's"
    fmt = "ubj" if sorted(CASES).index(case) % 2 else "json"
    art_file = staticml.build(parsed_files[fmt], sample, out=tmp_path / "file", name="m")
    _passed(art_file)
    _assert_outputs(art_file, parsed_files[fmt].reference_model(), X_test, fmt)
    report = staticml.verify(tmp_path / "file", model, X_test)
    assert report["passed"], report
    record_property("max_abs_diff", json.dumps(diffs))


# -------------------------------------------------------------------- focused checks
@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_bool_columns_build_and_match(library, tmp_path):
    """A bool column: the build's probe rows (NaN, inf) turned it into object, which both
    libraries refuse, so every row of the check was 'model raised' and the build failed."""
    rng = np.random.default_rng(SEED + 9)
    X = pd.DataFrame({"a": rng.normal(size=600), "flag": rng.random(600) > 0.5})
    y = ((X.a > 0) ^ X.flag).astype(int)
    if library == "lightgbm":
        lgb = pytest.importorskip("lightgbm")
        model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X[:400], y[:400])
    else:
        model = xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X[:400], y[:400])
    art = staticml.build(model, X[:200], out=tmp_path / "b", name="b")
    _passed(art)
    _assert_outputs(art, model, X[400:], library)


@pytest.mark.parametrize("target", ["binary", "multi", "real"])
def test_xgboost_after_preprocessing_in_a_pipeline(target, tmp_path):
    """The last step of a pipeline gets XGBoost's float32 tolerance too: with scikit-learn's
    1e-9 the build refused every XGBoost classifier behind a ColumnTransformer."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, targets = _numeric(SEED + 7)
    rng = np.random.default_rng(SEED + 7)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["city"] = rng.choice(["oslo", "rome", "lima", None], len(frame))
    y = targets[target]
    est = (xgb.XGBRegressor if target == "real" else xgb.XGBClassifier)(
        n_estimators=30, max_depth=4, n_jobs=1, random_state=0)
    model = make_pipeline(
        make_column_transformer(
            (make_pipeline(SimpleImputer(strategy="most_frequent"),
                           OneHotEncoder(handle_unknown="ignore")), ["city"]),
            remainder="passthrough"),  # numbers reach XGBoost with their NaN
        est).fit(frame[:N_TRAIN], y[:N_TRAIN])
    art = staticml.build(model, frame[:N_SAMPLE], out=tmp_path / "p", name="p")
    _passed(art)
    test = frame[N_TRAIN:].copy()
    test.loc[test.index[:10], "city"] = "paris"  # unseen: the encoder ignores it
    _assert_outputs(art, model, test, "pipeline")
    assert staticml.verify(tmp_path / "p", model, test)["passed"]


def test_early_stopping_uses_best_iteration():
    model, _, X_test = fitted("clf_binary_early_stopping")
    parsed = fx.from_estimator(model)
    assert model.best_iteration + 1 < parsed.n_iterations  # it really stopped early
    start, end = parsed.tree_range()
    assert (start, end) == (0, model.best_iteration + 1)
    booster, _, _ = fitted("booster_early_stopping")
    parsed_booster = fx.from_estimator(booster)
    assert parsed_booster.best_iteration is not None
    assert parsed_booster.tree_range() == (0, len(parsed_booster.trees))  # Booster: all trees


def test_base_score_is_read_from_the_model():
    model, _, _ = fitted("clf_binary")
    assert model.get_params()["base_score"] is None  # estimated by XGBoost >= 2
    parsed = fx.from_estimator(model)
    assert 0 < parsed.base_score[0] < 1 and parsed.base_score[0] != np.float32(0.5)
    stored = json.loads(model.get_booster().save_raw("json"))[
        "learner"]["learner_model_param"]["base_score"]
    assert fx.parse_base_score(stored) == list(parsed.base_score)
    explicit = fx.from_estimator(fitted("clf_binary_base_score")[0])
    assert explicit.base_score == (np.float32(0.3),)
    multi = fx.from_estimator(fitted("clf_softprob")[0])
    assert len(multi.base_score) == 3  # one intercept per class in XGBoost 3


def test_float32_sigmoid_matches_xgboost_bit_for_bit():
    model, _, X_test = fitted("clf_binary")
    margins = model.predict(X_test, output_margin=True)
    proba = model.predict_proba(X_test)[:, 1]
    ours = np.array([fx.sigmoid_f32(m) for m in margins], dtype=np.float32)
    assert np.array_equal(ours, proba)


def test_binary_label_threshold_is_float32_probability_above_half():
    """A margin in (0, T] has float32 probability exactly 0.5, so XGBClassifier says 0."""
    t = np.float32(fx.binary_label_threshold())
    above = np.nextafter(t, np.float32(1))
    doc = {"learner": {
        "attributes": {}, "feature_names": [], "feature_types": [],
        "gradient_booster": {"name": "gbtree", "model": {
            "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1"},
            "iteration_indptr": [0, 1], "tree_info": [0],
            "trees": [{"tree_param": {"num_nodes": "3", "size_leaf_vector": "1",
                                      "num_feature": "1", "num_deleted": "0"},
                       "id": 0, "left_children": [1, -1, -1], "right_children": [2, -1, -1],
                       "parents": [2147483647, 0, 0], "split_indices": [0, 0, 0],
                       "split_conditions": [0.0, float(t), float(above)],
                       "default_left": [0, 0, 0], "split_type": [0, 0, 0],
                       "base_weights": [0.0, 0.0, 0.0], "loss_changes": [0.0, 0.0, 0.0],
                       "sum_hessian": [1.0, 1.0, 1.0], "categories": [],
                       "categories_nodes": [], "categories_segments": [],
                       "categories_sizes": []}]}},
        "learner_model_param": {"base_score": "[5E-1]", "boost_from_average": "1",
                                "num_class": "0", "num_feature": "1", "num_target": "1"},
        "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}},
        "version": [3, 2, 0]}
    parsed = fx.parse_model(json.dumps(doc).encode())
    clf = parsed.xgboost_model()
    X = np.array([[-1.0], [1.0]])
    assert clf.predict(X, output_margin=True).tolist() == [t, above]  # both positive
    assert clf.predict(X).tolist() == [0, 1]
    assert clf.predict_proba(X)[0, 1] == np.float32(0.5)
    graph = lower(parsed, infer_inputs(parsed, X))
    out, status, _ = interpret.run(graph, X)
    assert out[:, 0].tolist() == [0, 1]


def test_booster_refuses_what_dmatrix_refuses(tmp_path):
    booster, X_train, X_test = fitted("booster_binary")
    art = staticml.build(booster, X_train[:N_SAMPLE], out=tmp_path / "b", name="m")
    row = np.nan_to_num(X_test[:1]).copy()
    for value in (np.inf, -np.inf, 1e300):
        row[0, 2] = value
        with pytest.raises(xgb.core.XGBoostError):
            booster.predict(xgb.DMatrix(row))
        with pytest.raises(errors.InputError) as exc:
            art.predict(row)
        assert exc.value.code == errors.E_INFINITE_VALUE
    row[0, 2] = np.nan  # NaN is "missing", fine for both
    assert abs(float(art.predict(row)[0]) - float(booster.predict(xgb.DMatrix(row))[0])) \
        <= TOL_PROBA


def test_wrappers_route_infinity_like_xgboost(tmp_path):
    model, X_train, X_test = fitted("reg_squarederror")
    art = staticml.build(model, X_train[:N_SAMPLE], out=tmp_path / "r", name="m")
    rows = np.repeat(np.nan_to_num(X_test[:1]), 6, axis=0)
    rows[:, 2] = [np.inf, -np.inf, 1e300, -1e300, 3.5e38, np.nan]
    assert np.array_equal(art.predict(rows), model.predict(rows).astype(np.float64))


def test_unseen_categories_are_refused(tmp_path):
    model, X_train, X_test = fitted("cat_partition")
    art = staticml.build(model, X_train[:N_SAMPLE], out=tmp_path / "c", name="m")
    rows = X_test.iloc[:3].copy()
    rows["colour"] = pd.Categorical(["red", "cyan", None])
    rows["size"] = pd.Categorical([5, 5, None])
    with pytest.raises(errors.InputError) as exc:
        art.predict(rows)
    assert exc.value.code == errors.E_UNKNOWN_CATEGORY and exc.value.column == "colour"
    ok = rows.iloc[[0, 2]]
    assert art.predict(ok).tolist() == model.predict(ok).tolist()
    rows = X_test.iloc[:1].copy()
    rows["size"] = pd.Categorical([6])
    with pytest.raises(errors.InputError):
        art.predict(rows)
    ref = fx.parity_model(model)
    with pytest.raises(ValueError, match="not seen in training"):
        ref.predict(rows)


def test_xgboost_recodes_unseen_categories_to_a_neighbour():
    """Documents the upstream behaviour staticml deliberately does not reproduce.

    XGBoost 3.2's re-coder raises only for a category beyond the largest training one and
    maps any other unseen category to the next training category. If this test starts to
    fail, XGBoost changed; revisit ``XGBoostReference`` (which refuses unseen categories).
    """
    model, _, X_test = fitted("cat_partition")
    row = X_test.iloc[:1].copy()
    known = model.predict_proba(row.assign(size=pd.Categorical([7])))
    unseen = model.predict_proba(row.assign(size=pd.Categorical([6])))  # 6 -> 7
    assert np.array_equal(known, unseen)
    with pytest.raises(xgb.core.XGBoostError, match="not in the training set"):
        model.predict(row.assign(size=pd.Categorical([99])))


def test_integer_codes_invalid_values_match_xgboost():
    model, X_train, X_test = fitted("cat_codes")
    base = np.nan_to_num(X_test[:1])
    values = [-1, -0.5, -0.0, 0, 0.5, 3.99, 11, 12, 39, 40, 1000, 16777215, 16777216,
              2.0 ** 31, 1e30, np.inf, -np.inf, np.nan]
    rows = np.repeat(base, 2 * len(values), axis=0)
    rows[:len(values), 1] = values
    rows[len(values):, 3] = values
    assert np.array_equal(_ir_margins(_graph(model, X_train), rows).astype(np.float32),
                          _xgb_margins(model, rows))


@pytest.mark.parametrize("make, match", [
    (lambda: xgb.XGBClassifier(n_estimators=3, booster="dart"), "DART"),
    (lambda: xgb.XGBRegressor(n_estimators=3, booster="gblinear"), "linear model"),
    (lambda: xgb.XGBRegressor(n_estimators=3, missing=-999.0), "missing=-999.0"),
    (lambda: xgb.XGBRegressor(n_estimators=3, objective=lambda y, p: (p - y, np.ones_like(p))),
     "custom"),
    (lambda: xgb.XGBRegressor(n_estimators=3, objective="reg:quantileerror",
                              quantile_alpha=[0.2, 0.8]), "multi-output"),
    (lambda: xgb.XGBRanker(n_estimators=3), "not supported"),
])
def test_unsupported_models_are_refused(make, match):
    X, targets = _numeric(1)
    model = make()
    y = targets["binary"][:200]
    if type(model).__name__ == "XGBRanker":
        model.fit(X[:200], y, qid=np.repeat(np.arange(20), 10))
    else:
        model.fit(X[:200], y)
    with pytest.raises(errors.UnsupportedModelError, match=match):
        lower(model, infer_inputs(model, X[:10]))


def test_booster_multi_softmax_needs_classifier(tmp_path):
    X, targets = _numeric(2)
    booster = xgb.train({"objective": "multi:softmax", "num_class": 3, "max_depth": 3},
                        xgb.DMatrix(X[:300], label=targets["multi"][:300]), num_boost_round=5)
    with pytest.raises(errors.UnsupportedModelError, match="argmax labels"):
        lower(booster, infer_inputs(booster, X[:10]))
    path = tmp_path / "softmax.json"
    booster.save_model(path)
    parsed = fx.load_xgboost_file(path)  # no scikit-learn metadata: the objective decides
    assert parsed.kind == "classifier"
    graph = lower(parsed, infer_inputs(parsed, X[:10]))
    out, _, _ = interpret.run(graph, np.asarray(X[300:400]))
    labels = parsed.xgboost_model().predict(X[300:400])
    assert out[:, 0].tolist() == labels.tolist()


def test_without_xgboost_the_parsed_model_still_compiles(tmp_path, monkeypatch):
    model, X_train, _ = fitted("reg_squarederror")
    path = tmp_path / "m.ubj"
    model.save_model(path)
    parsed = fx.load_xgboost_file(path)
    monkeypatch.setattr(parsed, "xgboost_model", lambda: None)
    assert parsed.reference_model() is None
    graph = lower(parsed, infer_inputs(parsed, X_train))
    assert graph.task == "regression"
