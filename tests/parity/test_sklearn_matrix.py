"""Parity matrix: every supported scikit-learn estimator, alone and in pipelines.

Acceptance criterion: labels identical on every held-out and probe row, probabilities,
decision values and regression values within ``TOL``; rows scikit-learn refuses are
refused by the artifact with an ``InputError`` that names the column.

Each case fits a model on a training split, builds it with ``staticml.build`` (which checks
the sample + probe rows itself: the manifest's parity reports), then compares the artifact
and the IR interpreter with the original model on a *held-out* split that also holds NaN
(where the pipeline imputes) and categories never seen in training (where the encoders
accept them).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge,
                                  SGDClassifier, SGDRegressor)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (MaxAbsScaler, MinMaxScaler, OneHotEncoder, OrdinalEncoder,
                                   RobustScaler, StandardScaler)
from sklearn.svm import LinearSVC, LinearSVR

import staticml

from .checks import build_reports_passed, max_abs
from staticml import errors
from staticml.data.schema import RowEncoder, infer_inputs
from staticml.frontends import lower
from staticml.ir import interpret
from staticml.verification.runner import split_outputs
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()

# Absolute tolerance for probabilities, decision values and regression values. This is the
# acceptance criterion's bound (and staticml's own parity tolerance): the artifact is
# compiled C that must reproduce scikit-learn's float64 arithmetic up to summation-order
# and libm-vs-sm_math rounding, i.e. a few ulps, far below 1e-9 for these data scales.
TOL = 1e-9

SEED = 20240611
N_TRAIN, N_TEST = 400, 200
SAMPLE_ROWS = 60  # rows of the training split passed to build() as the sample

NUM = ["age", "income", "score", "visits"]
CAT = ["color", "city", "member"]
UNSEEN = {"color": "purple", "city": "Tokyo", "member": "unknown"}
# Column names a C header cannot use as they are (spaces, keywords, non-ASCII, quotes).
ODD_NAMES = {"age": "age (years)", "income": "int", "score": "2nd-score", "visits": "x0",
             "color": "colour é", "city": 'city "name"', "member": "static"}

warnings.filterwarnings("ignore", category=ConvergenceWarning)
pytestmark = [
    pytest.mark.needs_cc,  # every build compiles C
    pytest.mark.filterwarnings(
        "ignore::sklearn.exceptions.ConvergenceWarning",
        # OneHotEncoder(drop=..., handle_unknown='ignore') warns on unknown categories, and
        # handle_unknown='warn' does by design; all-NaN training columns warn in SimpleImputer;
        # MLPRegressor warns on a column-vector y (the "reg1col" cases do that on purpose).
        "ignore:Found unknown categories:UserWarning",
        "ignore:Skipping features without any observed values:UserWarning",
        "ignore:A column-vector y was passed:sklearn.exceptions.DataConversionWarning",
    ),
]


# ------------------------------------------------------------------------------- data
LABELS = {
    "bin_int": np.array([3, 7]),
    "bin_str": np.array(["no", "yes"], dtype=object),
    "multi_int": np.array([0, 1, 2]),
    "multi_str": np.array(["no", "yes", "maybe"], dtype=object),
    "multi_ustr": np.array(["no", "yes", "maybe"]),  # numpy '<U5', not object
    "bin_bool": np.array([False, True]),
    "multi_float": np.array([-1.0, 0.0, 2.0]),
}


def _labels(z: np.ndarray, kind: str) -> np.ndarray:
    """Cut a latent score into class labels of the given kind (or return a target)."""
    if kind == "reg":
        return z
    if kind == "reg2":
        return np.column_stack([z, 0.5 * z**2 - 3.0 * z])
    if kind == "reg1col":  # one target, but as a 2-D (n, 1) array
        return z[:, None]
    classes = LABELS[kind]
    cuts = np.quantile(z, np.linspace(0, 1, len(classes) + 1)[1:-1])
    return classes[np.searchsorted(cuts, z)]


@dataclass(frozen=True)
class Data:
    """Which variant of the synthetic data a case trains and tests on."""

    kind: str = "frame"      # "frame" (DataFrame, numeric + string columns), "array", "object"
    y: str = "bin_int"       # key of LABELS, or "reg" / "reg2" (2 targets) / "reg1col"
    nan: bool = False        # ~10% NaN in numeric (and ~5% in string) columns, train and test
    unseen: bool = False     # held-out string columns contain categories unseen in training
    nan_cat: bool | None = None  # NaN in string columns (default: same as ``nan``)
    sentinel: bool = False   # missing numeric values are -999.0 instead of NaN
    empty_col: bool = False  # "score" is all-NaN in training (imputers drop or keep it)
    str_dtype: str = "str"   # dtype of the string columns ("str", "object", "category")
    nan_only: tuple = ()     # if set: training NaN only in these numeric columns
    int_visits: bool = False  # "visits" is an int64 column (needs nan=False)
    y_series: bool = False   # labels as a pandas Series (pandas' own string dtype)
    odd_names: bool = False  # column names that are not C identifiers (see ODD_NAMES)
    scale: float = 1.0       # "array" only: multiply the features (saturates activations)


@lru_cache(maxsize=None)
def dataset(d: Data) -> tuple[Any, Any, Any, Any]:
    """(X_train, X_test, y_train, y_test) for ``d``; deterministic."""
    if d.kind == "array":
        return _array_data(d)
    rng = np.random.default_rng(SEED)
    n = N_TRAIN + N_TEST
    df = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(3, 0.6, n).round(2),  # thousands
        "score": rng.uniform(-3, 3, n),
        "visits": rng.integers(0, 5, n).astype(np.float64),
        "color": rng.choice(["red", "green", "blue", "black"], n, p=[.4, .3, .25, .05]),
        "city": rng.choice(["Oslo", "Paris", "Lima", "Rome", "Kyiv"], n,
                           p=[.3, .3, .2, .15, .05]),
        "member": rng.choice(["yes", "no"], n),
    })
    effect = {"red": 0.8, "green": -0.5, "blue": 0.1, "black": 1.5, "Oslo": 0.3,
              "Paris": -0.6, "Lima": 0.9, "Rome": -0.2, "Kyiv": 0.0, "yes": 0.7, "no": -0.7}
    z = (0.05 * (df.age - 40) + 0.8 * (np.log(df.income) - 3) + 0.5 * df.score
         + 0.3 * df.visits + df.color.map(effect) + df.city.map(effect)
         + df.member.map(effect) + rng.normal(0, 0.3, n)).to_numpy()
    y = _labels(z, d.y)
    nan_cat = d.nan if d.nan_cat is None else d.nan_cat
    train, test = df.iloc[:N_TRAIN].copy(), df.iloc[N_TRAIN:].reset_index(drop=True)
    rng2 = np.random.default_rng(SEED + 1)
    for part, rate in ((train, 0.10), (test, 0.15)):
        if d.nan or d.sentinel:
            for c in (d.nan_only or NUM) if part is train else NUM:
                part.loc[rng2.random(len(part)) < rate, c] = -999.0 if d.sentinel else np.nan
        if nan_cat:
            for c in CAT:
                part.loc[rng2.random(len(part)) < rate / 2, c] = np.nan
    if d.unseen:
        for c, v in UNSEEN.items():
            test.loc[rng2.random(len(test)) < 0.10, c] = v
        test.loc[rng2.random(len(test)) < 0.10, "visits"] = 7.0  # unseen numeric category
    if d.empty_col:
        train["score"] = np.nan
    if d.int_visits:
        assert not (d.nan or d.sentinel)
        train["visits"] = train["visits"].astype(np.int64)
        test["visits"] = test["visits"].astype(np.int64)
    for part in (train, test):
        for c in CAT:
            part[c] = part[c].astype(d.str_dtype)
    y_train, y_test = y[:N_TRAIN], y[N_TRAIN:]
    if d.y_series:
        y_train, y_test = pd.Series(y_train, dtype="str"), pd.Series(y_test, dtype="str")
    if d.odd_names:
        train, test = train.rename(columns=ODD_NAMES), test.rename(columns=ODD_NAMES)
    if d.kind == "object":  # a plain object ndarray: columns by position only
        train, test = train.to_numpy(dtype=object), test.to_numpy(dtype=object)
    return train, test, y_train, y_test


def _array_data(d: Data) -> tuple[Any, Any, Any, Any]:
    n = N_TRAIN + N_TEST
    if d.y in ("reg", "reg2", "reg1col"):
        X, y = make_regression(n, 5, n_informative=4, n_targets=2 if d.y == "reg2" else 1,
                               noise=5.0, random_state=SEED % 2**31)
        if d.y == "reg1col":
            y = y[:, None]
    else:
        k = len(LABELS[d.y])
        X, yi = make_classification(n, 5, n_informative=3, n_redundant=1, n_classes=k,
                                    n_clusters_per_class=1, flip_y=0.05,
                                    random_state=SEED % 2**31)
        y = LABELS[d.y][yi]
    X = X * d.scale
    return X[:N_TRAIN], X[N_TRAIN:], y[:N_TRAIN], y[N_TRAIN:]


# ------------------------------------------------------------------------------ cases
def ct_frame(num: list | None = None, cat: list | None = None, **kw: Any) -> ColumnTransformer:
    """ColumnTransformer over the frame: numeric steps on NUM, categorical steps on CAT."""
    parts = []
    if num is not None:
        parts.append(("num", make_pipeline(*num) if num else "passthrough", NUM))
    if cat is not None:
        parts.append(("cat", make_pipeline(*cat) if cat else "passthrough", CAT))
    return ColumnTransformer(parts, **kw)


def imp(**kw: Any) -> SimpleImputer:
    return SimpleImputer(**kw)


def ohe(**kw: Any) -> OneHotEncoder:
    kw.setdefault("sparse_output", False)
    return OneHotEncoder(**kw)


def lr(**kw: Any) -> LogisticRegression:
    return LogisticRegression(max_iter=1000, **kw)


def mlp_clf(act: str) -> MLPClassifier:
    return MLPClassifier(hidden_layer_sizes=(8,), activation=act, max_iter=200, random_state=0)


def mlp_reg(act: str) -> MLPRegressor:
    return MLPRegressor(hidden_layer_sizes=(8,), activation=act, max_iter=200, random_state=0)


def std_pipe(final: Any) -> Pipeline:
    """The everyday pipeline: impute+scale numbers, impute+one-hot strings, then ``final``."""
    return make_pipeline(
        ct_frame([imp(), StandardScaler()],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]), final)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], Any]
    data: Data = field(default_factory=Data)
    slow: bool = False
    xfail: str | None = None


FULL = dict(nan=True, unseen=True)  # the frame with NaN everywhere and unseen categories
A = "array"

CASES: list[Case] = [
    # ---- predictors alone, on numeric arrays ------------------------------------------
    Case("logreg-binary-int37", lambda: lr(), Data(A, "bin_int")),
    Case("logreg-binary-str", lambda: lr(C=0.1), Data(A, "bin_str")),
    Case("logreg-multinomial-str", lambda: lr(), Data(A, "multi_str")),
    Case("logreg-multinomial-int", lambda: lr(C=10.0), Data(A, "multi_int")),
    Case("linreg", lambda: LinearRegression(), Data(A, "reg")),
    Case("linreg-multitarget", lambda: LinearRegression(), Data(A, "reg2")),
    Case("linreg-no-intercept", lambda: LinearRegression(fit_intercept=False), Data(A, "reg")),
    Case("ridge", lambda: Ridge(alpha=3.0), Data(A, "reg")),
    Case("ridge-multitarget", lambda: Ridge(), Data(A, "reg2")),
    Case("lasso", lambda: Lasso(alpha=0.5), Data(A, "reg")),
    Case("elasticnet", lambda: ElasticNet(alpha=0.5, l1_ratio=0.3), Data(A, "reg")),
    *[Case(f"sgd-{loss}-{y}", lambda loss=loss: SGDClassifier(loss=loss, random_state=0),
           Data(A, y))
      for loss in ("hinge", "log_loss", "modified_huber")
      for y in ("bin_int", "multi_str")],
    Case("sgd-regressor", lambda: SGDRegressor(random_state=0), Data(A, "reg")),
    Case("linearsvc-binary", lambda: LinearSVC(), Data(A, "bin_str")),
    Case("linearsvc-multiclass", lambda: LinearSVC(), Data(A, "multi_int")),
    Case("linearsvr", lambda: LinearSVR(max_iter=5000, random_state=0), Data(A, "reg")),
    *[Case(f"mlp-clf-{act}-{y}", lambda act=act: mlp_clf(act), Data(A, y))
      for act in ("identity", "logistic", "tanh", "relu")
      for y in ("bin_int", "multi_str")],
    *[Case(f"mlp-reg-{act}", lambda act=act: mlp_reg(act), Data(A, "reg"))
      for act in ("identity", "logistic", "tanh", "relu")],
    Case("mlp-reg-relu-multitarget",
         lambda: MLPRegressor(hidden_layer_sizes=(6, 4), max_iter=200, random_state=0),
         Data(A, "reg2")),
    Case("mlp-clf-tanh-2layers-multi",
         lambda: MLPClassifier(hidden_layer_sizes=(8, 6), activation="tanh", max_iter=200,
                               random_state=0),
         Data(A, "multi_int")),

    # ---- every predictor at the end of a full pipeline (NaN + unseen categories) -------
    Case("pipe-logreg-binary", lambda: std_pipe(lr()), Data(y="bin_str", **FULL)),
    Case("pipe-logreg-multinomial", lambda: std_pipe(lr()), Data(y="multi_str", **FULL)),
    Case("pipe-linreg", lambda: std_pipe(LinearRegression()), Data(y="reg", **FULL)),
    Case("pipe-linreg-multitarget", lambda: std_pipe(LinearRegression()),
         Data(y="reg2", **FULL)),
    Case("pipe-ridge", lambda: std_pipe(Ridge()), Data(y="reg", **FULL)),
    Case("pipe-lasso", lambda: std_pipe(Lasso(alpha=0.01)), Data(y="reg", **FULL)),
    Case("pipe-elasticnet", lambda: std_pipe(ElasticNet(alpha=0.01)), Data(y="reg", **FULL)),
    Case("pipe-sgd-hinge-multi", lambda: std_pipe(SGDClassifier(random_state=0)),
         Data(y="multi_int", **FULL)),
    Case("pipe-sgd-log-binary", lambda: std_pipe(SGDClassifier(loss="log_loss",
                                                               random_state=0)),
         Data(y="bin_int", **FULL)),
    Case("pipe-sgd-mhuber-multi", lambda: std_pipe(SGDClassifier(loss="modified_huber",
                                                                 random_state=0)),
         Data(y="multi_str", **FULL)),
    Case("pipe-sgd-regressor", lambda: std_pipe(SGDRegressor(random_state=0)),
         Data(y="reg", **FULL)),
    Case("pipe-linearsvc-multi", lambda: std_pipe(LinearSVC()), Data(y="multi_str", **FULL)),
    Case("pipe-linearsvr", lambda: std_pipe(LinearSVR(max_iter=5000, random_state=0)),
         Data(y="reg", **FULL)),
    Case("pipe-mlp-clf-relu-binary", lambda: std_pipe(mlp_clf("relu")),
         Data(y="bin_int", **FULL)),
    Case("pipe-mlp-clf-logistic-multi", lambda: std_pipe(mlp_clf("logistic")),
         Data(y="multi_str", **FULL)),
    Case("pipe-mlp-reg-tanh", lambda: std_pipe(mlp_reg("tanh")), Data(y="reg", **FULL)),

    # ---- scalers ------------------------------------------------------------------------
    *[Case(f"scaler-{name}", lambda s=s: std_pipe_scaler(s()), Data(y="bin_int", **FULL))
      for name, s in [
          ("standard", StandardScaler),
          ("standard-no-mean", lambda: StandardScaler(with_mean=False)),
          ("standard-no-std", lambda: StandardScaler(with_std=False)),
          ("standard-neither", lambda: StandardScaler(with_mean=False, with_std=False)),
          ("minmax", MinMaxScaler),
          ("minmax-range", lambda: MinMaxScaler(feature_range=(-1, 1))),
          ("minmax-clip", lambda: MinMaxScaler(clip=True)),
          ("minmax-range-clip", lambda: MinMaxScaler(feature_range=(-2, 0.5), clip=True)),
          ("maxabs", MaxAbsScaler),
          ("robust", RobustScaler),
          ("robust-no-centering", lambda: RobustScaler(with_centering=False)),
          ("robust-no-scaling", lambda: RobustScaler(with_scaling=False)),
          ("robust-q10-90", lambda: RobustScaler(quantile_range=(10, 90))),
      ]],
    # Scalers let NaN through; the imputer after them fills it.
    Case("scaler-before-imputer", lambda: make_pipeline(
        ct_frame([StandardScaler(), MinMaxScaler(clip=True), imp(strategy="median")],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        lr()), Data(y="multi_str", **FULL)),
    # Plain numeric array, scaler + imputer directly in the Pipeline (no ColumnTransformer).
    Case("array-scaler-only", lambda: make_pipeline(RobustScaler(), MaxAbsScaler(), lr()),
         Data(A, "multi_int")),

    # ---- imputers -----------------------------------------------------------------------
    *[Case(f"imputer-{strategy}{'-indicator' if ind else ''}",
           lambda strategy=strategy, ind=ind: make_pipeline(
               ct_frame([imp(strategy=strategy, add_indicator=ind,
                             **({"fill_value": -1.0} if strategy == "constant" else {})),
                         StandardScaler()],
                        [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
               lr()), Data(y="bin_str", **FULL))
      for strategy in ("mean", "median", "most_frequent", "constant")
      for ind in (False, True)],
    Case("imputer-sentinel-marker", lambda: make_pipeline(
        ct_frame([imp(missing_values=-999.0, strategy="median", add_indicator=True)],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        Ridge()), Data(y="reg", sentinel=True, nan_cat=True, unseen=True)),
    Case("imputer-empty-column-dropped", lambda: make_pipeline(
        ct_frame([imp(strategy="mean"), StandardScaler()],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        lr()), Data(y="bin_int", empty_col=True, **FULL)),
    Case("imputer-empty-column-kept", lambda: make_pipeline(
        ct_frame([imp(strategy="mean", keep_empty_features=True, add_indicator=True)],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        lr()), Data(y="bin_int", empty_col=True, **FULL)),
    Case("imputer-string-most-frequent-indicator", lambda: make_pipeline(
        ct_frame([imp()], [imp(strategy="most_frequent", add_indicator=True),
                           ohe(handle_unknown="ignore")]),
        lr()), Data(y="multi_str", **FULL)),
    Case("imputer-string-constant", lambda: make_pipeline(
        ct_frame([imp(strategy="constant", fill_value=0.0)],
                 [imp(strategy="constant", fill_value="missing"),
                  ohe(handle_unknown="ignore")]),
        lr()), Data(y="multi_int", **FULL)),
    Case("imputer-string-constant-error-encoder", lambda: make_pipeline(
        ct_frame([imp()], [imp(strategy="constant", fill_value="missing"), ohe()]),
        lr()), Data(y="bin_str", nan=True)),
    Case("imputer-string-object-dtype", lambda: make_pipeline(
        ct_frame([imp(strategy="median")], [imp(strategy="most_frequent"),
                                            ohe(handle_unknown="ignore")]),
        lr()), Data(y="bin_str", str_dtype="object", **FULL)),

    # ---- one-hot encoder ----------------------------------------------------------------
    # NaN in the string columns in training: the encoder learns NaN as a category.
    Case("ohe-nan-category-ignore", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="ignore")]), lr()),
        Data(y="multi_str", **FULL)),
    Case("ohe-nan-category-error", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="error")]), lr()),
        Data(y="bin_int", nan=True)),
    Case("ohe-numeric-categories", lambda: make_pipeline(ColumnTransformer([
        ("vis", ohe(handle_unknown="ignore"), ["visits"]),
        ("num", make_pipeline(imp(), StandardScaler()), ["age", "income", "score"]),
        ("cat", ohe(handle_unknown="ignore"), CAT)]), lr()), Data(y="multi_int", **FULL)),
    Case("ohe-numeric-categories-error", lambda: make_pipeline(ColumnTransformer([
        ("vis", ohe(), ["visits"]),
        ("num", StandardScaler(), ["age", "income", "score"])]), lr()),
        Data(y="bin_int")),
    Case("ohe-infrequent-min-frequency", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="infrequent_if_exist", min_frequency=0.1)]),
        lr()), Data(y="multi_str", **FULL)),
    Case("ohe-infrequent-min-frequency-int", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="infrequent_if_exist", min_frequency=30)]),
        lr()), Data(y="bin_int", **FULL)),
    Case("ohe-infrequent-max-categories", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="infrequent_if_exist", max_categories=3)]),
        lr()), Data(y="multi_int", **FULL)),
    Case("ohe-infrequent-numeric", lambda: make_pipeline(ColumnTransformer([
        ("vis", ohe(handle_unknown="infrequent_if_exist", max_categories=3), ["visits"]),
        ("cat", ohe(handle_unknown="infrequent_if_exist", min_frequency=0.1), CAT)]),
        Ridge()), Data(y="reg", unseen=True, nan_cat=True)),
    Case("ohe-infrequent-error", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="error", min_frequency=0.1)]), lr()),
        Data(y="bin_str", nan=True)),
    Case("ohe-warn", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="warn", max_categories=4)]), lr()),
        Data(y="multi_str", **FULL)),
    Case("ohe-drop-first", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop="first", handle_unknown="ignore")]), lr()),
        Data(y="bin_int", **FULL)),
    Case("ohe-drop-first-error", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop="first")]), lr()), Data(y="multi_str", nan=True)),
    Case("ohe-drop-if-binary", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop="if_binary", handle_unknown="ignore")]), lr()),
        Data(y="multi_int", unseen=True, nan=True, nan_cat=False)),
    Case("ohe-drop-list", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop=["green", "Paris", "no"], handle_unknown="ignore")]),
        lr()), Data(y="bin_str", unseen=True, nan=True, nan_cat=False)),
    Case("ohe-drop-first-infrequent", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop="first", handle_unknown="infrequent_if_exist",
                               min_frequency=0.1)]), lr()),
        Data(y="multi_str", **FULL)),
    Case("ohe-drop-infrequent-list", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop=["red", "Oslo", "yes"],
                               handle_unknown="infrequent_if_exist", min_frequency=0.1)]),
        lr()), Data(y="bin_int", unseen=True, nan=True, nan_cat=False)),
    Case("ohe-explicit-categories", lambda: make_pipeline(
        ct_frame([imp()], [ohe(categories=[["red", "green", "blue", "black", "white"],
                                           ["Oslo", "Paris", "Lima", "Rome", "Kyiv", "Bern"],
                                           ["yes", "no"]], handle_unknown="ignore")]),
        lr()), Data(y="multi_str", unseen=True, nan=True, nan_cat=False)),
    Case("ohe-sparse-output", lambda: make_pipeline(
        ct_frame([imp(), StandardScaler()],
                 [imp(strategy="most_frequent"),
                  OneHotEncoder(handle_unknown="ignore", sparse_output=True)]),
        lr()), Data(y="bin_str", **FULL)),
    Case("ct-sparse-threshold-1", lambda: make_pipeline(
        ct_frame([imp(), MaxAbsScaler()],
                 [imp(strategy="most_frequent"),
                  OneHotEncoder(handle_unknown="ignore", sparse_output=True)],
                 sparse_threshold=1.0),
        Ridge()), Data(y="reg", **FULL)),
    Case("ct-sparse-threshold-0", lambda: make_pipeline(
        ct_frame([imp(), StandardScaler()],
                 [imp(strategy="most_frequent"),
                  OneHotEncoder(handle_unknown="ignore", sparse_output=True)],
                 sparse_threshold=0.0),
        lr()), Data(y="multi_str", **FULL)),
    Case("ct-sparse-into-mlp", lambda: make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), CAT),
                           ("num", make_pipeline(imp(), StandardScaler(with_mean=False)), NUM)],
                          sparse_threshold=1.0),
        mlp_clf("tanh")), Data(y="multi_int", **FULL)),

    # ---- ordinal encoder ----------------------------------------------------------------
    Case("ordinal-unknown-and-missing", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                          encoded_missing_value=-2)]), lr()),
        Data(y="multi_str", **FULL)),
    Case("ordinal-nan-then-imputer", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(handle_unknown="use_encoded_value",
                                          unknown_value=np.nan),
                           imp(strategy="most_frequent", add_indicator=True)]), lr()),
        Data(y="bin_int", **FULL)),
    Case("ordinal-numeric-categories", lambda: make_pipeline(ColumnTransformer([
        ("vis", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=99,
                               encoded_missing_value=-1), ["visits"]),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-1), CAT)]), Ridge()),
        Data(y="reg", **FULL)),
    Case("ordinal-error", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(encoded_missing_value=-1)]), lr()),
        Data(y="bin_str", nan=True)),
    Case("ordinal-infrequent", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                          encoded_missing_value=-3, min_frequency=0.1)]),
        lr()), Data(y="multi_int", **FULL)),
    Case("ordinal-max-categories", lambda: make_pipeline(
        ct_frame([imp(), StandardScaler()],
                 [OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                 max_categories=3),
                           imp(strategy="constant", fill_value=-5)]),
        mlp_clf("relu")), Data(y="bin_str", **FULL)),
    Case("ordinal-explicit-categories", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(categories=[["red", "green", "blue", "black"],
                                                      ["Rome", "Oslo", "Paris", "Lima", "Kyiv"],
                                                      ["yes", "no"]],
                                          handle_unknown="use_encoded_value",
                                          unknown_value=-1)]), lr()),
        Data(y="multi_str", unseen=True, nan=True, nan_cat=False)),

    # ---- column transformer wiring --------------------------------------------------------
    Case("ct-positional-frame", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()), [0, 1, 2, 3]),
        ("cat", make_pipeline(imp(strategy="most_frequent"), ohe(handle_unknown="ignore")),
         [4, 5, 6])]), lr()), Data(y="multi_str", **FULL)),
    Case("ct-positional-array", lambda: make_pipeline(ColumnTransformer([
        ("a", StandardScaler(), [0, 2]), ("b", MinMaxScaler(), [4])], remainder="drop"),
        lr()), Data(A, "bin_int")),
    Case("ct-positional-object-array", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()), [0, 1, 2, 3]),
        ("cat", make_pipeline(imp(strategy="most_frequent"), ohe(handle_unknown="ignore")),
         [4, 5, 6])]), lr()), Data(kind="object", y="bin_str", **FULL)),
    Case("ct-remainder-passthrough", lambda: make_pipeline(ColumnTransformer([
        ("cat", ohe(handle_unknown="ignore"), CAT)], remainder="passthrough"), lr()),
        Data(y="multi_str", unseen=True)),
    Case("ct-remainder-estimator", lambda: make_pipeline(ColumnTransformer([
        ("cat", make_pipeline(imp(strategy="most_frequent"), ohe(handle_unknown="ignore")),
         CAT)], remainder=make_pipeline(imp(strategy="median"), RobustScaler())), lr()),
        Data(y="bin_int", **FULL)),
    Case("ct-remainder-drop-subset", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()), ["income", "age"]),
        ("cat", ohe(handle_unknown="ignore"), ["city"])], remainder="drop"), lr()),
        Data(y="multi_int", **FULL)),
    Case("ct-passthrough-and-drop-steps", lambda: make_pipeline(ColumnTransformer([
        ("keep", "passthrough", ["score", "visits"]),
        ("gone", "drop", ["age"]),
        ("cat", ohe(handle_unknown="ignore"), ["member", "color"])]), Ridge()),
        Data(y="reg", unseen=True)),
    Case("ct-column-selector", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()),
         make_column_selector(dtype_include=np.number)),
        ("cat", make_pipeline(imp(strategy="most_frequent"), ohe(handle_unknown="ignore")),
         make_column_selector(dtype_exclude=np.number))]), lr()),
        Data(y="multi_str", **FULL)),
    Case("ct-bool-mask-and-slice", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()),
         [True, True, True, True, False, False, False]),
        ("cat", ohe(handle_unknown="ignore"), slice(4, 7))]), lr()),
        Data(y="bin_int", unseen=True, nan=True, nan_cat=False)),
    Case("ct-column-used-twice", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()), NUM),
        ("vis", ohe(handle_unknown="ignore"), ["visits", "city"]),
        ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-1), ["city"])]), lr()),
        Data(y="multi_str", unseen=True, nan=True, nan_cat=True)),
    Case("ct-nested", lambda: make_pipeline(ColumnTransformer([
        ("inner", ColumnTransformer([("a", imp(), ["age", "score"]),
                                     ("b", ohe(handle_unknown="ignore"), ["color"])]),
         ["age", "score", "color"]),
        ("city", ohe(handle_unknown="ignore"), ["city"])]), StandardScaler(), lr()),
        Data(y="bin_str", **FULL)),
    Case("pipeline-nested-with-passthrough-step", lambda: Pipeline([
        ("pre", make_pipeline(ct_frame([imp()], [imp(strategy="most_frequent"),
                                                ohe(handle_unknown="ignore")]))),
        ("nothing", "passthrough"),
        ("scale", StandardScaler()),
        ("clf", SGDClassifier(loss="log_loss", random_state=0))]),
        Data(y="multi_int", **FULL)),
    Case("odd-column-names", lambda: make_pipeline(ColumnTransformer([
        ("num", make_pipeline(imp(), StandardScaler()), [0, 1, 2, 3]),
        ("cat", make_pipeline(imp(strategy="most_frequent"), ohe(handle_unknown="ignore")),
         [4, 5, 6])]), lr()), Data(y="multi_str", odd_names=True, **FULL)),
    Case("ct-empty-column-list", lambda: make_pipeline(ColumnTransformer([
        ("none", StandardScaler(), []),
        ("num", make_pipeline(imp(), StandardScaler()), NUM),
        ("cat", ohe(handle_unknown="ignore"), CAT)]), lr()), Data(y="bin_int", **FULL)),
    Case("set-output-pandas", lambda: make_pipeline(
        ct_frame([imp(), StandardScaler()], [imp(strategy="most_frequent"),
                                             ohe(handle_unknown="ignore")],
                 remainder="passthrough"),
        lr()).set_output(transform="pandas"), Data(y="multi_str", **FULL)),
    Case("sparse-into-scalers", lambda: make_pipeline(
        ct_frame([imp()], [OneHotEncoder(handle_unknown="ignore")], sparse_threshold=1.0),
        MaxAbsScaler(), StandardScaler(with_mean=False), lr()),
        Data(y="bin_str", **FULL)),

    # ---- more label and target kinds -----------------------------------------------------
    Case("labels-bool", lambda: lr(), Data(A, "bin_bool")),
    Case("labels-float-multi", lambda: SGDClassifier(loss="log_loss", random_state=0),
         Data(A, "multi_float")),
    Case("labels-numpy-unicode", lambda: mlp_clf("relu"), Data(A, "multi_ustr")),
    Case("labels-pandas-series", lambda: std_pipe(lr()),
         Data(y="multi_str", y_series=True, **FULL)),
    Case("linearsvc-crammer-singer", lambda: LinearSVC(multi_class="crammer_singer"),
         Data(A, "multi_str")),
    *[Case(f"{name}-y-2d-one-target", make, Data(A, "reg1col"))
      for name, make in [("linreg", LinearRegression), ("ridge", Ridge),
                         ("lasso", lambda: Lasso(alpha=0.5)),
                         ("mlp-reg", lambda: mlp_reg("identity"))]],

    # ---- numerically harsh: hidden pre-activations up to ~400 saturate tanh/logistic -------
    *[Case(f"mlp-saturated-{act}", lambda act=act: mlp_clf(act),
           Data(A, "multi_str", scale=100.0)) for act in ("logistic", "tanh")],
    Case("logreg-unscaled", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="ignore")]), lr(C=100.0)),
        Data(y="bin_int", **FULL)),

    # ---- more dtypes and imputer corners -------------------------------------------------
    Case("string-columns-category-dtype", lambda: std_pipe(lr()),
         Data(y="multi_int", str_dtype="category", **FULL)),
    Case("ohe-int64-column", lambda: make_pipeline(ColumnTransformer([
        ("vis", ohe(handle_unknown="ignore"), ["visits"]),
        ("num", StandardScaler(), ["age", "score"])]), lr()),
        Data(y="bin_str", unseen=True, int_visits=True)),
    Case("imputer-indicator-missing-only", lambda: make_pipeline(
        ct_frame([imp(add_indicator=True), StandardScaler()],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        lr()), Data(y="bin_int", nan_only=("age", "score"), **FULL)),
    Case("imputer-empty-column-dropped-indicator", lambda: make_pipeline(
        ct_frame([imp(strategy="median", add_indicator=True)],
                 [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        Ridge()), Data(y="reg", empty_col=True, **FULL)),
    Case("imputer-string-marker", lambda: make_pipeline(
        ct_frame([imp()], [imp(missing_values="black", strategy="most_frequent"),
                           ohe(handle_unknown="ignore")]), lr()),
        Data(y="multi_str", nan=True, nan_cat=False, unseen=True)),
]


def std_pipe_scaler(scaler: Any) -> Pipeline:
    return make_pipeline(
        ct_frame([imp(), scaler], [imp(strategy="most_frequent"), ohe(handle_unknown="ignore")]),
        lr())


def _param(case: Case) -> Any:
    marks = []
    if case.slow:
        marks.append(pytest.mark.slow)
    if case.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
    return pytest.param(case, id=case.id, marks=marks)


# ---------------------------------------------------------------------------- checks
def fit(case: Case) -> tuple[Any, Any, Any]:
    X_train, X_test, y_train, _ = dataset(case.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = case.make().fit(X_train, y_train)
    return model, X_train, X_test


def sample_of(X: Any) -> Any:
    return X.iloc[:SAMPLE_ROWS] if hasattr(X, "iloc") else X[:SAMPLE_ROWS]


def check_build_reports(art: staticml.Artifact) -> dict[str, float]:
    return build_reports_passed(art, SAMPLE_ROWS, TOL)


def check_held_out(art: staticml.Artifact, model: Any, X: Any) -> dict[str, float]:
    """Artifact vs model on held-out rows: labels/dtypes identical, numbers within TOL."""
    diffs = {}
    want = model.predict(X)
    got = art.predict(X)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    if hasattr(model, "classes_"):
        assert len(np.unique(want)) > 1, "degenerate case: the model predicts one class"
        assert np.array_equal(got, want), f"{int((got != want).sum())} label mismatches"
        assert np.array_equal(art.classes_, model.classes_)
        assert art.classes_.dtype == model.classes_.dtype
        if hasattr(model, "predict_proba"):
            diffs["proba"] = max_abs(art.predict_proba(X), model.predict_proba(X))
        else:
            with pytest.raises(AttributeError):
                art.predict_proba(X)
        if hasattr(model, "decision_function"):
            diffs["decision"] = max_abs(art.decision_function(X), model.decision_function(X))
        else:
            with pytest.raises(AttributeError):
                art.decision_function(X)
    else:
        diffs["values"] = max_abs(got, want)
    for key, d in diffs.items():
        assert d <= TOL, f"{key}: max abs diff {d:.3g} > {TOL}"
    return diffs


def check_interpreter(model: Any, sample: Any, X: Any) -> dict[str, float]:
    """The IR, run by the numpy interpreter, reproduces the model on held-out rows."""
    graph = lower(model, infer_inputs(model, sample))
    out, status, _ = interpret.run(graph, RowEncoder(graph.inputs).encode(X))
    assert not status.any(), f"interpreter refused {int((status != 0).sum())} valid rows"
    got, error = split_outputs(graph, out, status)
    assert not error.any()
    diffs = {}
    if hasattr(model, "classes_"):
        assert np.array_equal(got["labels"], model.predict(X))
        if hasattr(model, "predict_proba"):
            diffs["ir-proba"] = max_abs(got["proba"], model.predict_proba(X))
        if hasattr(model, "decision_function"):
            diffs["ir-decision"] = max_abs(got["decision"], model.decision_function(X))
    else:
        diffs["ir-values"] = max_abs(got["values"], model.predict(X))
    for key, d in diffs.items():
        assert d <= TOL, f"{key}: max abs diff {d:.3g} > {TOL}"
    return diffs


def _row_dict(X: Any, i: int) -> dict:
    return {c: X.iloc[i][c] for c in X.columns}


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_parity(case: Case, tmp_path, record_property) -> None:
    model, X_train, X_test = fit(case)
    # The held-out split really exercises what the case claims.
    if case.data.kind == "frame":
        if case.data.nan:
            assert X_test.iloc[:, :len(NUM)].isna().any().any()
        if case.data.unseen:
            assert any((X_test.iloc[:, len(NUM) + k] == UNSEEN[c]).any()
                       for k, c in enumerate(CAT))
    sample = sample_of(X_train)
    art = staticml.build(model, sample=sample, out=tmp_path / "bundle", name="m")
    diffs = check_build_reports(art)
    diffs.update(check_held_out(art, model, X_test))
    diffs.update(check_interpreter(model, sample, X_test))
    if case.data.kind == "frame":  # single rows, as an online application calls it
        for i in range(5):
            got = art.predict_one(_row_dict(X_test, i))
            want = model.predict(X_test.iloc[[i]])[0]
            if hasattr(model, "classes_"):
                assert got == want and type(got) is type(want), (got, want)
            else:
                assert max_abs(got, want) <= TOL
    record_property("max_abs_diff", json.dumps(diffs))


def test_matrix_covers_labels_and_estimators() -> None:
    """Guard against the matrix silently losing coverage when cases are edited."""
    kinds = {c.data.y for c in CASES}
    assert {"bin_int", "bin_str", "multi_int", "multi_str", "reg", "reg2"} <= kinds
    assert any(c.data.nan for c in CASES) and any(c.data.unseen for c in CASES)
    names = set()
    for c in CASES:
        model = c.make()
        stack = [model]
        while stack:
            est = stack.pop()
            names.add(type(est).__name__)
            for attr in ("steps", "transformers"):
                for item in getattr(est, attr, []):
                    stack.append(item[1])
            rem = getattr(est, "remainder", None)
            if rem is not None and not isinstance(rem, str):
                stack.append(rem)
    required = {"Pipeline", "ColumnTransformer", "StandardScaler", "MinMaxScaler",
                "MaxAbsScaler", "RobustScaler", "SimpleImputer", "OneHotEncoder",
                "OrdinalEncoder", "LogisticRegression", "LinearRegression", "Ridge", "Lasso",
                "ElasticNet", "SGDClassifier", "SGDRegressor", "LinearSVC", "LinearSVR",
                "MLPClassifier", "MLPRegressor"}
    assert required <= names, required - names


# ------------------------------------------------------------------ rows sklearn refuses
@dataclass(frozen=True)
class Refusal:
    id: str
    make: Callable[[], Any]
    data: Data
    column: str                    # the input column the error must name
    code: int                      # staticml error code
    corrupt: Callable[[Any], Any]  # held-out rows -> rows with one bad value per row


def _set(col: Any, value: Any, rows: slice = slice(0, 3)) -> Callable[[Any], Any]:
    def corrupt(X: Any) -> Any:
        X = X.copy()
        if hasattr(X, "iloc"):
            X.loc[X.index[rows], col] = value
        else:
            X[rows, col] = value
        return X
    return corrupt


REFUSALS = [
    Refusal("nan-into-logreg-frame", lambda: make_pipeline(ColumnTransformer([
        ("num", "passthrough", NUM), ("cat", ohe(handle_unknown="ignore"), CAT)]), lr()),
        Data(y="bin_str"), "income", errors.E_MISSING_VALUE, _set("income", np.nan)),
    Refusal("nan-into-logreg-array", lambda: lr(), Data(A, "multi_int"), "x2",
            errors.E_MISSING_VALUE, _set(2, np.nan)),
    Refusal("nan-through-scaler-into-logreg", lambda: make_pipeline(ColumnTransformer([
        ("num", StandardScaler(), NUM), ("cat", ohe(handle_unknown="ignore"), CAT)]), lr()),
        Data(y="multi_str"), "score", errors.E_MISSING_VALUE, _set("score", np.nan)),
    Refusal("nan-into-mlp", lambda: mlp_reg("relu"), Data(A, "reg"), "x4",
            errors.E_MISSING_VALUE, _set(4, np.nan)),
    Refusal("inf-into-imputer", lambda: std_pipe(lr()), Data(y="bin_int", **FULL), "age",
            errors.E_INFINITE_VALUE, _set("age", np.inf)),
    Refusal("unknown-category-ohe-error", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="error")]), lr()),
        Data(y="multi_str", nan=True), "city", errors.E_UNKNOWN_CATEGORY,
        _set("city", "Tokyo")),
    Refusal("unknown-category-ohe-drop-first", lambda: make_pipeline(
        ct_frame([imp()], [ohe(drop="first")]), Ridge()),
        Data(y="reg", nan=True), "color", errors.E_UNKNOWN_CATEGORY, _set("color", "purple")),
    Refusal("unknown-numeric-category-ohe-error", lambda: make_pipeline(ColumnTransformer([
        ("vis", ohe(), ["visits"]), ("num", StandardScaler(), ["age"])]), lr()),
        Data(y="bin_int"), "visits", errors.E_UNKNOWN_CATEGORY, _set("visits", 7.0)),
    Refusal("unseen-nan-ohe-error", lambda: make_pipeline(
        ct_frame([imp()], [ohe(handle_unknown="error")]), lr()),
        Data(y="bin_str", nan=True, nan_cat=False), "member", errors.E_UNKNOWN_CATEGORY,
        _set("member", np.nan)),
    Refusal("nan-string-with-string-marker", lambda: make_pipeline(
        ct_frame([imp()], [imp(missing_values="black", strategy="most_frequent"),
                           ohe(handle_unknown="ignore")]), lr()),
        Data(y="bin_int", nan=True, nan_cat=False), "member", errors.E_MISSING_VALUE,
        _set("member", np.nan)),
    Refusal("nan-odd-column-name", lambda: make_pipeline(ColumnTransformer([
        ("num", StandardScaler(), [0, 1, 2, 3]), ("cat", ohe(), [4, 5, 6])]), lr()),
        Data(y="bin_str", odd_names=True), "2nd-score", errors.E_MISSING_VALUE,
        _set("2nd-score", np.nan)),
    Refusal("unknown-category-odd-column-name", lambda: make_pipeline(ColumnTransformer([
        ("num", StandardScaler(), [0, 1, 2, 3]), ("cat", ohe(), [4, 5, 6])]), lr()),
        Data(y="bin_str", odd_names=True), 'city "name"', errors.E_UNKNOWN_CATEGORY,
        _set('city "name"', "Tokyo")),
    Refusal("unknown-category-ordinal-error", lambda: make_pipeline(
        ct_frame([imp()], [OrdinalEncoder(encoded_missing_value=-1)]), lr()),
        Data(y="multi_int", nan=True), "color", errors.E_UNKNOWN_CATEGORY,
        _set("color", "purple")),
]


@pytest.mark.parametrize("case", [pytest.param(r, id=r.id) for r in REFUSALS])
def test_refused_rows(case: Refusal, tmp_path) -> None:
    X_train, X_test, y_train, _ = dataset(case.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = case.make().fit(X_train, y_train)
    art = staticml.build(model, sample=sample_of(X_train), out=tmp_path / "bundle", name="m")
    good = X_test[5:40] if not hasattr(X_test, "iloc") else X_test.iloc[5:40]
    bad = case.corrupt(X_test[:40] if not hasattr(X_test, "iloc") else X_test.iloc[:40])
    take = (lambda X, i: X.iloc[i:i + 1]) if hasattr(bad, "iloc") else (lambda X, i: X[i:i + 1])

    # Precondition: scikit-learn itself refuses each corrupted row and accepts the rest.
    for i in range(3):
        with pytest.raises(ValueError):
            model.predict(take(bad, i))
    if hasattr(model, "classes_"):
        assert np.array_equal(art.predict(good), model.predict(good))
    else:
        assert max_abs(art.predict(good), model.predict(good)) <= TOL

    methods = [art.predict]
    if hasattr(model, "predict_proba"):
        methods.append(art.predict_proba)
    if hasattr(model, "decision_function"):
        methods.append(art.decision_function)
    for method in methods:
        with pytest.raises(staticml.InputError) as info:
            method(bad)
        assert repr(case.column) in str(info.value), str(info.value)
        assert info.value.column == case.column
        assert info.value.code == case.code
        assert info.value.row == 0

    # Only the corrupted rows are refused, each blamed on the column.
    _, status = art.run(bad)
    assert np.array_equal(status != 0, np.arange(len(status)) < 3)
    assert set(status[:3] & 0xFF) == {case.code}
    if hasattr(bad, "iloc"):
        with pytest.raises(staticml.InputError) as info:
            art.predict_one(_row_dict(bad, 0))
        assert info.value.column == case.column


# ----------------------------------------------------------------------- staticml.verify
VERIFY_CASE = next(c for c in CASES if c.id == "pipe-logreg-multinomial")


def test_verify_held_out(tmp_path) -> None:
    model, X_train, X_test = fit(VERIFY_CASE)
    staticml.build(model, sample=sample_of(X_train), out=tmp_path / "b", name="m")
    report = staticml.verify(tmp_path / "b", model, X_test)
    assert report["passed"] is True
    assert set(report["targets"]) == {"ir", HOST}
    for rep in report["targets"].values():
        assert rep["passed"] and rep["label_mismatches"] == 0 and rep["error_mismatches"] == 0
        assert rep["rows"] > len(X_test)  # held-out rows plus probe rows
        assert all(v <= TOL for v in rep["max_abs_diff"].values())


def test_verify_detects_a_different_model(tmp_path) -> None:
    """The checks above can fail: a bundle verified against another model does not pass."""
    model, X_train, X_test = fit(VERIFY_CASE)
    staticml.build(model, sample=sample_of(X_train), out=tmp_path / "b", name="m")
    other = VERIFY_CASE.make().set_params(logisticregression__C=0.01)
    other.fit(X_train, dataset(VERIFY_CASE.data)[2])
    report = staticml.verify(tmp_path / "b", other, X_test)
    assert report["passed"] is False
    for rep in report["targets"].values():
        assert rep["max_abs_diff"]["proba"] > TOL
        assert rep["label_mismatches"] > 0


# ------------------------------------------------- categories a float64 slot cannot hold
@pytest.mark.parametrize("encoder", [
    pytest.param(lambda: OneHotEncoder(handle_unknown="ignore"), id="onehot"),
    pytest.param(lambda: OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                 id="ordinal"),
])
def test_int64_categories_beyond_2_53_are_refused(encoder, tmp_path) -> None:
    """IDs past 2**53 collide as doubles (2**53 + 1 reads as 2**53): refuse, never guess.

    The build's own parity check cannot see this (the sample and probe rows are compared
    as float64 too), so the frontend must refuse such categories up front.
    """
    big = 2**53
    ids = np.array([big + 1, big + 3, big + 5] * 40, dtype=np.int64)
    X = pd.DataFrame({"id": ids})
    model = make_pipeline(encoder(), lr()).fit(X, (ids == big + 3).astype(int))
    assert float(big) == float(big + 1)  # the collision this guards against
    with pytest.raises(staticml.UnsupportedModelError, match="float64"):
        staticml.build(model, sample=X.iloc[:30], out=tmp_path / "b", name="m")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("frame", [False, True])
def test_models_fitted_and_sampled_in_float32_build_and_match(tmp_path, frame) -> None:
    """scikit-learn computes linear models and MLPs in float32 when given float32 input; the
    artifact takes float64. The build's check widens a float32 sample exactly and compares
    on those float64 numbers (it used to fail with a ParityError of ~1e-7), and the artifact
    matches the model on float64 input within 1e-9."""
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(800, 5, random_state=4)
    X32 = X.astype(np.float32)
    sample = pd.DataFrame(X32, columns=list("abcde")) if frame else X32
    for k, model in enumerate([make_pipeline(StandardScaler(), LogisticRegression()),
                               MLPClassifier((8,), max_iter=300, random_state=0)]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(sample, y)
        art = staticml.build(model, sample, tmp_path / f"m{k}")
        wide = sample.astype(np.float64)
        assert np.array_equal(art.predict(sample), model.predict(wide))
        assert np.abs(art.predict_proba(sample) - model.predict_proba(wide)).max() <= 1e-9
