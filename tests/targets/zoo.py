"""The model zoo every target is checked on: core pipelines and each tree family.

Each entry trains in well under a second (fixed seeds, data generated here) and returns
``(model, sample, held_out)``; ``held_out`` holds NaN/unseen rows where the model takes
them. ``ZOO`` maps an id to its factory so tests can parametrize over ``sorted(ZOO)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

SEED = 11
N_TRAIN, N_TEST = 600, 200


def _frame(seed: int = SEED, n: int = N_TRAIN + N_TEST) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(10, 0.6, n),
        "visits": rng.poisson(3, n).astype(float),
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })
    logit = 0.04 * (X["age"] - 40) + 0.3 * X["visits"] - 1 + (X["plan"] == "pro") * 1.2
    y = (logit + rng.normal(0, 1, n) > 0).astype(int).to_numpy()
    return X, y


def _numeric(seed: int = SEED, n: int = N_TRAIN + N_TEST, d: int = 8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y3 = (X[:, 0] + X[:, 1] ** 2 - X[:, 2] > 0.5).astype(int) + (X[:, 3] > 1).astype(int)
    yr = X[:, 0] * 2 + np.sin(X[:, 1]) * 3 + X[:, 2] * X[:, 3]
    return X, y3, yr


def _with_nan(X: np.ndarray, frac: float = 0.05, seed: int = SEED) -> np.ndarray:
    X = X.copy()
    rng = np.random.default_rng(seed + 1)
    X[rng.random(X.shape) < frac] = np.nan
    return X


def logreg_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _frame()
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["age", "income", "visits"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
    ])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    X.loc[X.index[::17], "age"] = np.nan
    model.fit(X[:N_TRAIN], y[:N_TRAIN])
    held = X[N_TRAIN:].copy()
    held.loc[held.index[::13], "region"] = "mars"  # unseen category (ignored)
    return model, X[:200], held


def mlp_multiclass():
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y3, _ = _numeric()
    model = make_pipeline(StandardScaler(), MLPClassifier((16, 8), activation="tanh",
                                                          max_iter=300, random_state=SEED))
    model.fit(X[:N_TRAIN], y3[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


def ridge_regression():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, _, yr = _numeric()
    model = make_pipeline(MinMaxScaler(), Ridge(alpha=0.5)).fit(X[:N_TRAIN], yr[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


def random_forest():
    from sklearn.ensemble import RandomForestClassifier

    X, y3, _ = _numeric()
    model = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=SEED)
    model.fit(X[:N_TRAIN], y3[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


def gradient_boosting():
    from sklearn.ensemble import GradientBoostingRegressor

    X, _, yr = _numeric()
    model = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=SEED)
    model.fit(X[:N_TRAIN], yr[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


def hist_gradient_boosting():
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y3, _ = _numeric()
    X = _with_nan(X)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=SEED)
    model.fit(X[:N_TRAIN], (y3[:N_TRAIN] > 0).astype(int))
    return model, X[:200], X[N_TRAIN:]


def xgboost_binary():
    import xgboost as xgb

    X, y3, _ = _numeric()
    X = _with_nan(X)
    model = xgb.XGBClassifier(n_estimators=25, max_depth=4, random_state=SEED, n_jobs=1)
    model.fit(X[:N_TRAIN], (y3[:N_TRAIN] > 0).astype(int))
    return model, X[:200], X[N_TRAIN:]


def lightgbm_regression():
    import lightgbm as lgb

    X, _, yr = _numeric()
    X = _with_nan(X)
    model = lgb.LGBMRegressor(n_estimators=25, num_leaves=15, random_state=SEED,
                              n_jobs=1, verbose=-1)
    model.fit(X[:N_TRAIN], yr[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


def lightgbm_categories():
    """LightGBM on pandas 'category' columns: held-out rows hold an unseen plan and region."""
    import lightgbm as lgb

    X, y = _frame()
    X = X.astype({"plan": "category", "region": "category"})
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, min_child_samples=5,
                               min_data_per_group=5, cat_smooth=1.0, random_state=SEED,
                               n_jobs=1, verbose=-1)
    model.fit(X[:N_TRAIN], y[:N_TRAIN])
    held = X[N_TRAIN:].astype({"plan": object, "region": object})
    held.iloc[:5, held.columns.get_loc("plan")] = "enterprise"
    held.iloc[5:10, held.columns.get_loc("region")] = None
    return model, X[:200], held


ZOO: dict[str, Callable[[], tuple[Any, Any, Any]]] = {
    "logreg_pipeline": logreg_pipeline,
    "mlp_multiclass": mlp_multiclass,
    "ridge_regression": ridge_regression,
    "random_forest": random_forest,
    "gradient_boosting": gradient_boosting,
    "hist_gradient_boosting": hist_gradient_boosting,
    "xgboost_binary": xgboost_binary,
    "lightgbm_regression": lightgbm_regression,
    "lightgbm_categories": lightgbm_categories,
}


def big_forest(n_estimators: int = 2000):
    """A 2000-tree forest: the size that breaks other generators' Java output."""
    from sklearn.ensemble import ExtraTreesRegressor

    X, _, yr = _numeric(n=1500)
    model = ExtraTreesRegressor(n_estimators=n_estimators, max_depth=8, random_state=SEED,
                                n_jobs=1)
    model.fit(X[:1000], yr[:1000])
    return model, X[:200], X[1000:]
