"""Tree ensembles shared by the forest-kernel tests: every family the fast kernels serve,
fitted on one small dataset with NaN and zeros, and rows moved onto split thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification


def forest_data(n=3000, nan=0.05, seed=5):
    X, y = make_classification(n, 8, n_informative=6, n_classes=3, random_state=seed)
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < nan] = np.nan
    X[rng.random(X.shape) < 0.03] = 0.0  # LightGBM's zero-as-missing has zeros to find
    return X, y


def forest_case(name):
    """(fitted model, X, method) for one case; only that model is fitted."""
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                                  HistGradientBoostingClassifier, RandomForestClassifier)

    X, y = forest_data()
    Xf = np.nan_to_num(X)  # the scikit-learn ensembles other than HGB take no NaN
    if name == "gbr":  # one output per tree, summed in double (one_sum)
        return (GradientBoostingRegressor(n_estimators=60, max_depth=4, random_state=0)
                .fit(Xf, Xf[:, 0] * 2 + y), Xf, "predict")
    if name == "gb-multiclass":  # one tree per class and round: target per tree, 3 outputs
        return (GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)
                .fit(Xf, y), Xf, "predict_proba")
    if name == "rf":  # whole leaf vectors, averaged; max_leaf_nodes keeps trees within 64
        return (RandomForestClassifier(40, max_leaf_nodes=64, random_state=0).fit(Xf, y), Xf,
                "predict_proba")
    if name == "hgb":  # leaf-wise, NaN routed by each node's learned direction
        return (HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y), X,
                "predict_proba")
    yb = (y == 1).astype(int)
    if name == "xgb":  # float32 comparisons and a float sum; 300 trees: three chunks of 128
        xgb = pytest.importorskip("xgboost")
        return (xgb.XGBClassifier(n_estimators=300, max_depth=5, random_state=0, n_jobs=1)
                .fit(X, yb), X, "predict_proba")
    lgb = pytest.importorskip("lightgbm")
    if name == "lgbm-zero":  # double comparisons, zero-as-missing; 300 trees: three chunks
        return (lgb.LGBMClassifier(n_estimators=300, num_leaves=31, random_state=0,
                                   zero_as_missing=True, verbose=-1).fit(X, yb), X,
                "predict_proba")
    assert name == "lgbm-nan"
    return (lgb.LGBMRegressor(n_estimators=120, num_leaves=40, random_state=0, verbose=-1)
            .fit(X, np.nan_to_num(X[:, 1]) * 2 + y), X, "predict")


FOREST_CASES = ["gbr", "gb-multiclass", "rf", "hgb", "xgb", "lgbm-zero", "lgbm-nan"]


def tree_op(bundle):
    """The TreeEnsemble op of a built bundle's IR."""
    import json

    from staticml.ir.serialize import from_dict

    graph = from_dict(json.loads((bundle / "ir.json").read_text()))
    return next(op for op in graph.ops if type(op).__name__ == "TreeEnsemble")


def on_thresholds(bundle, x, share=0.3, seed=0):
    """``x`` with a share of its values moved onto a split threshold of their feature: a
    kernel must treat x == threshold exactly as the library does (random held-out values
    almost never sit on one)."""
    op = tree_op(bundle)
    rng = np.random.default_rng(seed)
    x = x.copy()
    for j in range(x.shape[1]):
        thr = op.threshold[op.feature == j]
        if len(thr):
            rows = rng.random(len(x)) < share
            x[rows, j] = rng.choice(thr, rows.sum())
    return x
