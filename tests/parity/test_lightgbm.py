"""LightGBM parity: LGBMClassifier / LGBMRegressor / Booster and model.txt files.

Acceptance criterion: labels identical on every held-out row; probabilities and values
within ``TOL``; the build's own parity reports (sample + probe rows) passed for the IR and
the native library. Each case trains a small model with fixed seeds, builds it twice
(vendor object, and ``booster.save_model`` -> ``load_lightgbm_file`` -> build), and checks
both against LightGBM on held-out rows that include the inputs converters get wrong:
NaN, +-inf, 0 and -0, values around LightGBM's zero threshold (1e-35f), every split
threshold with its floating-point neighbours, and for categorical features negative,
fractional (-0.5 truncates to category 0), unseen and huge codes.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm")

import staticml  # noqa: E402
import staticml.frontends.lightgbm  # noqa: E402,F401  (registers the converters)
from .checks import build_reports_passed, max_abs  # noqa: E402
from staticml.data.schema import RowEncoder, infer_inputs  # noqa: E402
from staticml.frontends import lower  # noqa: E402
from staticml.frontends.lightgbm import (KZERO, LightGBMModel, load_lightgbm_file,  # noqa: E402
                                         parse_model_text)
from staticml.ir import interpret, interpret_trees  # noqa: E402
from staticml.verification.runner import split_outputs  # noqa: E402
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()

# Absolute tolerance for probabilities and values. The trees themselves are reproduced bit
# for bit (same comparisons, same summation order in double); what remains is exp/logistic/
# softmax computed by staticml's correctly rounded sm_math instead of the platform libm,
# i.e. an ulp or two, far below 1e-9 for outputs of these magnitudes.
TOL = 1e-9

SEED = 7
N_TRAIN, N_TEST = 600, 300
SAMPLE_ROWS = 60
CAT = 4  # the categorical column in the data below
COLUMNS = ["age", "income", "visits", "score", "city_code"]  # for the DataFrame case
pytestmark = [pytest.mark.needs_cc,
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated")]

BASE = dict(num_leaves=15, min_child_samples=5, deterministic=True, num_threads=1,
            verbose=-1, random_state=SEED)
# Small categorical groups so the categorical column really gets bitset splits.
CATP = dict(min_data_per_group=5, cat_smooth=1.0, max_cat_to_onehot=2)


# ------------------------------------------------------------------------------ data
def make_data(seed: int = SEED) -> tuple[np.ndarray, dict]:
    """X (train + test) with NaN, exact zeros and an integer-coded categorical column."""
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    X = rng.normal(size=(n, 5))
    X[:, 3] = np.round(X[:, 3], 1)                   # repeated values: exact thresholds
    X[:, CAT] = rng.integers(0, 10, n)
    X[rng.random(n) < 0.15, 1] = np.nan             # NaN seen in training
    X[rng.random(n) < 0.3, 2] = 0.0                 # zeros (zero_as_missing)
    hot = np.isin(X[:, CAT], [0, 3, 5, 8])
    score = X[:, 0] + 0.8 * np.nan_to_num(X[:, 1], nan=1.0) + (X[:, 2] == 0) + 1.2 * hot
    ys = {
        "bin": (score > 0.9).astype(int),
        "multi": np.digitize(score, np.quantile(score, [0.33, 0.66])),
        "reg": score + 0.1 * rng.normal(size=n),
        "count": rng.poisson(np.exp(np.clip(score, -3, 3) / 2)),
    }
    return X, ys


X_ALL, Y_ALL = make_data()
X_TRAIN, X_TEST = X_ALL[:N_TRAIN], X_ALL[N_TRAIN:]


def held_out(model_text: str) -> np.ndarray:
    """Test rows plus edge rows: each column set to each edge value in a few base rows."""
    parsed = parse_model_text(model_text)
    thresholds: dict[int, set[float]] = {}
    for t in parsed.trees:
        for n in range(t.num_leaves - 1):
            f = int(t.split_feature[n])
            if t.decision_type[n] & 1:
                continue
            v = float(t.threshold[n])
            thresholds.setdefault(f, set()).update(
                [v, float(np.nextafter(v, -np.inf)), float(np.nextafter(v, np.inf))])
    tiny = [0.0, -0.0, 1e-35, -1e-35, 1e-36, -1e-36, 5e-324, -5e-324, KZERO, -KZERO,
            float(np.nextafter(KZERO, 1)), -float(np.nextafter(KZERO, 1))]
    common = [np.nan, np.inf, -np.inf, 1e300, -1e300, *tiny]
    cat_edges = [-1.5, -1.0, -0.5, -1e-300, 0.5, 0.99999999999999989, 1.0, 2.5, 3.0, 9.0,
                 10.0, 11.0, 31.0, 32.0, 33.0, 64.0, 2.0**31 - 1, 2.0**31, 2.0**32 + 3, 1e10]
    base = X_TEST[:3]
    blocks = [X_TEST]
    for f in range(X_TEST.shape[1]):
        values = common + sorted(thresholds.get(f, ())) + (cat_edges if f == CAT else [])
        for v in values:
            block = base.copy()
            block[:, f] = v
            blocks.append(block)
    return np.concatenate(blocks)


# ------------------------------------------------------------------------------ checks
def check_build_reports(art: staticml.Artifact) -> dict[str, float]:
    return build_reports_passed(art, SAMPLE_ROWS, TOL, reference="model")


def check_against(art: staticml.Artifact, ref: Any, X: Any) -> dict:
    """Artifact vs reference on X: labels identical, numbers within TOL."""
    diffs = {}
    want = ref.predict(X)
    got = art.predict(X)
    if hasattr(ref, "classes_"):
        assert np.array_equal(art.classes_, ref.classes_)
        assert np.array_equal(got, want), f"{int((got != want).sum())} label mismatches"
        diffs["proba"] = max_abs(art.predict_proba(X), ref.predict_proba(X))
    else:
        diffs["values"] = max_abs(got, want)
    for key, d in diffs.items():
        assert d <= TOL, f"{key}: max abs diff {d:.3g} > {TOL}"
    return diffs


def check_interpreter(model: Any, sample: Any, X: Any) -> float:
    """The IR run by the numpy interpreter reproduces LightGBM on X."""
    graph = lower(model, infer_inputs(model, sample))
    out, status, _ = interpret.run(graph, RowEncoder(graph.inputs).encode(X))
    assert not status.any(), "the interpreter refused rows LightGBM accepts"
    got, _ = split_outputs(graph, out, status)
    if hasattr(model, "classes_"):
        assert np.array_equal(got["labels"], model.predict(X))
        return max_abs(got["proba"], model.predict_proba(X))
    return max_abs(got["values"], model.predict(X))


def booster_of(model: Any) -> Any:
    return model if isinstance(model, lgb.Booster) else model.booster_


def file_route(model: Any, tmp_path, sample: Any, X: Any) -> dict:
    """save_model -> staticml's parser -> build; compared with LightGBM on held-out rows."""
    path = tmp_path / "model.txt"
    booster_of(model).save_model(str(path))
    parsed = load_lightgbm_file(path)
    assert isinstance(parsed, LightGBMModel)
    assert parsed.n_features_in_ == X_TRAIN.shape[1]
    art = staticml.build(parsed, sample, out=tmp_path / "from_file", name="m")
    diffs = {f"file-{k}": v for k, v in check_build_reports(art).items()}
    ref = parsed.reference_model()
    if isinstance(model, lgb.LGBMClassifier):
        # a raw file knows classes 0..k-1; mapped through the wrapper's classes_ they are
        # exactly model.predict
        assert np.array_equal(parsed.classes_, np.arange(len(model.classes_)))
        assert np.array_equal(model.classes_[art.predict(X)], model.predict(X))
    diffs.update({f"file-{k}": v for k, v in check_against(art, ref, X).items()})
    return diffs


# ------------------------------------------------------------------------------ cases
@dataclass
class Case:
    id: str
    make: Callable[[], Any]
    y: str
    labels: Any = None           # class labels replacing 0..k-1 (LGBMClassifier)
    fit_kw: dict = field(default_factory=dict)
    frame: bool = False


def _y(case: Case) -> np.ndarray:
    y = Y_ALL[case.y]
    return np.asarray(case.labels)[y] if case.labels is not None else y


def fit(case: Case) -> Any:
    y = _y(case)
    X = pd.DataFrame(X_TRAIN, columns=COLUMNS) if case.frame else X_TRAIN
    model = case.make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model, tuple):  # ("train", params, rounds): the native API
            _, params, rounds = model
            return lgb.train({**params}, lgb.Dataset(X, y[:N_TRAIN], categorical_feature=[CAT]),
                             num_boost_round=rounds)
        return model.fit(X, y[:N_TRAIN], categorical_feature=[CAT], **case.fit_kw)


CASES = [
    Case("clf-binary-int-nan", lambda: lgb.LGBMClassifier(n_estimators=40, **BASE, **CATP),
         "bin", labels=np.array([3, 7])),
    Case("clf-binary-str-sigmoid", lambda: lgb.LGBMClassifier(
        n_estimators=40, sigmoid=0.6, **BASE, **CATP), "bin",
        labels=np.array(["no", "yes"], dtype=object)),
    Case("clf-multiclass-str", lambda: lgb.LGBMClassifier(n_estimators=30, **BASE, **CATP),
         "multi", labels=np.array(["low", "mid", "high"], dtype=object)),
    Case("clf-multiclassova", lambda: lgb.LGBMClassifier(
        n_estimators=30, objective="multiclassova", sigmoid=1.3, **BASE, **CATP), "multi"),
    Case("clf-rf-binary", lambda: lgb.LGBMClassifier(
        boosting_type="rf", n_estimators=30, subsample=0.6, subsample_freq=1, **BASE, **CATP),
        "bin"),
    Case("reg-missing-nan", lambda: lgb.LGBMRegressor(n_estimators=50, **BASE, **CATP), "reg"),
    Case("reg-missing-none", lambda: lgb.LGBMRegressor(
        n_estimators=50, use_missing=False, **BASE, **CATP), "reg"),
    Case("reg-missing-zero", lambda: lgb.LGBMRegressor(
        n_estimators=50, zero_as_missing=True, **BASE, **CATP), "reg"),
    Case("reg-poisson", lambda: lgb.LGBMRegressor(
        n_estimators=40, objective="poisson", **BASE, **CATP), "count"),
    Case("reg-dart-frame", lambda: lgb.LGBMRegressor(
        boosting_type="dart", n_estimators=30, **BASE, **CATP), "reg", frame=True),
    Case("booster-multiclass", lambda: ("train", dict(
        objective="multiclass", num_class=3, **BASE, **CATP), 30), "multi"),
    Case("booster-binary", lambda: ("train", dict(objective="binary", **BASE, **CATP), 40),
         "bin"),
    Case("booster-rf-multiclass", lambda: ("train", dict(
        objective="multiclass", num_class=3, boosting="rf", bagging_fraction=0.6,
        bagging_freq=1, **BASE, **CATP), 20), "multi"),
]


CASE = {c.id: c for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: Case, tmp_path, record_property) -> None:
    model = fit(case)
    booster = booster_of(model)
    text = booster.model_to_string()
    X = held_out(text)
    if case.frame:
        sample = pd.DataFrame(X_TRAIN[:SAMPLE_ROWS], columns=COLUMNS)
        X = pd.DataFrame(X, columns=COLUMNS)
    else:
        sample = X_TRAIN[:SAMPLE_ROWS]
    art = staticml.build(model, sample, out=tmp_path / "vendor", name="m")
    diffs = check_build_reports(art)
    diffs.update(check_against(art, model, X))
    if case.frame:  # single rows, as an online application calls it
        for i in (0, 1, len(X_TEST) + 5):
            got = art.predict_one({c: X.iloc[i][c] for c in COLUMNS})
            assert abs(got - model.predict(X.iloc[[i]])[0]) <= TOL
    diffs["ir"] = check_interpreter(model, sample, X)
    diffs.update(file_route(model, tmp_path, sample, X))
    # the missing types the case claims really are in the model
    types = {int(d) >> 2 & 3 for t in parse_model_text(text).trees
             for d, n in zip(t.decision_type, range(t.num_leaves - 1)) if not d & 1}
    if "missing-none" in case.id:
        assert types == {0}
    if "missing-zero" in case.id:
        assert 1 in types
    if "missing-nan" in case.id or "int-nan" in case.id:
        assert 2 in types
    record_property("max_abs_diff", json.dumps(diffs))


def test_categorical_bitsets_are_exercised() -> None:
    """The categorical cases hold bitset splits whose set includes category 0 (the -0.5 rule)."""
    model = fit(CASE['clf-binary-int-nan'])
    parsed = parse_model_text(model.booster_.model_to_string())
    with_zero = 0
    for t in parsed.trees:
        for n in np.flatnonzero(t.decision_type & 1):
            k = int(t.threshold[n])
            words = t.cat_threshold[t.cat_boundaries[k]:t.cat_boundaries[k + 1]]
            with_zero += int(len(words) > 0 and words[0] & 1)
    assert with_zero > 0
    x = np.zeros((2, 5))
    x[:, CAT] = [-0.5, 0.0]  # LightGBM truncates -0.5 to category 0
    assert model.predict_proba(x)[0, 1] == model.predict_proba(x)[1, 1]


def test_early_stopping_uses_best_iteration(tmp_path) -> None:
    y = Y_ALL["bin"]
    fit_rows, valid = slice(0, 450), slice(450, N_TRAIN)
    # scikit-learn API: the fitted booster already holds best_iteration_ trees
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.3, **BASE)
    model.fit(X_TRAIN[fit_rows], y[fit_rows], eval_set=[(X_TRAIN[valid], y[valid])],
              callbacks=[lgb.early_stopping(5, verbose=False)])
    assert 0 < model.best_iteration_ < 300
    X = held_out(model.booster_.model_to_string())
    art = staticml.build(model, X_TRAIN[:SAMPLE_ROWS], out=tmp_path / "clf", name="m")
    check_build_reports(art)
    check_against(art, model, X)
    # native API with keep_training_booster: more trees than predict() uses
    booster = lgb.train(dict(objective="binary", learning_rate=0.3, **BASE),
                        lgb.Dataset(X_TRAIN[fit_rows], y[fit_rows]), num_boost_round=300,
                        valid_sets=[lgb.Dataset(X_TRAIN[valid], y[valid])],
                        callbacks=[lgb.early_stopping(5, verbose=False)],
                        keep_training_booster=True)
    best = booster.best_iteration
    assert 0 < best < booster.num_trees()
    parsed = staticml.frontends.lightgbm.from_booster(booster)
    assert (parsed.num_iteration, parsed.n_iterations) == (best, booster.num_trees())
    assert not np.allclose(booster.predict(X, num_iteration=-1), booster.predict(X))
    art = staticml.build(booster, X_TRAIN[:SAMPLE_ROWS], out=tmp_path / "booster", name="m")
    check_build_reports(art)
    check_against(art, booster, X)
    # save_model keeps best_iteration trees: the file route agrees too
    diffs = file_route(booster, tmp_path, X_TRAIN[:SAMPLE_ROWS], X)
    assert load_lightgbm_file(tmp_path / "model.txt").n_iterations == best
    assert max(diffs.values()) <= TOL


def stump_model(stumps: list[tuple[str, int, list[int] | None]]) -> str:
    """A hand-written LightGBM model: one stump per (threshold, decision_type, bitset) on
    feature 0. Tree k adds 2^k when its row goes left, so the sum tells every route apart.
    """
    trees, cats = [], []
    for k, (thr, dt, bitset) in enumerate(stumps):
        cat = "" if bitset is None else (
            f"cat_boundaries=0 {len(bitset)}\ncat_threshold={' '.join(map(str, bitset))}\n")
        trees.append(
            f"Tree={k}\nnum_leaves=2\nnum_cat={0 if bitset is None else 1}\nsplit_feature=0\n"
            f"split_gain=1\nthreshold={thr}\ndecision_type={dt}\nleft_child=-1\n"
            f"right_child=-2\nleaf_value={2.0 ** k!r} 0\nleaf_weight=1 1\nleaf_count=1 1\n"
            f"internal_value=0\ninternal_weight=1\ninternal_count=2\n{cat}is_linear=0\n"
            "shrinkage=1\n\n\n")
    return ("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
            "max_feature_idx=1\nobjective=regression\nfeature_names=x0 x1\n"
            "feature_infos=[-1:1] [-1:1]\n"
            f"tree_sizes={' '.join(str(len(t)) for t in trees)}\n\n" + "".join(trees)
            + "end of trees\n\nparameters:\nend of parameters\n\npandas_categorical:null\n")


TINY = [0.0, -0.0, 1e-35, -1e-35, 1e-36, -1e-36, 5e-324, -5e-324, KZERO, -KZERO,
        float(np.nextafter(KZERO, 1)), -float(np.nextafter(KZERO, 1)),
        float(np.nextafter(-KZERO, -1)), 1.0, -1.0, np.nan, np.inf, -np.inf]


def test_flush_to_zero_thresholds(tmp_path) -> None:
    """Inputs with |x| <= 1e-35f reach LightGBM's trees as 0.0: thresholds near 0 matter."""
    thresholds = ["0", "-1e-36", "1e-36", "-1.0000000180025095e-35",
                  "1.0000000180025095e-35", "9.9999999999999995e-36", "-5e-324",
                  "-1.0000000180025097e-35"]
    # missing type None / NaN, default right / left
    stumps = [(t, dt, None) for t in thresholds for dt in (0, 2, 8, 10)]
    text = stump_model(stumps)
    booster = lgb.Booster(model_str=text)
    X = np.array([[v, 0.0] for v in TINY])
    art = staticml.build(booster, X, out=tmp_path / "b", name="m")
    check_build_reports(art)
    check_against(art, booster, X)
    assert len(np.unique(booster.predict(X))) > 3  # the rows really take different routes


def test_categorical_truncation_and_invalid_values(tmp_path) -> None:
    """(int)x truncates toward zero; negatives, NaN and huge values go right."""
    stumps = [("0", 1, [1]), ("0", 1, [0b1001]), ("0", 1, [0, 0b10]), ("0", 1, [0xFFFFFFFF]),
              ("0", 9, [1]), ("0", 3, [1, 0, 0, 1]), ("0", 1, [0])]
    text = stump_model(stumps)
    booster = lgb.Booster(model_str=text)
    values = [-2.0, -1.0, -0.99999999999999989, -0.5, -1e-300, -0.0, 0.0, 0.5, 1.0, 3.0, 3.5,
              31.0, 32.0, 33.0, 96.0, 97.0, 127.0, 2.0**31 - 1, 2.0**31, 2.0**32, 1e300,
              np.nan, np.inf, -np.inf]
    X = np.array([[v, 0.0] for v in values])
    art = staticml.build(booster, X, out=tmp_path / "b", name="m")
    check_build_reports(art)
    check_against(art, booster, X)


def test_zero_as_missing_at_the_float_zero_threshold(tmp_path) -> None:
    """zero_as_missing treats |x| <= 1e-35f (1.0000000180025095e-35), not 1e-35, as missing."""
    assert interpret_trees.ZERO_THRESHOLD == KZERO
    model = fit(CASE['reg-missing-zero'])
    X = np.repeat(X_TEST[:4], 4, axis=0)
    X[:, 2] = np.tile([KZERO, -KZERO, float(np.nextafter(KZERO, 0)), 1e-35], 4)
    art = staticml.build(model, X_TRAIN[:SAMPLE_ROWS], out=tmp_path / "b", name="m")
    check_against(art, model, X)


def test_parsed_model_without_lightgbm_reference(tmp_path, monkeypatch) -> None:
    """reference_model() is None without lightgbm; build then checks the artifact vs the IR."""
    model = fit(CASE['reg-missing-nan'])
    parsed = parse_model_text(model.booster_.model_to_string())
    import builtins

    real_import = builtins.__import__

    def no_lightgbm(name, *args, **kw):
        if name == "lightgbm" or name.startswith("lightgbm."):
            raise ImportError("no lightgbm")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_lightgbm)
    assert parsed.reference_model() is None
    art = staticml.build(parsed, X_TRAIN[:SAMPLE_ROWS], out=tmp_path / "b", name="m")
    monkeypatch.undo()
    assert art.manifest["parity"][HOST]["passed"]
    assert art.manifest["parity"][HOST]["reference"].startswith("ir")
    X = held_out(model.booster_.model_to_string())
    assert max_abs(art.predict(X), model.predict(X)) <= TOL


def test_refusals() -> None:
    """Models staticml cannot compile exactly are refused by name, never miscompiled."""
    y = Y_ALL["reg"][:N_TRAIN]
    cases = [
        (lgb.LGBMRegressor(n_estimators=3, linear_tree=True, verbose=-1), "linear"),
        (lgb.LGBMRegressor(n_estimators=3, reg_sqrt=True, verbose=-1), "reg_sqrt"),
        (lgb.LGBMRegressor(n_estimators=3, pred_early_stop=True, verbose=-1),
         "pred_early_stop"),
    ]
    for est, word in cases:
        est.fit(X_TRAIN, y)
        with pytest.raises(staticml.UnsupportedModelError, match=word):
            lower(est, infer_inputs(est, X_TRAIN[:5]))


def _category_frame(seed: int, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "a": rng.normal(size=n),
        "city": pd.Categorical(rng.choice(["oslo", "rome", "lima", "paris", "kyiv"], n)),
        "b": rng.normal(size=n),
        "tier": pd.Categorical(rng.choice([10, 20, 30, 40], n)),
    })
    frame.loc[rng.random(n) < 0.05, "city"] = np.nan
    frame.loc[rng.random(n) < 0.05, "a"] = np.nan
    z = (frame.city.isin(["rome", "lima"]).to_numpy() ^ (frame.a.fillna(0) > 0).to_numpy()) \
        + 0.5 * (frame.tier == 20).to_numpy() + 0.3 * rng.normal(size=n)
    return frame, z


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "booster"])
def test_pandas_category_columns(kind, tmp_path) -> None:
    """Columns of pandas 'category' dtype (LightGBM's usual categorical route): a value is
    coded by its position in the training categories, an unseen or missing one as NaN.
    Checked live and through model.txt with a CSV sample (strings and plain numbers, no
    category dtype), on held-out rows with unseen categories in both columns."""
    frame, z = _category_frame(SEED + 3, 1600)
    y = {"binary": (z > 0.5).astype(int), "multiclass": np.digitize(z, [0.3, 1.0]),
         "regression": z, "booster": z}[kind]
    params = dict(n_estimators=30, min_child_samples=5, verbose=-1, **CATP)
    if kind == "booster":
        model: Any = lgb.train({"objective": "regression", "verbosity": -1, "num_threads": 1,
                                **{k: v for k, v in params.items() if k != "n_estimators"}},
                               lgb.Dataset(frame[:1000], y[:1000]), num_boost_round=30)
    elif kind == "regression":
        model = lgb.LGBMRegressor(**params).fit(frame[:1000], y[:1000])
    else:
        model = lgb.LGBMClassifier(**params).fit(frame[:1000], y[:1000])
    test = frame[1000:].copy()
    test["city"] = test["city"].cat.add_categories(["bergen"])
    test.loc[test.index[:15], "city"] = "bergen"
    test["tier"] = test["tier"].cat.add_categories([50])
    test.loc[test.index[15:30], "tier"] = 50

    art = staticml.build(model, frame[:SAMPLE_ROWS * 3], out=tmp_path / "live", name="m")
    assert art.manifest["parity"][HOST]["passed"]
    want = model.predict(test)
    if kind in ("binary", "multiclass"):
        assert np.array_equal(art.predict(test), want)
        assert max_abs(art.predict_proba(test), model.predict_proba(test)) <= TOL
    else:
        assert max_abs(art.predict(test), want) <= TOL

    booster = model if kind == "booster" else model.booster_
    booster.save_model(tmp_path / "model.txt")
    frame[:SAMPLE_ROWS * 3].to_csv(tmp_path / "sample.csv", index=False)
    sample = pd.read_csv(tmp_path / "sample.csv")
    art = staticml.build(tmp_path / "model.txt", sample, out=tmp_path / "file", name="m")
    assert art.manifest["parity"][HOST]["passed"]
    plain = test.astype({"city": object, "tier": float})  # as a CSV reads: no category dtype
    got = art.predict_proba(plain)[:, 1] if kind == "binary" else \
        art.predict_proba(plain) if kind == "multiclass" else art.predict(plain)
    raw = booster.predict(test)
    assert max_abs(got, raw) <= TOL
